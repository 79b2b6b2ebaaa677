"""The delivery loop: sends what the outbox holds, through each platform's adapter.

Guarantees:
- per destination, messages go out in the order they were written; a message that must
  wait (rate limit, platform down) holds back the ones after it, not other chats;
- a message is marked sent in its own transaction right after the platform accepted it, so
  nothing accepted is sent twice unless the process dies in between (then it is resent);
- a keyed message whose newer version is already waiting is skipped ("superseded"): only
  the latest card state is sent;
- a keyed message already posted is delivered as an edit where the platform can edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import (
    Adapter,
    Delivered,
    Destination,
    Outgoing,
    Rejected,
    RetryLater,
    Unreachable,
)
from bot import metrics
from bot.clock import Clock
from bot.messages import message_from_json
from bot.outbox import message_slot
from storage.db import Database
from storage.models import Chat, Identity, OutboxMessage, PostedMessage

log = logging.getLogger(__name__)

BATCH = 500
MAX_BACKOFF = 60.0
CONCURRENT_DESTINATIONS = 16
IDLE_WAIT = 30.0


def _destination_key(row: OutboxMessage) -> tuple[str, int]:
    return ("c", row.chat_id) if row.chat_id is not None else ("i", row.identity_id or 0)


class Delivery:
    def __init__(self, db: Database, clock: Clock, adapters: Mapping[str, Adapter]) -> None:
        self.db = db
        self.clock = clock
        self.adapters = adapters
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    async def pause(self) -> None:
        """Let the pass under way finish, and start no other: called before stopping, so
        that a message a platform has just accepted is marked sent, not sent again after
        the restart. Delivery stays paused for good."""
        await self._lock.acquire()

    async def run_forever(self) -> None:
        """Deliver as rows become due; woken by commits, else by the next due time."""
        while True:
            # Cleared before the pass, not after: a commit that wakes us during the pass
            # is then not lost (it would otherwise wait for the next due time).
            self._wake.clear()
            try:
                await self.deliver_due()
                wait = await self._seconds_to_next_due()
            except Exception:
                log.exception("delivery pass failed; retrying shortly")
                wait = 5.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def drain(self) -> None:
        """Deliver until nothing is due now (the terminal and tests call this).

        One destination at a time, in the order of their oldest message: when one event
        writes to several chats (a card in each territory chat, private notices), the
        transcript then shows them in the same order on every run."""
        while await self.deliver_due(concurrency=1):
            pass

    async def deliver_due(self, concurrency: int = CONCURRENT_DESTINATIONS) -> int:
        """One pass over the due rows; returns how many rows were settled."""
        async with self._lock:
            groups = await self._due_groups()
            if not groups:
                return 0
            limit = asyncio.Semaphore(concurrency)

            async def run(rows: list[OutboxMessage]) -> int:
                async with limit:
                    return await self._deliver_group(rows)

            done = await asyncio.gather(*(run(rows) for rows in groups))
            return sum(done)

    async def _due_groups(self) -> list[list[OutboxMessage]]:
        """Pending rows by destination, each cut at its first row that is not due yet."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows = (await session.scalars(
                select(OutboxMessage).where(OutboxMessage.state == "pending",
                                            OutboxMessage.platform.in_(list(self.adapters)))
                .order_by(OutboxMessage.id).limit(BATCH))).all()
        groups: dict[tuple[str, int], list[OutboxMessage]] = defaultdict(list)
        blocked: set[tuple[str, int]] = set()
        for row in rows:
            dest = _destination_key(row)
            if dest in blocked:
                continue
            if row.next_attempt_at > now:
                blocked.add(dest)
                continue
            groups[dest].append(row)
        return list(groups.values())

    async def _deliver_group(self, rows: list[OutboxMessage]) -> int:
        settled = 0
        for index, row in enumerate(rows):
            later_keys = {r.key for r in rows[index + 1:] if r.key}
            if row.key in later_keys and _supersedable(row):
                await self._settle(row, state="superseded")
                settled += 1
                continue
            if not await self._deliver_one(row):
                break  # this destination waits; keep its order
            settled += 1
        return settled

    async def _deliver_one(self, row: OutboxMessage) -> bool:
        """Try one row; True if it is settled (sent or given up), False if it must wait."""
        adapter = self.adapters[row.platform]
        message = message_from_json(row.payload)
        slot = message_slot(chat_id=row.chat_id, identity_id=row.identity_id,
                            key=row.key) if row.key else None
        async with self.db.transaction() as session:
            destination = await self._destination(session, row)
            posted = await session.get(PostedMessage, slot) if slot else None
        if destination is None:
            await self._settle(row, state="failed", error="destination no longer exists")
            return True
        edit_of = None
        if posted is not None and (adapter.capabilities.edits or message.close_poll):
            edit_of = posted.platform_message_id
        if message.close_poll and edit_of is None:
            await self._settle(row, state="failed", error="no poll to close")
            return True
        item = Outgoing(destination, message, edit_of=edit_of,
                        edit_chat_id=posted.platform_chat_id if posted else None)
        try:
            delivered = await adapter.deliver(item)
        except RetryLater as exc:
            metrics.FAILURES.labels(row.platform, "retry").inc()
            await self._postpone(row, str(exc), exc.retry_after)
            return False
        except Unreachable as exc:
            metrics.FAILURES.labels(row.platform, "unreachable").inc()
            log.info("outbox %s: destination unreachable (%s)", row.id, exc)
            await self._settle(row, state="failed", error=f"unreachable: {exc}",
                               chat_gone=row.chat_id)
            return True
        except Rejected as exc:
            metrics.FAILURES.labels(row.platform, "rejected").inc()
            log.warning("outbox %s refused by %s: %s", row.id, row.platform, exc)
            await self._settle(row, state="failed", error=f"rejected: {exc}")
            return True
        except Exception as exc:  # a bug or an unexpected library error: retry later
            metrics.FAILURES.labels(row.platform, "error").inc()
            log.exception("outbox %s: unexpected delivery error", row.id)
            await self._postpone(row, repr(exc), None)
            return False
        await self._settle(row, state="sent", delivered=delivered, slot=slot)
        metrics.SENT.labels(row.platform).inc()
        return True

    async def _destination(self, session: AsyncSession, row: OutboxMessage) -> Destination | None:
        if row.chat_id is not None:
            chat = await session.get(Chat, row.chat_id)
            return Destination(chat_id=chat.external_id, thread_id=row.thread_id) if chat else None
        identity = await session.get(Identity, row.identity_id)
        return Destination(user_id=identity.user_id) if identity else None

    async def _postpone(self, row: OutboxMessage, error: str, retry_after: float | None) -> None:
        backoff = retry_after if retry_after is not None else min(2.0 ** row.attempts, MAX_BACKOFF)
        due = self.clock.now() + timedelta(seconds=backoff)
        async with self.db.transaction() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                attempts=OutboxMessage.attempts + 1, next_attempt_at=due, last_error=error[:500]))
        row.attempts += 1
        log.info("outbox %s postponed %.1fs: %s", row.id, backoff, error[:200])

    async def _settle(self, row: OutboxMessage, *, state: str, error: str | None = None,
                      delivered: Delivered | None = None, slot: str | None = None,
                      chat_gone: int | None = None) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            values: dict[str, object] = {"state": state, "last_error": error}
            if delivered is not None:
                values.update(sent_at=now, platform_message_id=delivered.message_id)
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
            if delivered is not None and slot is not None:
                await session.merge(PostedMessage(
                    slot=slot, platform=row.platform,
                    platform_chat_id=delivered.chat_id, platform_message_id=delivered.message_id,
                    updated_at=now))
            if chat_gone is not None:
                await session.execute(update(Chat).where(Chat.id == chat_gone).values(active=False))

    async def _seconds_to_next_due(self) -> float:
        async with self.db.transaction() as session:
            due: datetime | None = await session.scalar(
                select(OutboxMessage.next_attempt_at).where(OutboxMessage.state == "pending")
                .order_by(OutboxMessage.next_attempt_at).limit(1))
        if due is None:
            return IDLE_WAIT
        return max(0.0, min(IDLE_WAIT, (due - self.clock.now()).total_seconds()))


def _supersedable(row: OutboxMessage) -> bool:
    """Plain keyed messages are replaced by their newer version; polls and closes are not."""
    payload = row.payload
    return "poll" not in payload and not payload.get("close_poll") and "attachment" not in payload
