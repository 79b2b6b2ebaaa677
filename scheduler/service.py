"""Runs due work: APScheduler in the bot's own event loop, or stepped by a fake clock.

The database says what is due (`bot.duework.DueJob.next_due`); APScheduler only holds one
date trigger per job, for the earliest due moment, and is rebuilt from the database at
start and whenever something changes. Work missed while the bot was down is due in the
past, so it runs once right after the start. A job runs in one transaction, or — a
`PiecewiseJob`, such as the digests — one transaction for each piece of its work; what
each transaction wrote is handed to delivery as soon as it commits.

With a fake clock (the terminal, tests), `advance()` moves time forward and runs every job
at the moment it falls due, in order, so transcripts are reproducible.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot import metrics
from bot.clock import FakeClock
from bot.context import Services
from bot.duework import Job, JobContext, PiecewiseJob
from bot.outbox import Outbox
from storage.db import Database

log = logging.getLogger(__name__)

MAX_STEPS = 100_000  # a guard against a job whose next_due never moves


class SchedulerService:
    def __init__(self, db: Database, services: Services, jobs: Sequence[Job],
                 after_run: Callable[[], Awaitable[None]]) -> None:
        self.db = db
        self.services = services
        self.jobs = {job.name: job for job in jobs}
        # Delivers what a job wrote (or wakes the delivery loop): after each transaction,
        # so that at a tick shared by many chats the first digests go out while the
        # others are still being composed; and at the end of each run.
        self.after_run = after_run
        self._aps: AsyncIOScheduler | None = None
        self._pending_reconcile: asyncio.TimerHandle | None = None
        self._reconciling: asyncio.Task[None] | None = None

    # --- real time -------------------------------------------------------------------------

    async def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._aps.start()
        await self.reconcile()

    async def stop(self) -> None:
        if self._pending_reconcile:
            self._pending_reconcile.cancel()
        if self._aps:
            self._aps.shutdown(wait=False)
            self._aps = None

    def poke(self) -> None:
        """Something changed: recompute the due times soon (debounced)."""
        if self._aps is None or self._pending_reconcile is not None:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._pending_reconcile = None
            self._reconciling = loop.create_task(self.reconcile())

        self._pending_reconcile = loop.call_later(0.5, fire)

    async def reconcile(self) -> None:
        """Set each job's trigger to its next due moment, as the database says."""
        if self._aps is None:
            return
        now = self.services.clock.now()
        for name, due in (await self._due_times()).items():
            if due is None:
                if self._aps.get_job(name):
                    self._aps.remove_job(name)
                continue
            self._aps.add_job(self._run_scheduled, DateTrigger(run_date=max(due, now)), id=name,
                              replace_existing=True, misfire_grace_time=None, coalesce=True)

    async def _run_scheduled(self) -> None:
        try:
            await self.run_due()
        finally:
            await self.reconcile()

    # --- shared --------------------------------------------------------------------------

    async def _due_times(self) -> dict[str, datetime | None]:
        async with self.db.transaction() as session:
            return {name: await job.next_due(session, self.services)
                    for name, job in self.jobs.items()}

    async def run_job(self, name: str, now: datetime) -> None:
        job = self.jobs[name]
        if not isinstance(job, PiecewiseJob):
            await self._run_in_transaction(name, job.run, now)
            return
        try:
            async with self.db.transaction() as session:
                pieces = await job.pieces(session, self.services, now)
        except Exception:
            log.exception("scheduled job %s failed; it will be tried again", name,
                          extra={"job": name})
            return
        for piece in pieces:
            await self._run_in_transaction(name, partial(job.run_piece, piece=piece), now, piece)

    async def _run_in_transaction(self, name: str, work: Callable[[JobContext], Awaitable[None]],
                                  now: datetime, piece: Any = None) -> None:
        """`work` in a transaction of its own, then what it wrote delivered; a failure is
        logged and rolled back (what it would have done stays due)."""
        try:
            async with self.db.transaction(posting=True) as session:
                outbox = Outbox(session, self.services.clock, self.services.platforms,
                                self.services.config.timezone)
                await work(JobContext(session, self.services, outbox, now))
        except Exception:
            log.exception("scheduled job %s failed%s; it will be tried again", name,
                          "" if piece is None else f" for {piece!r}", extra={"job": name})
        else:
            await self.after_run()

    async def run_due(self) -> None:
        """Run every job with work due now (catching up once after downtime), then deliver
        whatever is due (at the start, what was left before a stop)."""
        now = self.services.clock.now()
        for name, due in (await self._due_times()).items():
            if due is not None and due <= now:
                metrics.JOB_LAG.labels(name).observe((now - due).total_seconds())
                await self.run_job(name, now)
        await self.after_run()

    # --- fake time -----------------------------------------------------------------------

    async def advance(self, clock: FakeClock, delta: timedelta) -> None:
        """Move the fake clock by `delta`, running each job when its work falls due."""
        target = clock.now() + delta
        for _ in range(MAX_STEPS):
            due = [d for d in (await self._due_times()).values() if d is not None and d <= target]
            if not due:
                break
            clock.set(min(due))
            before = await self._due_times()
            await self.run_due()
            if await self._due_times() == before:
                log.error("scheduled work due at %s did not move; stopping the fast-forward",
                          min(due))
                break
        clock.set(target)
