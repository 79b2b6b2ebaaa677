"""Reminders before a meetup: posted in the territory's chats and sent privately to those
going. By default 24 h and 2 h before the start; a facilitator can change the offsets of a
territory with /promemoria (/reminders).

Each reminder is a row (`meetup_reminders`, unique per meetup and offset) claimed before
anything is posted, so it goes out once even if the job runs twice or the bot restarts.
After downtime, a missed reminder is sent once if the meetup has not started yet; when
several reminders of one meetup are due together, only the one closest to the start is
sent (a "tomorrow" reminder an hour before the start would only confuse) and the others
are marked skipped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from babel.dates import format_timedelta
from babel.lists import format_list
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import words
from bot.context import Context, Services
from bot.duework import JobContext
from bot.meetups import card
from bot.meetups.fields import NONE_WORDS
from bot.meetups.notify import private_targets
from bot.meetups.store import GOING, members_answering
from bot.messages import OutMessage, rich
from bot.outbox import Target
from storage.models import Territory
from storage.models.meetups import Meetup, MeetupReminder, MeetupSettings

DEFAULT_MINUTES = (24 * 60, 2 * 60)
MIN_OFFSET, MAX_OFFSET = 10, 14 * 24 * 60
MAX_REMINDERS = 4
_OFFSET = re.compile(r"(\d{1,4})\s*(m|min|h|ore|d|g)")
_UNIT_MINUTES = {"m": 1, "min": 1, "h": 60, "ore": 60, "d": 1440, "g": 1440}


async def offsets(session: AsyncSession, territory_id: int) -> list[int]:
    """The territory's reminder offsets in minutes, largest first."""
    settings = await session.get(MeetupSettings, territory_id)
    minutes = settings.reminder_minutes if settings else DEFAULT_MINUTES
    return sorted((int(m) for m in minutes), reverse=True)


async def schedule(session: AsyncSession, meetup: Meetup, now: datetime) -> None:
    """(Re)plan a meetup's reminders: unsent ones are replaced by its territory's current
    offsets, counted from its current start; only those still ahead are planned."""
    await session.execute(delete(MeetupReminder).where(MeetupReminder.meetup_id == meetup.id,
                                                       MeetupReminder.sent_at.is_(None)))
    sent = set(await session.scalars(select(MeetupReminder.offset_minutes).where(
        MeetupReminder.meetup_id == meetup.id)))
    if meetup.status != "scheduled":
        return
    for minutes in await offsets(session, meetup.territory_id):
        due = meetup.starts_at - timedelta(minutes=minutes)
        if due > now and minutes not in sent:
            session.add(MeetupReminder(meetup_id=meetup.id, offset_minutes=minutes, due_at=due))
    await session.flush()


async def forget_sent(session: AsyncSession, meetup: Meetup) -> None:
    """After a change of date, reminders already sent were about the old date."""
    await session.execute(delete(MeetupReminder).where(MeetupReminder.meetup_id == meetup.id))


# --- the facilitator's command ----------------------------------------------------------


def parse_offsets(text: str) -> list[int] | None:
    """`24h 2h`, `1g 30m`, `2d` → minutes; [] for "no"; None if not understood."""
    cleaned = text.casefold().replace(",", " ").strip()
    if cleaned in NONE_WORDS:
        return []
    minutes = []
    for token in cleaned.split():
        parts = _OFFSET.findall(token)
        if not parts or "".join(n + u for n, u in parts) != token:
            return None
        minutes.append(sum(int(n) * _UNIT_MINUTES[u] for n, u in parts))
    return minutes or None


def describe(ctx: Context, minutes: list[int]) -> str:
    """`[1440, 120]` → "24 ore e 2 ore" / "24 hours and 2 hours"."""
    locale = ctx.t.babel_locale
    return format_list([format_timedelta(timedelta(minutes=m), threshold=1.5, locale=locale)
                        for m in minutes], locale=locale)


