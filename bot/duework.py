"""Due work: what the scheduler runs when its time comes.

The database is the truth about what is due. A job answers two questions — when is the
next thing due, and do everything due now — and claims each row before acting on it, so
running it twice, late, or after a crash does each piece of work once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class PiecewiseJob(Protocol):
    """A due job whose work comes in independent pieces (a digest for each chat): the
    scheduler lists the pieces due in one short transaction, then runs each in a transaction
    of its own. A piece that fails is rolled back alone and stays due; a crash between two
    pieces leaves the first done and the second due — each piece claims its own rows, and
    `next_due` reads them. No transaction lasts longer than one piece (on SQLite a
    transaction holds the write lock from its start)."""

    name: str

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        """When the earliest pending piece of work falls due (may be in the past)."""
        ...

    async def pieces(self, session: AsyncSession, services: Services,
                     now: datetime) -> Sequence[Any]:
        """The pieces of work due at `now` (small values: each is handed to `run_piece`)."""
        ...

    async def run_piece(self, job: JobContext, piece: Any) -> None:
        """Do one piece, in `job.session`'s transaction — or nothing if it is no longer
        due (done meanwhile)."""
        ...


Job = DueJob | PiecewiseJob
