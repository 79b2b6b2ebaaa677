"""Housekeeping: forget processed-event marks and delivered outbox rows after N days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.duework import JobContext
from storage.models import ActionToken, OutboxMessage, ProcessedEvent

DONE_STATES = ("sent", "superseded", "failed")


class RetentionJob:
    name = "retention"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        keep = timedelta(days=services.config.retention_days)
        oldest = [
            await session.scalar(select(func.min(ProcessedEvent.processed_at))),
            await session.scalar(select(func.min(OutboxMessage.created_at))
                                 .where(OutboxMessage.state.in_(DONE_STATES))),
        ]
        known = [moment for moment in oldest if moment is not None]
        return min(known) + keep if known else None

    async def run(self, job: JobContext) -> None:
        cutoff = job.now - timedelta(days=job.services.config.retention_days)
        await job.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.processed_at <= cutoff))
        await job.session.execute(delete(OutboxMessage).where(
            OutboxMessage.state.in_(DONE_STATES), OutboxMessage.created_at <= cutoff))
        await job.session.execute(delete(ActionToken).where(ActionToken.expires_at <= cutoff))
