"""The reminder 24 hours before a poll closes, to members who have not answered yet.

"Members" are those the database links to the territory (`bot.polls.members`). Each chat
of the territory gets one message with how many of them have an account on its platform;
each of them also gets a private message where the platform lets the bot write to a
person. The poll row is claimed (`reminded_at`) before anything is posted, so the reminder
goes out once, also if the job runs twice or the bot restarts; after downtime a late
reminder is still sent if the poll has not closed meanwhile.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from babel.dates import format_timedelta
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.duework import JobContext
from bot.meetups.notify import private_targets
from bot.messages import Bold, OutMessage, Paragraph, RichText, Text, join
from bot.outbox import Target
from bot.polls import card
from bot.polls.members import known_members
from bot.polls.store import options_of, territory_of
from storage.models import Identity, Territory
from storage.models.polls import Poll, PollOption, PollVote

BATCH = 200
_PENDING = (Poll.status == "open", Poll.reminded_at.is_(None), Poll.remind_at.is_not(None))


def _left(target: Target, poll: Poll, now: datetime) -> str:
    return format_timedelta(poll.closes_at - now, add_direction=True, threshold=1.5,
                            locale=target.t.babel_locale)


def _chat_reminder(target: Target, poll: Poll, now: datetime, waiting: int) -> OutMessage:
    t = target.t
    return OutMessage(text=RichText((
        Paragraph(t._("⏰ Poll no. {number}, <b>{question}</b>, closes {left} ({when}).",
                      number=poll.id, question=poll.question, left=_left(target, poll, now),
                      when=t.when(poll.closes_at, target.zone))),
        Paragraph(t.n_("{n} member has not answered yet.",
                       "{n} members have not answered yet.", waiting)),
        Paragraph(card.answer_line(target, poll)),
    )))


def _private_reminder(target: Target, poll: Poll, territory: Territory,
                      options: list[PollOption], now: datetime) -> OutMessage:
    t = target.t
    lines = [card.option_line(target, poll, option, None) for option in options]
    return OutMessage(text=RichText((
        Paragraph(t._("⏰ You have not answered poll no. {number} of {territory} yet: it "
                      "closes {left}.", number=poll.id, territory=territory.name,
                      left=_left(target, poll, now))),
        Paragraph((Bold((Text(poll.question),)),)),
        Paragraph(join(lines, "\n")),
        Paragraph(card.answer_line(target, poll, in_private=True)),
    )))


async def _claim(session: AsyncSession, poll: Poll, now: datetime) -> bool:
    result = await session.execute(
        update(Poll).where(Poll.id == poll.id, Poll.reminded_at.is_(None))
        .values(reminded_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def not_answered(session: AsyncSession, poll: Poll) -> set[int]:
    """Members known to the poll's territory who have given no answer."""
    answered = set(await session.scalars(
        select(PollVote.member_id).where(PollVote.poll_id == poll.id).distinct()))
    return await known_members(session, poll.territory_id) - answered


class ReminderJob:
    """Sends each poll's not-yet-answered reminder once (a `bot.duework.DueJob`)."""

    name = "poll-reminders"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        return await session.scalar(select(func.min(Poll.remind_at)).where(*_PENDING))

    async def run(self, job: JobContext) -> None:
        due = (await job.session.scalars(
            select(Poll).where(*_PENDING, Poll.remind_at <= job.now)
            .order_by(Poll.remind_at, Poll.id).limit(BATCH))).all()
        for poll in due:
            if await _claim(job.session, poll, job.now) and poll.closes_at > job.now:
                await self._send(job, poll)

    async def _send(self, job: JobContext, poll: Poll) -> None:
        waiting = await not_answered(job.session, poll)
        if not waiting:
            return
        territory = await territory_of(job.session, poll)
        accounts = await job.session.execute(
            select(Identity.member_id, Identity.platform)
            .where(Identity.member_id.in_(waiting)).distinct())
        platforms = Counter(platform for _, platform in accounts)
        for target in await job.outbox.territory_targets(territory):
            if platforms[target.platform]:
                await job.outbox.post(target, _chat_reminder(target, poll, job.now,
                                                             platforms[target.platform]))
        options = await options_of(job.session, poll.id)
        private, _ = await private_targets(job, territory, waiting)
        for target in private.values():
            await job.outbox.post(target, _private_reminder(target, poll, territory, options,
                                                            job.now))
