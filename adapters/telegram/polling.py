"""Long polling that confirms an update to Telegram only after the core has handled it.

PTB's `Updater` confirms updates as soon as it has fetched them and keeps the offset in
memory only: an update being handled when the process stops (or while the database is
unreachable) would be lost, and nothing tells a restarted bot where it was. Here the next
offset is stored through the core's adapter state after each batch, read back at start,
and an update is retried (with a growing pause) until the core has taken it. The core's
dedup by update id makes a redelivered update harmless.

The updates of one fetch go to the core together (one transaction for all); if that
fails, they go again one at a time, so that one the core cannot take holds back only
those after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from adapters.base import AdapterStateStore
from adapters.telegram.errors import retry_after_seconds

log = logging.getLogger(__name__)

OFFSET_KEY = "update_offset"
LONG_POLL = timedelta(seconds=25)
MAX_PAUSE = 30.0
HANDLE_ATTEMPTS = 8  # about a minute and a half of retries, then the update is given up


class Poller:
    def __init__(self, bot: Bot, handle_many: Callable[[Sequence[Update]], Awaitable[None]],
                 state: AdapterStateStore, allowed_updates: Sequence[str],
                 long_poll: timedelta = LONG_POLL) -> None:
        self.bot = bot
        self.handle_many = handle_many
        self.state = state
        self.allowed_updates = list(allowed_updates)
        self.long_poll = long_poll
        self.offset = 0  # the first update id not handled yet
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        stored = await self.state.get(OFFSET_KEY)
        self.offset = int(stored) if stored and stored.isdecimal() else 0
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Finish the update in hand, then stop (a pending long poll is abandoned)."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                updates = await self._fetch()
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stopped")
                return
            except TelegramError as exc:
                failures += 1
                pause = min(2.0 ** failures, MAX_PAUSE)
                if isinstance(exc, RetryAfter):  # flood control: not before Telegram says
                    pause = max(pause, retry_after_seconds(exc))
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc.message, pause,
                            extra={"platform": "telegram", "seconds": pause})
                await self._pause(pause)
                continue
            failures = 0
            if not updates:
                continue
            try:
                await self._handle_all(updates)
            except Exception:  # the database is unreachable, say: the offset is kept in memory
                log.exception("could not store the update offset")
                await self._pause(1.0)

    async def _fetch(self) -> Sequence[Update]:
        """One long poll, abandoned at once if the poller is asked to stop."""
        fetch = asyncio.ensure_future(self.bot.get_updates(
            offset=self.offset, timeout=self.long_poll, allowed_updates=self.allowed_updates))
        stopping = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
            return ()
        return fetch.result()

    async def _handle_all(self, updates: Sequence[Update]) -> None:
        if len(updates) > 1 and await self._handle_together(updates):
            self.offset = updates[-1].update_id + 1
            await self.state.set(OFFSET_KEY, str(self.offset))
            return
        handled = False
        for update in updates:
            if self._stop.is_set() or not await self._handle_one(update):
                break
            self.offset = update.update_id + 1
            handled = True
        if handled:
            await self.state.set(OFFSET_KEY, str(self.offset))

    async def _handle_together(self, updates: Sequence[Update]) -> bool:
        """True if the core took them all."""
        try:
            await self.handle_many(updates)
            return True
        except Exception:
            log.warning("updates %s to %s not handled together; one at a time now",
                        updates[0].update_id, updates[-1].update_id, exc_info=True,
                        extra={"platform": "telegram"})
            return False

    async def _handle_one(self, update: Update) -> bool:
        """True once the update is done with (handled, or given up); False if stopping."""
        for attempt in range(1, HANDLE_ATTEMPTS + 1):
            try:
                await self.handle_many([update])
                return True
            except Exception:
                log.exception("update %s not handled (attempt %d of %d)", update.update_id,
                              attempt, HANDLE_ATTEMPTS,
                              extra={"platform": "telegram", "update_id": update.update_id})
            if await self._pause(min(2.0 ** (attempt - 1), MAX_PAUSE)):
                return False
        log.error("update %s given up after %d attempts", update.update_id, HANDLE_ATTEMPTS,
                  extra={"platform": "telegram", "update_id": update.update_id})
        return True

    async def _pause(self, seconds: float) -> bool:
        """Wait, unless asked to stop; True if stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        return self._stop.is_set()
