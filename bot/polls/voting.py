"""Answering a poll: /vota (/vote), the card's buttons and reactions, native poll answers.

All three come to `set_answers`: a member's latest answer replaces the earlier one, an
empty answer takes it back. Every answer is checked against the server's records — the
poll exists, is open and past no deadline, belongs to the territory of the chat the answer
came from (for a native answer: the very chat and message the poll was posted as) — before
anything is written, and the cards are refreshed in every chat of the territory.
"""

from __future__ import annotations

import logging
import re

from babel.lists import format_list

from bot.commands import words
from bot.context import Context
from bot.events import PollAnswerEvent
from bot.meetups.store import Scope
from bot.messages import Inline
from bot.outbox import slot_of_message
from bot.polls import card
from bot.polls.parsing import fold
from bot.polls.scoring import MAYBE, NO, PICK, YES, YNM
from bot.polls.store import CARD, OptionFields, answers_of, find, option_rows, set_answers
from storage import core
from storage.db import locked
from storage.models.polls import Poll

log = logging.getLogger(__name__)

MAX_TOKENS = 40
WITHDRAW = {"nessuna", "nessuno", "niente", "ritira", "ritiro", "none", "nothing",
            "withdraw"}
_ANSWER_WORDS = {
    YES: {"si", "yes", "y", "s", "ok"},
    MAYBE: {"forse", "maybe", "seserve", "senecessario", "ifneedbe", "ifneeded", "perhaps"},
    NO: {"no", "n"},
}
_PHRASES = re.compile(r"\b(se serve|se necessario|if need be|if needed)\b", re.I)
_NATIVE_SLOT = re.compile(r"^c(\d+):poll:(\d+)$")


def _answer_of(token: str) -> str | None:
    folded = fold(token)
    for answer, accepted in _ANSWER_WORDS.items():
        if folded in accepted:
            return answer
    return None


def _usage(ctx: Context, poll: Poll | None = None) -> str:
    return card.vote_example(ctx.here, poll) if poll else ctx.cmd("vota 3 1 2")


def _check_open(ctx: Context, poll: Poll) -> None:
    if poll.status != "open" or poll.closes_at <= ctx.now:
        ctx.fail("Poll no. {number} is closed: answers are no longer taken.", number=poll.id)


def _position(ctx: Context, poll: Poll, token: str, count: int) -> int:
    if not token.isdecimal() or not 1 <= int(token) <= count:
        ctx.fail("Poll no. {number} has options 1 to {count}; “{given}” is not one of them. "
                 "Example: <b>{example}</b>", number=poll.id, count=count, given=token[:20],
                 example=_usage(ctx, poll))
    return int(token) - 1


def _parse_answers(ctx: Context, poll: Poll, tokens: list[str],
                   count: int) -> dict[int, str | None]:
    """`1 3` (chosen), or in yes/if-need-be/no mode `1 3 sì 2 forse 4 no`: numbers take
    the answer word that follows them (yes if none follows); `-` after numbers takes those
    answers back."""
    answers: dict[int, str | None] = {}
    pending: list[int] = []
    for token in tokens:
        if token == "-" and pending:
            answers.update(dict.fromkeys(pending))
            pending = []
            continue
        answer = _answer_of(token) if poll.mode == YNM else None
        if answer is None:
            pending.append(_position(ctx, poll, token, count))
            continue
        if not pending:
            ctx.fail("Write the option's number before the answer. Example: <b>{example}</b>",
                     example=_usage(ctx, poll))
        answers.update(dict.fromkeys(pending, answer))
        pending = []
    answers.update(dict.fromkeys(pending, YES))
    return answers


async def vote_command(ctx: Context, args: str) -> None:
    """/vota N 1 3 · /vota N 2 forse · /vota N - (takes the answers back)."""
    text = _PHRASES.sub(lambda m: "forse", args)
    parts = [p for part in words(text) for p in part.replace(",", " ").split()]
    if not parts:
        ctx.fail("Give the poll's number and the options you choose. Example: "
                 "<b>{example}</b>. {list} shows the open polls.", example=_usage(ctx),
                 list=ctx.cmd("sondaggi"))
    if len(parts) > MAX_TOKENS:
        ctx.fail("That is a lot of answers: a poll has 10 options at most. Example: "
                 "<b>{example}</b>", example=_usage(ctx))
    poll = await find(ctx, parts[0], _usage(ctx), for_update=True)
    _check_open(ctx, poll)
    options = await option_rows(ctx.session, poll.id)
    rest = parts[1:]
    if not rest:
        ctx.fail("Which options? Example: <b>{example}</b>", example=_usage(ctx, poll))
    withdraw = len(rest) == 1 and (rest[0] == "-" or fold(rest[0]) in WITHDRAW)  # "-", "none"
    answers = {} if withdraw else _parse_answers(ctx, poll, rest, len(options))
    changed, now_answers = await set_answers(ctx.session, poll, options, ctx.member.id, answers,
                                             ctx.now, replace_all=withdraw or poll.mode == PICK)
    if changed:
        ctx.refresh_card(CARD, poll.id, changed)
    await ctx.reply(_confirmation(ctx, poll, now_answers, bool(changed)))


