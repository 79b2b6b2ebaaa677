"""Due work: what the scheduler runs when its time comes.

The database is the truth about what is due. A job answers two questions — when is the
next thing due, and do everything due now — and claims each row before acting on it, so
running it twice, late, or after a crash does each piece of work once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.outbox import Outbox


@dataclass
class JobContext:
    session: AsyncSession
    services: Services
    outbox: Outbox
    now: datetime


class DueJob(Protocol):
    name: str

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        """When the earliest pending piece of work falls due (may be in the past)."""
        ...

    async def run(self, job: JobContext) -> None:
        """Do every piece of work due at `job.now`, in `job.session`'s transaction."""
        ...
