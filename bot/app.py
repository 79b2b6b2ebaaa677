"""The running bot: storage, dispatcher, delivery loop, scheduler and adapters, wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import select

from adapters.base import Adapter
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import Services
from bot.delivery import Delivery
from bot.dispatcher import Dispatcher
from bot.events import ActionOutcome, Event
from bot.features import build_registry
from bot.outbox import Platforms
from bot.roles import StaffList
from scheduler.service import SchedulerService
from storage.db import Database, safe_url
from storage.models import AdapterState

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0


class StateStore:
    """An adapter's own small memory (update offset, sync token), kept in the database."""

    def __init__(self, db: Database, platform: str) -> None:
        self.db = db
        self.platform = platform

    async def get(self, key: str) -> str | None:
        return await self.db.uncut(self._get(key))

    async def set(self, key: str, value: str) -> None:
        await self.db.uncut(self._set(key, value))

    async def _get(self, key: str) -> str | None:
        async with self.db.transaction() as session:
            return await session.scalar(select(AdapterState.value).where(
                AdapterState.platform == self.platform, AdapterState.key == key))

    async def _set(self, key: str, value: str) -> None:
        async with self.db.transaction() as session:
            await session.merge(AdapterState(platform=self.platform, key=key, value=value))


class AdapterCore:
    """The core as one adapter sees it (`adapters.base.CoreHandle`)."""

    def __init__(self, app: App, platform: str) -> None:
        self.app = app
        self.state = StateStore(app.db, platform)

    async def handle(self, event: Event) -> ActionOutcome | None:
        return await self.app.dispatcher.handle(event)

    async def handle_many(self, events: Sequence[Event]) -> list[ActionOutcome | None]:
        return await self.app.dispatcher.handle_many(events)

    def commands(self, locale: str) -> list[tuple[str, str]]:
        return self.app.services.registry.menu(locale)


class App:
    def __init__(self, config: Config, adapters: Sequence[Adapter], *, clock: Clock | None = None,
                 staff: StaffList | None = None, background: bool = True) -> None:
        """`background=False` runs no loops of its own: the caller drives delivery and time
        (the terminal's script mode and tests do, for reproducible transcripts)."""
        self.config = config
        self.clock = clock or SystemClock()
        self.db = Database(config.database.url)
        self.adapters = {adapter.platform: adapter for adapter in adapters}
        registry = build_registry()
        platforms = Platforms(registry.english_names())
        for adapter in adapters:
            platforms.add(adapter.platform, adapter.capabilities, adapter.command_hint(""))
        staff = staff or StaffList({p: config.staff.ids(p) for p in ("telegram", "matrix",
                                                                      "console")})
        self.services = Services(config, self.clock, platforms, registry, staff)
        self.delivery = Delivery(self.db, self.clock, self.adapters)
        self.dispatcher = Dispatcher(self.db, self.services, self._committed)
        self.scheduler = SchedulerService(self.db, self.services, registry.jobs, self._after_job)
        self.background = background
        self._tasks: list[asyncio.Task[None]] = []

    def _committed(self) -> None:
        self.delivery.wake()
        self.scheduler.poke()

    async def _after_job(self) -> None:
        if self.background:
            self.delivery.wake()
        else:
            await self.delivery.drain()

    async def start(self) -> None:
        log.info("database %s", safe_url(self.config.database.url))
        await self.db.upgrade()
        for adapter in self.adapters.values():
            await adapter.start(AdapterCore(self, adapter.platform))
            log.info("adapter %s started", adapter.platform, extra={"platform": adapter.platform})
        if self.background:
            self._tasks.append(asyncio.create_task(self.delivery.run_forever(), name="delivery"))
            await self.scheduler.start()
        else:
            await self.scheduler.run_due()

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self._tasks:  # the delivery loop runs: let its current pass settle first
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await self.delivery.pause()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter %s did not stop cleanly", adapter.platform,
                              extra={"platform": adapter.platform})
        await self.db.dispose()
