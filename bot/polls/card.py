"""How a poll appears in each chat, and keeping it current as answers come in.

Each chat gets the poll in the form its platform does best (its *layout*, chosen once when
the poll is posted and kept in `poll_posts`):

- `native`: the platform's own poll (default mode, not anonymous, results shown) after a
  card with the counts from every chat and the text form of voting;
- `buttons`: one card with a button per option (or yes / if need be / no per option);
- `reactions`: a card, then one message per option carrying ✅ (🤔 ❌) reactions — a
  reaction belongs to a whole message, so each option needs its own;
- `text`: the card and the vote command only.

Anonymous polls are never native, and never use reactions: on Matrix a poll response or a
reaction is a room event anyone can read with its sender; Telegram's anonymous polls do not
tell the bot who answered, so it could keep neither one answer per member nor a changed
answer. Buttons (Telegram, terminal) are private; elsewhere members vote in a private chat
with the bot.
Hidden results are never native either (a Telegram poll shows its counts to whoever has
voted; reactions show theirs to all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import bindparam, select

from bot.i18n import Translator
from bot.meetups.store import Scope
from bot.messages import (
    Action,
    Bold,
    Inline,
    OutMessage,
    Paragraph,
    PollSpec,
    RichText,
    Text,
    join,
)
from bot.outbox import Button, Outbox, Target
from bot.polls.scoring import MAYBE, NO, YES, YNM, Count
from bot.polls.store import (
    CARD_KEY,
    KEY,
    OPTION_KEY,
    OptionFields,
    Tally,
    is_open,
    options_of,
    tally,
    territory_of,
)
from storage import core
from storage.models import Chat
from storage.models.polls import Poll, PollPost

NATIVE, BUTTONS, REACTIONS, TEXT = "native", "buttons", "reactions", "text"
EMOJI = {YES: "✅", MAYBE: "🤔", NO: "❌"}
MAX_BUTTON = 64
_MIN_TTL = timedelta(minutes=1)


def clip(label: str) -> str:
    """A button label short enough for every platform."""
    return label if len(label) <= MAX_BUTTON else label[:MAX_BUTTON - 1] + "…"


def layout_for(target: Target, poll: Poll) -> str:
    caps = target.caps
    discreet = poll.anonymous or poll.hidden_results
    if caps.native_polls and poll.mode != YNM and not discreet:
        return NATIVE
    if caps.buttons:
        return BUTTONS
    if caps.reactions and not discreet:
        return REACTIONS
    return TEXT


def option_text(target: Target, option: OptionFields) -> str:
    """A date option in full, in the chat's language and the territory's zone; else as typed."""
    if option.starts_at is not None:
        return target.t.when(option.starts_at, target.zone)
    return option.label


def answer_word(t: Translator, answer: str) -> str:
    """The word for an answer in the vote command: sì/forse/no, yes/maybe/no."""
    return {YES: t.p_("yes"), MAYBE: t.p_("maybe"), NO: t.p_("no")}[answer]


def answer_label(t: Translator, answer: str) -> str:
    """An answer as a button says it."""
    return {YES: t.p_("yes"), MAYBE: t.p_("if need be"), NO: t.p_("no")}[answer]


def counts_text(poll: Poll, count: Count) -> str:
    if poll.mode == YNM:
        return f"{EMOJI[YES]} {count.yes} · {EMOJI[MAYBE]} {count.maybe} · {EMOJI[NO]} {count.no}"
    return str(count.yes)


def option_line(target: Target, poll: Poll, option: OptionFields, count: Count | None,
                ) -> tuple[Inline, ...]:
    """`2. Saturday 12 December 2026, at 19:00 — 3`; no counts while they are hidden."""
    line: list[Inline] = [Text(f"{option.position + 1}. {option_text(target, option)}")]
    if count is not None:
        line.append(Text(f" — {counts_text(poll, count)}"))
    return tuple(line)


def heading(target: Target, poll: Poll) -> list[Paragraph]:
    """Question, number and deadline (or closing time), and what kind of poll it is."""
    t = target.t
    lines: list[tuple[Inline, ...]] = [(Text("📊 "), Bold((Text(poll.question),)))]
    if is_open(poll):
        lines.append(t._("Poll no. {number} · closes {when}", number=poll.id,
                         when=t.when(poll.closes_at, target.zone)))
    else:
        assert poll.closed_at is not None
        lines.append(t._("Poll no. {number} · closed {when}", number=poll.id,
                         when=t.when(poll.closed_at, target.zone)))
    if poll.mode == YNM:
        lines.append(t._("For each option: yes, if need be, or no."))
    if poll.anonymous:
        lines.append(t._("Anonymous: nobody sees who answered what."))
    if poll.hidden_results and is_open(poll):
        lines.append(t._("The counts are shown when the poll closes."))
    return [Paragraph(line) for line in lines]


def vote_example(target: Target, poll: Poll) -> str:
    """The vote command to copy: `/vota 4 1 2`, or `/vota 4 1 sì 2 forse`."""
    if poll.mode == YNM:
        t = target.t
        return target.cmd(f"vota {poll.id} 1 {answer_word(t, YES)} 2 {answer_word(t, MAYBE)}")
    return target.cmd(f"vota {poll.id} 1 2")


def answer_line(target: Target, poll: Poll, *, in_private: bool = False) -> tuple[Inline, ...]:
    """How to answer in words: in private where a chat would see an anonymous answer."""
    command = vote_example(target, poll)
    if poll.anonymous and not in_private:
        return target.t._("To answer without anyone seeing, write to me in private: "
                          "<b>{command}</b>", command=command)
    return target.t._("To answer, write <b>{command}</b>.", command=command)


def how_to_vote(target: Target, poll: Poll, layout: str) -> list[Paragraph]:
    """The text form of voting, said for this layout."""
    t = target.t
    lines: list[tuple[Inline, ...]]
    if layout == NATIVE:
        lines = [t._("Answer in the poll below, or write <b>{command}</b> (the numbers you "
                     "choose).", command=vote_example(target, poll))]
    elif layout == BUTTONS and poll.mode == YNM:
        lines = [t._("Press ✅ yes, 🤔 if need be or ❌ no for each option.")]
    elif layout == BUTTONS:
        lines = [t._("Press the options you choose (again to take one back).")]
    elif layout == REACTIONS:
        lines = [t._("React under each option.")]
    else:
        lines = []
    if layout != NATIVE:
        lines.append(answer_line(target, poll))
    lines.append(t._("<b>{command}</b> takes your answers back.",
                     command=target.cmd(f"vota {poll.id} -")))
    return [Paragraph(line) for line in lines]


def _counts_paragraph(target: Target, poll: Poll, options: Sequence[OptionFields],
                      counts: Tally) -> Paragraph:
    shown = not poll.hidden_results or not is_open(poll)
    lines = [option_line(target, poll, option, counts.counts[option.position] if shown
                         else None) for option in options]
    return Paragraph(join(lines, "\n"))


def answered(t: Translator, counts: Tally, poll: Poll) -> Paragraph:
    voters = counts.voters if is_open(poll) else (poll.final_voters or 0)
    if not voters:
        return Paragraph(t._("Nobody has answered yet.") if is_open(poll)
                         else t._("Nobody answered."))
    return Paragraph(t.n_("{n} person answered.", "{n} people answered.", voters))


def _vote(outbox: Outbox, poll: Poll, option: OptionFields, answer: str, label: str,
          emoji: str | None) -> Button:
    """A vote button (or reaction); its token expires when the poll is due to close."""
    ttl = max(poll.closes_at - outbox.clock.now(), _MIN_TTL)
    return Button("poll.vote", {"poll": poll.id, "option": option.position, "answer": answer},
                  label, emoji=emoji, ttl=ttl)


async def _buttons(outbox: Outbox, target: Target, poll: Poll,
                   options: Sequence[OptionFields]) -> tuple[tuple[Action, ...], ...]:
    """One row per option: its three answers (yes/maybe/no polls) or its text."""
    answers = (YES, MAYBE, NO) if poll.mode == YNM else (YES,)
    buttons = []
    for option in options:
        number = option.position + 1
        for answer in answers:
            label = (f"{number} {EMOJI[answer]}" if poll.mode == YNM
                     else clip(f"{number}. {option_text(target, option)}"))
            buttons.append(_vote(outbox, poll, option, answer, label, None))
    actions = await outbox.actions(target, buttons, key=CARD_KEY.format(id=poll.id))
    width = len(answers)
    return tuple(tuple(actions[i:i + width]) for i in range(0, len(actions), width))


async def card(outbox: Outbox, target: Target, poll: Poll, options: Sequence[OptionFields],
               counts: Tally, layout: str) -> OutMessage:
    """The card: heading, counts (unless hidden), how many answered, how to vote."""
    blocks: list[Paragraph] = heading(target, poll)
    blocks.append(_counts_paragraph(target, poll, options, counts))
    blocks.append(answered(target.t, counts, poll))
    actions: tuple[tuple[Action, ...], ...] = ()
    if is_open(poll):
        blocks.extend(how_to_vote(target, poll, layout))
        if layout == BUTTONS:
            actions = await _buttons(outbox, target, poll, options)
    else:
        blocks.append(Paragraph(target.t._("🔒 Closed: the result follows.")))
    return OutMessage(text=RichText(tuple(blocks)), actions=actions,
                      key=CARD_KEY.format(id=poll.id))


async def option_message(outbox: Outbox, target: Target, poll: Poll, option: OptionFields,
                         counts: Tally) -> OutMessage:
    """One option on its own, with its reactions (the `reactions` layout)."""
    key = OPTION_KEY.format(id=poll.id, n=option.position + 1)
    shown = not poll.hidden_results or not is_open(poll)
    line = option_line(target, poll, option, counts.counts[option.position] if shown else None)
    actions: tuple[tuple[Action, ...], ...] = ()
    if is_open(poll):
        answers = (YES, MAYBE, NO) if poll.mode == YNM else (YES,)
        actions = (tuple(await outbox.actions(target, [
            _vote(outbox, poll, option, answer, answer_label(target.t, answer), EMOJI[answer])
            for answer in answers], key=key)),)
    return OutMessage(text=RichText((Paragraph(line),)), actions=actions, key=key)


def native_poll(target: Target, poll: Poll, options: Sequence[OptionFields]) -> OutMessage:
    spec = PollSpec(poll.question, tuple(option_text(target, o) for o in options),
                    multiple=True, anonymous=False)
    return OutMessage(poll=spec, key=KEY.format(id=poll.id))


async def messages(scope: Scope, target: Target, poll: Poll, options: Sequence[OptionFields],
                   counts: Tally, layout: str, *, first: bool,
                   positions: set[int] | None = None) -> list[OutMessage]:
    """What a chat shows of the poll: the card, then the native poll (when `first`) or the
    option messages (all, or those at `positions`)."""
    out = [await card(scope.outbox, target, poll, options, counts, layout)]
    if layout == NATIVE and first:
        out.append(native_poll(target, poll, options))
    if layout == REACTIONS:
        out.extend([await option_message(scope.outbox, target, poll, option, counts)
                    for option in options if positions is None or option.position in positions])
    return out


async def publish_new(scope: Scope, poll: Poll) -> int:
    """Post a new poll in every chat of its territory; how many chats it went to."""
    territory = await territory_of(scope.session, poll)
    options = await options_of(scope.session, poll.id)
    counts = await tally(scope.session, poll, options)
    targets = await scope.outbox.territory_targets(territory)
    for target in targets:
        layout = layout_for(target, poll)
        assert target.chat_id is not None
        scope.session.add(PollPost(poll_id=poll.id, chat_id=target.chat_id, layout=layout))
        for message in await messages(scope, target, poll, options, counts, layout, first=True):
            await scope.outbox.post(target, message)
    await scope.session.flush()
    return len(targets)


async def posted_targets(scope: Scope, poll: Poll) -> list[tuple[Target, str]]:
    """The chats the poll was posted in that can still be reached, with their layout."""
    territory = await territory_of(scope.session, poll)
    rows = await core.rows(scope.session, _POSTED_IN, {"poll_id": poll.id})
    platforms = scope.services.platforms
    return [(scope.outbox.chat_target(chat, territory), chat.layout) for chat in rows
            if chat.platform in platforms]


_POSTED_IN = core.Statement(  # built once: every answer runs it
    select(Chat.id, Chat.platform, Chat.locale, PollPost.layout)
    .join(PollPost, PollPost.chat_id == Chat.id)
    .where(PollPost.poll_id == bindparam("poll_id"), Chat.active.is_(True)).order_by(Chat.id))


async def refresh(scope: Scope, poll: Poll, options: Sequence[OptionFields],
                  positions: set[int] | None = None) -> None:
    """Show the current state where the poll is: edited in place where the platform edits
    (a platform that cannot would get a new message for every vote, so it waits for the
    result instead). `options`: the poll's (`options_of`); `positions`: the options whose
    own messages changed."""
    counts = await tally(scope.session, poll, options)
    for target, layout in await posted_targets(scope, poll):
        if not target.caps.edits:
            continue
        for message in await messages(scope, target, poll, options, counts, layout,
                                      first=False, positions=positions):
            await scope.outbox.post(target, message)
