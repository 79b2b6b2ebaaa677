"""Answers to a meetup — going, maybe, not going — and the waiting list.

When a meetup has seats and they are taken, "going" joins the waiting list, in order. When
a place frees up (someone withdraws, or the seats grow), the first waiting members take it
and are told. Every change edits the card in every chat of the territory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import words
from bot.context import Context
from bot.meetups import card
from bot.meetups.notify import tell
from bot.meetups.store import CARD, GOING, MAYBE, NO, WAITING, Scope, find, is_open
from bot.messages import OutMessage, rich
from bot.outbox import Target
from storage import core
from storage.db import locked
from storage.models import Territory
from storage.models.meetups import Meetup, MeetupAnswer

_WORDS = {
    GOING: {"si", "sì", "yes", "y", "ok", "vengo", "going", "ci sono"},
    MAYBE: {"forse", "maybe", "boh", "perhaps"},
    NO: {"no", "non vengo", "not going", "n"},
}


@dataclass
class Outcome:
    answer: str | None  # the member's answer now (None: withdrawn)
    changed: bool
    position: int | None = None  # on the waiting list, 1 = next in
    promoted: list[int] = field(default_factory=list)  # members who got a place


def parse_answer(text: str) -> str | None:
    wanted = " ".join(text.casefold().split())
    for answer, accepted in _WORDS.items():
        if wanted in accepted:
            return answer
    return None


# The answers are read and written with Core statements, built once (every answer runs
# them): no session ever holds a `MeetupAnswer` object — elsewhere they are only counted —
# so there is none to keep in step.
_ANSWERS = MeetupAnswer.__table__
_OF_MEETUP = _ANSWERS.c.meetup_id == bindparam("meetup_id")
_ANSWER_OF = core.Statement(select(_ANSWERS.c.id, _ANSWERS.c.answer, _ANSWERS.c.queue).where(
    _OF_MEETUP, _ANSWERS.c.member_id == bindparam("member_id")))
_GOING = core.Statement(select(func.count()).where(_OF_MEETUP, _ANSWERS.c.answer == GOING))
_AHEAD = core.Statement(select(func.count()).where(
    _OF_MEETUP, _ANSWERS.c.answer == WAITING, _ANSWERS.c.queue < bindparam("queue")))
_LAST_IN_QUEUE = core.Statement(select(func.max(_ANSWERS.c.queue)).where(_OF_MEETUP))
_WAITING = core.Statement(select(_ANSWERS.c.id, _ANSWERS.c.member_id).where(
    _OF_MEETUP, _ANSWERS.c.answer == WAITING).order_by(_ANSWERS.c.queue, _ANSWERS.c.id))
_ADD = core.Statement(_ANSWERS.insert())
_CHANGE = core.Statement(update(_ANSWERS).where(_ANSWERS.c.id == bindparam("row_id")).values(
    answer=bindparam("new_answer"), queue=bindparam("new_queue"),
    answered_at=bindparam("now", type_=_ANSWERS.c.answered_at.type)))
_WITHDRAW = core.Statement(delete(_ANSWERS).where(_ANSWERS.c.id == bindparam("row_id")))
_PROMOTE = core.Statement(update(_ANSWERS).where(
    _ANSWERS.c.id.in_(bindparam("row_ids", expanding=True))).values(answer=GOING, queue=None))


async def _count(session: AsyncSession, statement: core.Statement, **params: object) -> int:
    return (await core.rows(session, statement, params))[0][0] or 0


async def _position(session: AsyncSession, meetup_id: int, queue: int | None) -> int:
    return await _count(session, _AHEAD, meetup_id=meetup_id, queue=queue or 0) + 1


async def fill_places(session: AsyncSession, meetup: Meetup) -> list[int]:
    """Move waiting members into free places, first come first served; their member ids."""
    waiting = await core.rows(session, _WAITING, {"meetup_id": meetup.id})
    if meetup.capacity is not None:
        free = meetup.capacity - await _count(session, _GOING, meetup_id=meetup.id)
        waiting = waiting[:max(free, 0)]
    if waiting:
        await core.write(session, _PROMOTE, {"row_ids": [row.id for row in waiting]})
    return [row.member_id for row in waiting]


async def set_answer(scope: Scope, meetup: Meetup, member_id: int,
                     answer: str | None) -> Outcome:
    """Record `answer` (None withdraws it). The caller holds the meetup row locked."""
    session = scope.session
    found = await core.rows(session, _ANSWER_OF, {"meetup_id": meetup.id, "member_id": member_id})
    row = found[0] if found else None
    before = row.answer if row else None
    if answer == GOING and before in (GOING, WAITING):
        assert row is not None
        return Outcome(before, changed=False, position=await _position(
            session, meetup.id, row.queue) if before == WAITING else None)
    if answer == before:
        return Outcome(answer, changed=False)
    queue = None
    if answer is None:
        assert row is not None
        await core.write(session, _WITHDRAW, {"row_id": row.id})
    else:
        if (answer == GOING and meetup.capacity is not None
                and await _count(session, _GOING, meetup_id=meetup.id) >= meetup.capacity):
            answer = WAITING
            queue = await _count(session, _LAST_IN_QUEUE, meetup_id=meetup.id) + 1
        if row is None:
            await core.write(session, _ADD, {
                "meetup_id": meetup.id, "member_id": member_id, "answer": answer,
                "queue": queue, "answered_at": scope.now})
        else:
            await core.write(session, _CHANGE, {
                "row_id": row.id, "new_answer": answer, "new_queue": queue, "now": scope.now})
    promoted = await fill_places(session, meetup) if before == GOING else []
    position = await _position(session, meetup.id, queue) if answer == WAITING else None
    return Outcome(answer, changed=True, position=position, promoted=promoted)


async def refresh_card(scope: Scope, meetup_id: int, _parts: frozenset[int]) -> None:
    """The meetup's card shown again (the `Registry.card` of `CARD`), if the meetup is."""
    meetup = await core.get(scope.session, Meetup, meetup_id)
    if meetup is not None:
        await card.publish(scope, meetup)


