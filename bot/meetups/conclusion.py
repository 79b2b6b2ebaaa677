"""When a meetup starts, its card turns into a record: it took place, and how many had said
they would be there. A job does it at the start time (or right after downtime), claiming
the meetup by setting `concluded_at` before editing the cards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.duework import JobContext
from bot.meetups import card
from storage.models.meetups import Meetup

_PENDING = (Meetup.status == "scheduled", Meetup.concluded_at.is_(None))


class ConclusionJob:
    name = "meetup-conclusion"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        return await session.scalar(select(func.min(Meetup.starts_at)).where(*_PENDING))

    async def run(self, job: JobContext) -> None:
        started = (await job.session.scalars(
            select(Meetup).where(*_PENDING, Meetup.starts_at <= job.now)
            .order_by(Meetup.starts_at))).all()
        for meetup in started:
            claimed = await job.session.execute(
                update(Meetup).where(Meetup.id == meetup.id, Meetup.concluded_at.is_(None))
                .values(concluded_at=job.now))
            if claimed.rowcount:  # type: ignore[attr-defined]
                await job.session.refresh(meetup)
                await card.publish(job, meetup)