def _confirmation(ctx: Context, poll: Poll, now_answers: dict[int, str],
                  changed: bool) -> tuple[Inline, ...]:
    t = ctx.t
    if not changed:
        return t._("Already noted.")
    if not now_answers:
        return t._("Your answers to poll no. {number} are taken back.", number=poll.id)
    if poll.anonymous:
        if ctx.chat.is_private:
            return t._("Noted: your answer to poll no. {number} counts, and nobody sees it.",
                       number=poll.id)
        return t._("Noted: your answer to poll no. {number} counts. Next time write to me in "
                   "private, where nobody sees it.", number=poll.id)
    if poll.mode == YNM:
        said = [f"{p + 1} {card.answer_label(t, a)}" for p, a in sorted(now_answers.items())]
    else:
        said = [str(p + 1) for p in sorted(now_answers)]
    return t._("Noted for poll no. {number}: {answers}.", number=poll.id,
               answers=format_list(said, locale=t.babel_locale))


async def vote_action(ctx: Context, payload: dict, undo: bool) -> str:
    """A button or reaction: choose (or un-choose) an option, or give it yes / if need be /
    no. Pressing the answer one already gave, or taking the reaction back, withdraws it."""
    poll = await locked(ctx.session, Poll, payload["poll"])
    if poll is None or poll.territory_id != ctx.chat.territory_id:
        return ctx.t.p_("This button is no longer valid.")
    _check_open(ctx, poll)
    options = await option_rows(ctx.session, poll.id)
    position, answer = int(payload["option"]), str(payload["answer"])
    if not 0 <= position < len(options):
        return ctx.t.p_("This button is no longer valid.")
    current = (await answers_of(ctx.session, poll.id, ctx.member.id)).get(position)
    if undo and current != answer:
        return ctx.t.p_("Already noted.")
    new = None if current == answer else answer
    changed, _ = await set_answers(ctx.session, poll, options, ctx.member.id, {position: new},
                                   ctx.now)
    if changed:
        ctx.refresh_card(CARD, poll.id, changed)
    return _toast(ctx, poll, options[position], new)


async def refresh_card(scope: Scope, poll_id: int, positions: frozenset[int]) -> None:
    """The poll's card shown again (the `Registry.card` of `CARD`), with the messages of
    its options at `positions`."""
    poll = await core.get(scope.session, Poll, poll_id)
    if poll is not None:
        await card.refresh(scope, poll, await option_rows(scope.session, poll_id), set(positions))


def _toast(ctx: Context, poll: Poll, option: OptionFields, answer: str | None) -> str:
    t = ctx.t
    label = card.option_text(ctx.here, option)
    if answer is None:
        return t.p_("Taken back: {option}", option=label)
    if poll.mode == YNM:
        return t.p_("{option}: {answer}", option=label, answer=card.answer_label(t, answer))
    return t.p_("Chosen: {option}", option=label)


async def native_answer(ctx: Context, event: PollAnswerEvent) -> None:
    """An answer in a platform's own poll: the chosen options replace the member's answer.

    The poll is found through the message it was posted as, in this chat; an answer the
    records do not back (an unknown message, a closed poll, an option out of range) is
    dropped without a word — a native poll gives no place to answer in."""
    if event.message_id is None:
        return
    slot = await slot_of_message(ctx.session, event.platform, ctx.chat.external_id,
                                 event.message_id)
    match = _NATIVE_SLOT.match(slot or "")
    if match is None or int(match.group(1)) != ctx.chat.id:
        log.debug("poll answer for unknown message %s ignored", event.message_id)
        return
    poll = await locked(ctx.session, Poll, int(match.group(2)))
    if (poll is None or poll.status != "open" or poll.closes_at <= ctx.now
            or poll.mode != PICK or poll.territory_id != ctx.chat.territory_id):
        log.debug("poll answer to poll %s not taken", match.group(2))
        return
    options = await option_rows(ctx.session, poll.id)
    chosen = {i for i in event.options if 0 <= i < len(options)}
    changed, _ = await set_answers(ctx.session, poll, options, ctx.member.id,
                                   dict.fromkeys(chosen, YES), ctx.now, replace_all=True)
    if changed:
        ctx.refresh_card(CARD, poll.id, changed)