async def announce_promotions(scope: Scope, meetup: Meetup, promoted: list[int]) -> None:
    """Tell members who moved from the waiting list into a place."""
    if not promoted:
        return
    territory = await scope.session.get_one(Territory, meetup.territory_id)

    def notice(target: Target) -> OutMessage:
        t = target.t
        return OutMessage(text=rich(
            t._("Good news: a place for <b>{title}</b> is free and it is yours.",
                title=meetup.title),
            *card.when_where(target, meetup),
            t._("Can't make it any more? {command}",
                command=target.cmd(f"partecipo {meetup.id} {card.answer_word(t, NO)}"))))

    await tell(scope, territory, promoted, notice)


def _toast(ctx: Context, meetup: Meetup, outcome: Outcome) -> str:
    t = ctx.t
    if outcome.answer == WAITING:
        if outcome.changed:
            return t.p_("The meetup is full: you are number {n} on the waiting list.",
                        n=outcome.position or 1)
        return t.p_("You are already on the waiting list, number {n}.", n=outcome.position or 1)
    if not outcome.changed:
        return t.p_("Already noted.")
    if outcome.answer == GOING:
        return t.p_("Noted: you are going. See you there!")
    if outcome.answer == MAYBE:
        return t.p_("Noted: maybe.")
    if outcome.answer == NO:
        return t.p_("Noted: you are not going.")
    return t.p_("Your answer is withdrawn.")


async def respond(ctx: Context, meetup: Meetup, answer: str | None) -> str:
    """Record the sender's answer, refresh the cards, tell anyone promoted; the reply text."""
    if meetup.status == "cancelled":
        ctx.fail("Meetup no. {number} was cancelled.", number=meetup.id)
    if not is_open(meetup, ctx.now):
        ctx.fail("Meetup no. {number} has already started: answers are closed.",
                 number=meetup.id)
    outcome = await set_answer(ctx, meetup, ctx.member.id, answer)
    if outcome.changed:
        ctx.refresh_card(CARD, meetup.id)
        await announce_promotions(ctx, meetup, outcome.promoted)
    return _toast(ctx, meetup, outcome)


async def answer_command(ctx: Context, args: str) -> None:
    """/partecipo N sì|forse|no — the text form of the card's buttons."""
    usage = ctx.cmd(f"partecipo 3 {card.answer_word(ctx.t, GOING)}")
    parts = words(args)
    if len(parts) < 2:
        ctx.fail("Give the meetup's number and your answer ({yes}, {maybe} or {no}). Example: "
                 "<b>{example}</b>", yes=card.answer_word(ctx.t, GOING),
                 maybe=card.answer_word(ctx.t, MAYBE), no=card.answer_word(ctx.t, NO),
                 example=usage)
    answer = parse_answer(" ".join(parts[1:]))
    if answer is None:
        ctx.fail("Answer {yes}, {maybe} or {no}. Example: <b>{example}</b>",
                 yes=card.answer_word(ctx.t, GOING), maybe=card.answer_word(ctx.t, MAYBE),
                 no=card.answer_word(ctx.t, NO), example=usage)
    meetup = await find(ctx, parts[0], usage, for_update=True)
    await ctx.reply(rich(await respond(ctx, meetup, answer)))


async def answer_action(ctx: Context, payload: dict, undo: bool) -> str:
    """A button or reaction on the card. Taking a reaction back withdraws that answer."""
    meetup = await locked(ctx.session, Meetup, payload["meetup"])
    if meetup is None:
        return ctx.t.p_("This meetup no longer exists.")
    answer = payload["answer"]
    if undo:
        found = await core.rows(ctx.session, _ANSWER_OF, {"meetup_id": meetup.id,
                                                          "member_id": ctx.member.id})
        current = found[0].answer if found else None
        if current != answer and not (answer == GOING and current == WAITING):
            return ctx.t.p_("Already noted.")
        answer = None
    return await respond(ctx, meetup, answer)
