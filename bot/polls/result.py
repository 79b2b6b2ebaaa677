"""The result of a closed poll, as posted in each chat of its territory: every option with
its counts and who gave each answer (counts only for an anonymous poll), the winner or the
tie, and for a date poll the way to turn the winning date into a meetup."""

from __future__ import annotations

from datetime import datetime

from babel.lists import format_list
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.meetups.card import names as name_list
from bot.messages import Action, Inline, OutMessage, Paragraph, RichText, Text, join
from bot.outbox import Button, Outbox, Target
from bot.polls import card, scoring
from bot.polls.scoring import MAYBE, NO, YES, YNM, Count
from bot.polls.store import RESULT_KEY, Tally
from storage.models import Member
from storage.models.polls import Poll, PollOption

MAX_MEETUP_CHOICES = 3  # a tie offers a meetup for each of the first three dates
CREATE_EMOJI = "📅"
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")


async def closer_of(session: AsyncSession, poll: Poll) -> str | None:
    """Who closed the poll before its deadline (None: it closed at the deadline)."""
    if poll.closed_by is None:
        return None
    member = await session.get(Member, poll.closed_by)
    return member.display_name if member else None


def _answer_part(target: Target, poll: Poll, answer: str, count: int,
                 who: list[str]) -> str:
    shown = f"{card.EMOJI[answer]} {count}" if poll.mode == YNM else str(count)
    if who:
        shown += f" ({name_list(target.t, who)})"
    return shown


def option_result(target: Target, poll: Poll, option: PollOption, counts: Tally) -> str:
    count = counts.counts[option.position]
    who = counts.names[option.position] if counts.names else {}
    if poll.mode == YNM:
        parts = [_answer_part(target, poll, a, n, who.get(a, []))
                 for a, n in ((YES, count.yes), (MAYBE, count.maybe), (NO, count.no))]
        shown = " · ".join(parts)
    else:
        shown = _answer_part(target, poll, YES, count.yes, who.get(YES, []))
    return f"{option.position + 1}. {card.option_text(target, option)} — {shown}"


def _points(t: Translator, count: Count) -> str:
    return format_decimal(scoring.points(count, YNM), format="0.#", locale=t.babel_locale)


def winner_line(target: Target, poll: Poll, options: list[PollOption],
                counts: Tally) -> tuple[Inline, ...]:
    t = target.t
    best = scoring.leaders(counts.counts, poll.mode)
    if not best:
        return t._("No option was chosen, so there is no winner.")
    top = counts.counts[best[0]]
    if len(best) == 1:
        option = card.option_text(target, options[best[0]])
        if poll.mode == YNM:
            score = _points(t, top)
            level = [i for i, c in enumerate(counts.counts) if i != best[0]
                     and scoring.key(c, poll.mode)[0] == scoring.key(top, poll.mode)[0]]
            if level:
                others = format_list([card.option_text(target, options[i]) for i in level],
                                     locale=t.babel_locale)
                return t._("🏆 Winner: <b>{option}</b>, score {score}: the same as {others}, "
                           "but with fewer no.", option=option, score=score, others=others)
            return t._("🏆 Winner: <b>{option}</b>, score {score} (a yes counts 1, an if need be "
                       "0.5).", option=option, score=score)
        return t.n_("🏆 Winner: <b>{option}</b>, with {n} vote.",
                    "🏆 Winner: <b>{option}</b>, with {n} votes.", top.yes, option=option)
    tied = format_list([card.option_text(target, options[i]) for i in best],
                       locale=t.babel_locale)
    if poll.mode == YNM:
        return t._("🤝 A tie between {options}: score {score} each.", options=tied,
                   score=_points(t, top))
    return t.n_("🤝 A tie between {options}: {n} vote each.",
                "🤝 A tie between {options}: {n} votes each.", top.yes, options=tied)


def meetup_choices(poll: Poll, options: list[PollOption], counts: Tally,
                   now: datetime) -> list[PollOption]:
    """The leading dates a meetup can still be made of (none once one was made)."""
    if poll.kind != "date" or poll.meetup_id is not None:
        return []
    best = scoring.leaders(counts.counts, poll.mode)[:MAX_MEETUP_CHOICES]
    return [options[i] for i in best
            if (moment := options[i].starts_at) is not None and moment > now]


async def _meetup_part(outbox: Outbox, target: Target, poll: Poll, options: list[PollOption],
                       counts: Tally) -> tuple[list[Paragraph], tuple[tuple[Action, ...], ...]]:
    t = target.t
    if poll.meetup_id is not None:
        return [Paragraph(t._("It became meetup no. {number}.", number=poll.meetup_id))], ()
    choices = meetup_choices(poll, options, counts, outbox.clock.now())
    if not choices:
        return [], ()
    key = RESULT_KEY.format(id=poll.id)
    buttons = []
    for option in choices:
        if len(choices) == 1:
            label, emoji = t.p_("📅 Create the meetup"), CREATE_EMOJI
        else:
            label = f"📅 {option.position + 1}. {card.option_text(target, option)}"
            emoji = KEYCAPS[option.position]
        buttons.append(Button("poll.meetup", {"poll": poll.id, "option": option.position},
                              card.clip(label), emoji=emoji))
    actions = await outbox.actions(target, buttons, key=key)
    if len(choices) == 1:
        command = target.cmd(f"crea_incontro {poll.id}")
    else:
        command = target.cmd(f"crea_incontro {poll.id} {choices[0].position + 1}")
    text = t._("Facilitators can make it a meetup: <b>{command}</b>", command=command)
    rows = tuple((a,) for a in actions) if target.caps.buttons or target.caps.reactions else ()
    return [Paragraph(text)], rows


async def result_message(outbox: Outbox, target: Target, poll: Poll,
                         options: list[PollOption], counts: Tally,
                         closer: str | None) -> OutMessage:
    t = target.t
    blocks = [Paragraph((Text("🗳️ "), *t._("<b>Poll no. {number} is closed:</b> {question}",
                                           number=poll.id, question=poll.question)))]
    if closer:
        blocks.append(Paragraph(t._("Closed early by {name}.", name=closer)))
    lines = [(Text(option_result(target, poll, option, counts)),) for option in options]
    blocks.append(Paragraph(join(lines, "\n")))
    blocks.append(Paragraph(winner_line(target, poll, options, counts)))
    blocks.append(card.answered(t, counts, poll))
    meetup, actions = await _meetup_part(outbox, target, poll, options, counts)
    blocks.extend(meetup)
    return OutMessage(text=RichText(tuple(blocks)), actions=actions,
                      key=RESULT_KEY.format(id=poll.id))
