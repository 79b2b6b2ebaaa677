"""Closing a poll: at its deadline (a job) or earlier with /chiudi (/close).

Telegram closes a poll by itself only within 600 seconds and Matrix polls never end on
their own, so the bot always closes them: the job finds polls past their deadline — also
after downtime, then late and once — and claims each (`status` open → closed) before
acting. Closing freezes the counts into the options, deletes an anonymous poll's answers
(the counts stay, no row links a voter to a choice), stops the native polls (stopPoll,
m.poll.end), turns the cards into their closed state and posts the result in every chat of
the territory.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.commands import words
from bot.context import Context, Services
from bot.duework import JobContext
from bot.meetups.store import Scope
from bot.messages import OutMessage, rich
from bot.polls import card
from bot.polls.result import closer_of, result_message
from bot.polls.store import KEY, find, options_of, tally, territory_of
from storage.models.polls import Poll, PollVote

log = logging.getLogger(__name__)

BATCH = 200


async def claim(session: AsyncSession, poll: Poll, now: datetime,
                closer_id: int | None) -> bool:
    """Mark the poll closed unless someone else already did; True if this caller did."""
    result = await session.execute(
        update(Poll).where(Poll.id == poll.id, Poll.status == "open")
        .values(status="closed", closed_at=now, closed_by=closer_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.refresh(poll)
    return True


async def finish(scope: Scope, poll: Poll) -> None:
    """Everything after the claim: freeze, forget anonymous links, tell every chat."""
    session = scope.session
    options = await options_of(session, poll.id)
    live = await tally(session, poll, options)
    for option in options:
        count = live.counts[option.position]
        option.final_yes, option.final_maybe, option.final_no = count.yes, count.maybe, count.no
    poll.final_voters = live.voters
    if poll.anonymous:
        await session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
    await session.flush()
    counts = await tally(session, poll, options)
    for target, layout in await card.posted_targets(scope, poll):
        if target.caps.edits:
            for message in await card.messages(scope, target, poll, options, counts, layout,
                                               first=False):
                await scope.outbox.post(target, message)
        if layout == card.NATIVE:
            await scope.outbox.post(target, OutMessage(key=KEY.format(id=poll.id),
                                                       close_poll=True))
    territory = await territory_of(session, poll)
    closer = await closer_of(session, poll)
    for target in await scope.outbox.territory_targets(territory):
        await scope.outbox.post(target, await result_message(scope.outbox, target, poll,
                                                             options, counts, closer))


async def close_command(ctx: Context, args: str) -> None:
    """/chiudi N: the facilitator who launched the poll, or any facilitator, closes it now."""
    usage = ctx.cmd("chiudi 3")
    parts = words(args)
    if not parts:
        ctx.fail("Which poll? Example: <b>{example}</b>. {list} shows the open ones.",
                 example=usage, list=ctx.cmd("sondaggi"))
    poll = await find(ctx, parts[0], usage, for_update=True)
    territory = await territory_of(ctx.session, poll)
    if poll.creator_id != ctx.member.id and not await ctx.is_facilitator(territory):
        ctx.fail("Only the facilitators of {territory} can close poll no. {number}; it closes "
                 "by itself on {when}.", territory=territory.name, number=poll.id,
                 when=ctx.t.when(poll.closes_at, ctx.zone))
    if not await claim(ctx.session, poll, ctx.now, ctx.member.id):
        ctx.fail("Poll no. {number} is already closed.", number=poll.id)
    await finish(ctx, poll)
    await audit.record(ctx, "poll.close", subject=f"poll:{poll.id}",
                       territory_id=poll.territory_id)
    if ctx.chat.territory_id != poll.territory_id:
        await ctx.reply(rich(ctx.t._("Poll no. {number} is closed: the result is in the chats "
                                     "of {territory}.", number=poll.id,
                                     territory=territory.name)))


class ClosingJob:
    """Closes polls whose deadline has come (a `bot.duework.DueJob`)."""

    name = "poll-closing"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        return await session.scalar(select(func.min(Poll.closes_at))
                                    .where(Poll.status == "open"))

    async def run(self, job: JobContext) -> None:
        due = (await job.session.scalars(
            select(Poll).where(Poll.status == "open", Poll.closes_at <= job.now)
            .order_by(Poll.closes_at, Poll.id).limit(BATCH))).all()
        for poll in due:
            try:
                async with job.session.begin_nested():
                    if await claim(job.session, poll, job.now, None):
                        await finish(job, poll)
            except Exception:  # one poll's failure must not hold back the others
                log.exception("closing poll %s failed; it stays due", poll.id,
                              extra={"poll_id": poll.id})