async def reminders_command(ctx: Context, args: str) -> None:
    """/promemoria [24h 2h | no]: show or set when reminders go out in this territory."""
    territory = await ctx.require_territory()
    example = ctx.cmd("promemoria 24h 2h")
    if not words(args):
        current = await offsets(ctx.session, territory.id)
        if current:
            shown = ctx.t._("Reminders in {territory}: <b>{when}</b> before each meetup.",
                            territory=territory.name, when=describe(ctx, current))
        else:
            shown = ctx.t._("No reminders in {territory}.", territory=territory.name)
        await ctx.reply(rich(shown, ctx.t._("A facilitator can change them: <b>{example}</b>",
                                            example=example)))
        return
    await ctx.require_facilitator()
    minutes = parse_offsets(args)
    if minutes is None:
        ctx.fail("Write how long before the start, in minutes (m), hours (h) or days (d), "
                 "or <b>no</b> for none. Example: <b>{example}</b>", example=example)
    if len(minutes) > MAX_REMINDERS or len(set(minutes)) != len(minutes) or any(
            not MIN_OFFSET <= m <= MAX_OFFSET for m in minutes):
        ctx.fail("Up to {n} different reminders, each from 10 minutes to 14 days before the "
                 "start. Example: <b>{example}</b>", n=MAX_REMINDERS, example=example)
    minutes = sorted(minutes, reverse=True)
    await ctx.session.merge(MeetupSettings(territory_id=territory.id, reminder_minutes=minutes,
                                           updated_at=ctx.now))
    await ctx.session.flush()
    upcoming = await ctx.session.scalars(select(Meetup).where(
        Meetup.territory_id == territory.id, Meetup.status == "scheduled",
        Meetup.starts_at > ctx.now))
    for meetup in upcoming:
        await schedule(ctx.session, meetup, ctx.now)
    if minutes:
        await ctx.reply(ctx.t._("Done: reminders in {territory} go out <b>{when}</b> before "
                                "each meetup, also for those already planned.",
                                territory=territory.name, when=describe(ctx, minutes)))
    else:
        await ctx.reply(ctx.t._("Done: no more reminders in {territory}.",
                                territory=territory.name))


# --- the job ----------------------------------------------------------------------------


def _left(target: Target, meetup: Meetup, now: datetime) -> str:
    """How long until the start, as it really is (a reminder sent late says so)."""
    return format_timedelta(meetup.starts_at - now, add_direction=True,
                            locale=target.t.babel_locale)


def _reminder(target: Target, meetup: Meetup, now: datetime, going: int) -> OutMessage:
    t = target.t
    return OutMessage(text=rich(
        t._("⏰ Reminder: <b>{title}</b> is {left}.", title=meetup.title,
            left=_left(target, meetup, now)),
        *card.when_where(target, meetup),
        t.n_("{n} person is going.", "{n} people are going.", going),
        t._("To answer: {command}", command=target.cmd(
            f"partecipo {meetup.id} {card.answer_word(t, GOING)}"))))


def _private_reminder(target: Target, meetup: Meetup, now: datetime) -> OutMessage:
    return OutMessage(text=rich(
        target.t._("⏰ Reminder: <b>{title}</b>, where you are going, is {left}.",
                   title=meetup.title,
                   left=_left(target, meetup, now)),
        *card.when_where(target, meetup)))


async def _claim(session: AsyncSession, reminder: MeetupReminder, now: datetime,
                 outcome: str) -> bool:
    result = await session.execute(
        update(MeetupReminder).where(MeetupReminder.id == reminder.id,
                                     MeetupReminder.sent_at.is_(None))
        .values(sent_at=now, outcome=outcome))
    return bool(result.rowcount)  # type: ignore[attr-defined]


class ReminderJob:
    name = "meetup-reminders"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        return await session.scalar(
            select(func.min(MeetupReminder.due_at))
            .join(Meetup, Meetup.id == MeetupReminder.meetup_id)
            .where(MeetupReminder.sent_at.is_(None), Meetup.status == "scheduled"))

    async def run(self, job: JobContext) -> None:
        due = (await job.session.scalars(
            select(MeetupReminder).join(Meetup, Meetup.id == MeetupReminder.meetup_id)
            .where(MeetupReminder.sent_at.is_(None), MeetupReminder.due_at <= job.now,
                   Meetup.status == "scheduled")
            .order_by(MeetupReminder.meetup_id, MeetupReminder.offset_minutes))).all()
        latest: dict[int, MeetupReminder] = {}
        for reminder in due:  # the smallest offset of each meetup comes first
            latest.setdefault(reminder.meetup_id, reminder)
        for reminder in due:
            meetup = await job.session.get_one(Meetup, reminder.meetup_id)
            send = latest[meetup.id] is reminder and meetup.starts_at > job.now
            if await _claim(job.session, reminder, job.now, "sent" if send else "skipped") \
                    and send:
                await self._send(job, meetup)

    async def _send(self, job: JobContext, meetup: Meetup) -> None:
        territory = await job.session.get_one(Territory, meetup.territory_id)
        going = await members_answering(job.session, meetup.id, (GOING,))
        for target in await job.outbox.territory_targets(territory):
            await job.outbox.post(target, _reminder(target, meetup, job.now, len(going)))
        private, _ = await private_targets(job, territory, going)
        for target in private.values():
            await job.outbox.post(target, _private_reminder(target, meetup, job.now))

