"""The delivery loop: sends what the outbox holds, through each platform's adapter.

Guarantees:
- per destination, messages go out in the order they were written (a person's private
  messages and their private chat's are one destination where the platform gives that
  chat the person's id, as Telegram does); a message that must
  wait (rate limit, platform down) holds back the ones after it, not other chats: in the
  background loop each destination is served by a task of its own, so a destination whose
  adapter waits in place (PTB's rate limiter does, for a busy group) delays nobody else;
- a message is marked sent right after the platform accepted it, before the next one of
  its destination goes (the marks of destinations served at once share a transaction:
  `storage.shared_writes`), so nothing accepted is sent twice unless the process dies in
  between (then it is resent): never more than one message per destination in that
  window. A mark the database refuses (SQLite's write lock out of reach) is tried again,
  not the message;
- a keyed message whose newer version is already waiting is skipped ("superseded"): only
  the latest card state is sent;
- a keyed message already posted is delivered as an edit where the platform can edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from adapters.base import (
    Adapter,
    Delivered,
    Destination,
    Moved,
    Outgoing,
    Rejected,
    RetryLater,
    Unreachable,
)
from bot import metrics
from bot.chat_moves import move_chat
from bot.clock import Clock
from bot.messages import message_from_json
from bot.outbox import message_slot
from storage import core
from storage.db import Database, insert_or_skip
from storage.models import Chat, Identity, OutboxMessage, PostedMessage
from storage.shared_writes import SharedWrites

log = logging.getLogger(__name__)

BATCH = 500
MAX_BACKOFF = 60.0
CONCURRENT_DESTINATIONS = 16
IDLE_WAIT = 30.0
ERROR_PAUSE = 5.0
MARK_RETRY = 0.5  # first pause before marking an accepted row sent again

OUTBOX = OutboxMessage.__table__
POSTED = PostedMessage.__table__
# Built once (the rows' values are parameters), run through `storage.core`: building a
# statement costs more than running it on SQLite.
_MARK = update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"))
MARK = core.Statement(_MARK)
MARK_SUPERSEDED = core.Statement(
    update(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(state="superseded", last_error=None))
POSTPONE = core.Statement(_MARK.values(attempts=OUTBOX.c.attempts + 1))


@dataclass
class _Due:
    """A pending outbox row with what sending it needs: where it goes (None: that chat or
    person is gone) and the platform message its slot holds (to edit), if any."""

    id: int
    platform: str
    chat_id: int | None
    identity_id: int | None
    key: str | None
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    destination: Destination | None
    posted: Delivered | None
    private_chat_id: int | None = None  # a person's row: their private chat, if known

    @property
    def idempotency_key(self) -> str:
        """The row's id, and its creation time: unique even if a database starts anew."""
        return f"{self.id}.{self.created_at:%Y%m%d%H%M%S%f}"

    @property
    def slot(self) -> str | None:
        if self.key is None:
            return None
        return message_slot(chat_id=self.chat_id, identity_id=self.identity_id, key=self.key)


def _slot_column() -> Any:
    """`message_slot` of an outbox row, in SQL: to join the row to its posted message."""
    chat, person = cast(OutboxMessage.chat_id, String), cast(OutboxMessage.identity_id, String)
    return case((OutboxMessage.chat_id.is_not(None),
                 literal("c") + chat + literal(":") + OutboxMessage.key),
                else_=literal("i") + person + literal(":") + OutboxMessage.key)


# A row for a person (no chat) goes in the lane of their private chat with the bot, where
# the platform gives that chat the person's own id (Telegram does): what they are told
# and what is answered there then arrive in the order written, one task serving both.
_PRIVATE = aliased(Chat, name="private_chat")
LANE_CHAT = func.coalesce(OutboxMessage.chat_id, _PRIVATE.id)


def _with_lanes(query: Select[Any]) -> Select[Any]:
    """`query` of outbox rows, joined to each person row's private chat (`LANE_CHAT`)."""
    return (query.outerjoin(Identity, Identity.id == OutboxMessage.identity_id)
            .outerjoin(_PRIVATE, and_(_PRIVATE.platform == Identity.platform,
                                      _PRIVATE.external_id == Identity.user_id,
                                      _PRIVATE.is_private.is_(True))))


# A row whose destination is not being served (`_busy`): the rows of those are their tasks'
# business, and a long backlog of one chat must not hide the others' rows. A private row
# may have no chat, and `NULL NOT IN ()` is true: each side says which rows it is about.
NOT_BUSY = or_(and_(LANE_CHAT.is_not(None),
                    LANE_CHAT.not_in(bindparam("busy_chats", expanding=True))),
               and_(LANE_CHAT.is_(None),
                    func.coalesce(OutboxMessage.identity_id, 0).not_in(
                        bindparam("busy_people", expanding=True))))
NEXT_DUE = core.Statement(_with_lanes(select(OutboxMessage.next_attempt_at))
                          .where(OutboxMessage.state == "pending", NOT_BUSY)
                          .order_by(OutboxMessage.next_attempt_at).limit(1))


def _busy(destinations: Collection[tuple[str, int]]) -> dict[str, list[int]]:
    """`NOT_BUSY`'s parameters for these destinations."""
    return {"busy_chats": [n for kind, n in destinations if kind == "c"],
            "busy_people": [n for kind, n in destinations if kind == "i"]}


def _due_query(platforms: Sequence[str]) -> core.Statement:
    """The pending rows, oldest first, each with its destination and posted message; none
    of the destinations being served (`NOT_BUSY`)."""
    return core.Statement(
        _with_lanes(select(
            OutboxMessage.id, OutboxMessage.platform, OutboxMessage.chat_id,
            OutboxMessage.identity_id, OutboxMessage.thread_id, OutboxMessage.key,
            OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.next_attempt_at,
            OutboxMessage.created_at, Chat.external_id, Identity.user_id,
            PostedMessage.platform_message_id, PostedMessage.platform_chat_id, _PRIVATE.id))
        .outerjoin(Chat, Chat.id == OutboxMessage.chat_id)
        .outerjoin(PostedMessage, PostedMessage.slot == _slot_column())
        .where(OutboxMessage.state == "pending", OutboxMessage.platform.in_(platforms),
               NOT_BUSY)
        .order_by(OutboxMessage.id).limit(BATCH))


def _due(found: Any) -> _Due:
    (ident, platform, chat_id, identity_id, thread_id, key, payload, attempts, next_at,
     created_at, external_id, user_id, posted_id, posted_chat, private_chat_id) = found
    destination = None
    if chat_id is not None and external_id is not None:
        destination = Destination(chat_id=external_id, thread_id=thread_id)
    elif chat_id is None and user_id is not None:
        destination = Destination(user_id=user_id)
    posted = Delivered(posted_id, posted_chat) if posted_id is not None else None
    return _Due(ident, platform, chat_id, identity_id, key, payload, attempts, next_at,
                created_at, destination, posted, private_chat_id)


def _destination_key(row: _Due) -> tuple[str, int]:
    """The lane a row goes in: its chat's, a person's private chat's (`LANE_CHAT`), or
    the person's own."""
    chat = row.chat_id if row.chat_id is not None else row.private_chat_id
    return ("c", chat) if chat is not None else ("i", row.identity_id or 0)


class Delivery:
    def __init__(self, db: Database, clock: Clock, adapters: Mapping[str, Adapter]) -> None:
        self.db = db
        self.clock = clock
        self.adapters = adapters
        self._wake = asyncio.Event()
        self._writes = 0  # how many times writers announced new rows (see `drain`)
        self._lock = asyncio.Lock()
        self._paused = False
        self._serving: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(CONCURRENT_DESTINATIONS)
        self._due_query = _due_query(list(adapters))
        self._marks = SharedWrites(db)  # destinations served at once share their marks' commits
        record = insert_or_skip(db.dialect, POSTED)
        self._record_posted = core.Statement(record.on_conflict_do_update(
            index_elements=[POSTED.c.slot],
            set_={name: record.excluded[name] for name in (
                "platform", "platform_chat_id", "platform_message_id", "updated_at")}))

    def wake(self) -> None:
        """New rows are committed (or a destination is free again): look for due rows."""
        self._writes += 1
        self._wake.set()

    async def pause(self) -> None:
        """Finish the message in hand for each destination, and start no other: called
        before stopping, so that a message a platform has just accepted is marked sent, not
        sent again after the restart. Delivery stays paused for good."""
        self._paused = True
        await self._lock.acquire()
        await asyncio.gather(*self._serving.values(), return_exceptions=True)

    async def run_forever(self) -> None:
        """Deliver as rows become due; woken by commits and by a destination done with,
        else by the next due time. A destination still being served is left to its task."""
        try:
            while True:
                # Cleared before the pass, not after: a commit that wakes us during the pass
                # is then not lost (it would otherwise wait for the next due time).
                self._wake.clear()
                try:
                    async with self._lock:
                        wait = await self._pass()
                except Exception:
                    log.exception("delivery pass failed; retrying shortly")
                    wait = ERROR_PAUSE
                # Not `asyncio.wait_for`: before Python 3.12 it can swallow a cancellation
                # that comes as the event is set, and stopping then waits forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
        finally:
            serving = list(self._serving.values())
            for task in serving:
                task.cancel()
            await asyncio.gather(*serving, return_exceptions=True)

    async def _pass(self) -> float:
        """Start serving each destination with due rows that is not being served; returns
        the seconds until the next row of another destination is due. One query when the
        pending rows fit in one batch: the rows it reads tell the next due time too."""
        # Taken before reading: a destination's task may end while the rows are read, and
        # rows it has just sent may still read as pending.
        writes, now, busy = self._writes, self.clock.now(), set(self._serving)
        rows = await self._due_rows(skip=busy)
        whole = len(rows) < BATCH
        waiting = {_destination_key(row) for row in rows if row.next_attempt_at > now}
        for group in self._grouped(rows, now):  # the rows are of destinations not in `busy`
            # Its task need not wake this loop when done if these were all its rows.
            last = whole and _destination_key(group[0]) not in waiting
            self._serve(group, last=last, writes=writes)
        if not whole:
            return await self._seconds_to_next_due(skip=busy | set(self._serving))
        # A destination not being served waits for its first row that is not due: the
        # rows after it are held back by it, however old.
        heads: dict[tuple[str, int], datetime] = {}
        for row in rows:
            heads.setdefault(_destination_key(row), row.next_attempt_at)
        due = [at for dest, at in heads.items() if dest not in self._serving]
        if not due:
            return IDLE_WAIT
        return max(0.0, min(IDLE_WAIT, (min(due) - self.clock.now()).total_seconds()))

    def _serve(self, rows: list[_Due], *, last: bool, writes: int) -> None:
        """Deliver `rows` (one destination's) in a task of their own. When it ends, the
        loop looks again unless these were all the destination's pending rows (`last`),
        all are settled and no writer committed since they were read (`writes`)."""
        destination = _destination_key(rows[0])

        async def serve() -> None:
            settled = 0
            try:
                async with self._slots:
                    settled = await self._deliver_group(rows)
            except Exception:  # the database, say: this destination waits, the others go on
                log.exception("delivery to %s failed; retrying shortly", destination,
                              extra={"platform": rows[0].platform})
                await asyncio.sleep(ERROR_PAUSE)
            finally:
                del self._serving[destination]
                if not (last and settled == len(rows) and self._writes == writes):
                    self._wake.set()

        self._serving[destination] = asyncio.create_task(serve(), name=f"delivery {destination}")

    async def drain(self) -> None:
        """Deliver until nothing is due now (the terminal and tests call this).

        One destination at a time, in the order of their oldest message: when one event
        writes to several chats (a card in each territory chat, private notices), the
        transcript then shows them in the same order on every run. Another pass follows
        only if rows may have been left for it: the last one read a full batch, or a writer
        committed new rows meanwhile (every writer wakes delivery)."""
        async with self._lock:
            while True:
                writes, now = self._writes, self.clock.now()
                rows = await self._due_rows()
                settled = 0
                for group in self._grouped(rows, now):
                    settled += await self._deliver_group(group)
                more = len(rows) == BATCH and settled > 0
                if not more and self._writes == writes:
                    return

    async def _due_rows(self, skip: Collection[tuple[str, int]] = ()) -> list[_Due]:
        """The oldest pending rows (at most `BATCH`) of the destinations not in `skip`, with
        what sending them needs: one query."""
        found = await self.db.read(lambda conn: core.fetch(conn, self._due_query, _busy(skip)))
        return [_due(row) for row in found]

    @staticmethod
    def _grouped(rows: list[_Due], now: datetime) -> list[list[_Due]]:
        """Rows by destination, each cut at its first row not due at `now`."""
        groups: dict[tuple[str, int], list[_Due]] = defaultdict(list)
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

    async def _deliver_group(self, rows: list[_Due]) -> int:
        """Send one destination's rows in order, until one must wait. A row superseded by a
        later version is marked so in the transaction of the next row settled (never after
        that version is marked sent), or at the end."""
        settled = 0
        superseded: list[int] = []
        last = {row.key: index for index, row in enumerate(rows) if row.key}
        sent: dict[str, Delivered | None] = {}  # a key's version just sent: later ones edit it
        try:
            for index, row in enumerate(rows):
                if self._paused:
                    break
                if row.key and last[row.key] > index and _supersedable(row):
                    superseded.append(row.id)
                    settled += 1
                    continue
                if row.key in sent:
                    row.posted = sent[row.key]
                if not await self._deliver_one(row, superseded):
                    break  # this destination waits; keep its order
                settled += 1
                if row.key:
                    sent[row.key] = row.posted
        finally:
            if superseded:
                await self.db.run(_mark_superseded, superseded)
        return settled

    async def _deliver_one(self, row: _Due, superseded: list[int]) -> bool:
        """Try one row; True if it is settled (sent, its `posted` now what the platform
        accepted; or given up), False if it must wait. The `superseded` rows are marked in
        the same transaction."""
        adapter = self.adapters[row.platform]
        message = message_from_json(row.payload)
        if row.destination is None:
            await self._settle(row, superseded, state="failed",
                               error="destination no longer exists")
            return True
        posted = row.posted
        edit_of = None
        if posted is not None and (adapter.capabilities.edits or message.close_poll):
            edit_of = posted.message_id
        if message.close_poll and edit_of is None:
            await self._settle(row, superseded, state="failed", error="no poll to close")
            return True
        item = Outgoing(row.destination, message, edit_of=edit_of,
                        edit_chat_id=posted.chat_id if posted else None,
                        idempotency_key=row.idempotency_key)
        try:
            delivered = await adapter.deliver(item)
        except RetryLater as exc:
            metrics.FAILURES.labels(row.platform, "retry").inc()
            backoff = await self._postpone(row, superseded, str(exc), exc.retry_after)
            log.info("outbox %s postponed %.1fs: %s", row.id, backoff, str(exc)[:200],
                     extra=_fields(row, seconds=round(backoff, 1)))
            return False
        except Moved as exc:
            old_id, new_id = item.destination.chat_id or "", exc.new_chat_id
            await self.db.run(lambda conn: move_chat(conn, row.platform, old_id, new_id))
            await self._postpone(row, superseded, str(exc), 0.0)  # at once, at the new id
            self.wake()
            return False
        except Unreachable as exc:
            metrics.FAILURES.labels(row.platform, "unreachable").inc()
            log.info("outbox %s: destination unreachable (%s)", row.id, exc, extra=_fields(row))
            await self._settle(row, superseded, state="failed", error=f"unreachable: {exc}",
                               chat_gone=row.chat_id)
            return True
        except Rejected as exc:
            metrics.FAILURES.labels(row.platform, "rejected").inc()
            log.warning("outbox %s refused by %s: %s", row.id, row.platform, exc,
                        extra=_fields(row))
            await self._settle(row, superseded, state="failed", error=f"rejected: {exc}")
            return True
        except Exception as exc:  # a bug or an unexpected library error: retry later
            metrics.FAILURES.labels(row.platform, "error").inc()
            backoff = await self._postpone(row, superseded, repr(exc), None)
            log.exception("outbox %s: unexpected delivery error; postponed %.1fs", row.id,
                          backoff, extra=_fields(row, seconds=round(backoff, 1)))
            return False
        await self._record_sent(row, superseded, delivered)
        metrics.SENT.labels(row.platform).inc()
        row.posted = delivered
        return True

    async def _record_sent(self, row: _Due, superseded: list[int], delivered: Delivered) -> None:
        """Mark `row` sent, however long the database takes: the platform has accepted it,
        and a row left pending would be sent again. (SQLite's write lock can be out of
        reach for longer than its busy timeout when many writers queue for it.)"""
        for attempt in itertools.count():
            try:
                await self._settle(row, superseded, state="sent", delivered=delivered)
                return
            except OperationalError:
                pause = min(MARK_RETRY * 2 ** attempt, MAX_BACKOFF)
                log.warning("outbox %s: accepted but not yet marked sent; trying again in "
                            "%.1fs", row.id, pause, exc_info=True,
                            extra=_fields(row, seconds=pause))
                await asyncio.sleep(pause)

    async def _postpone(self, row: _Due, superseded: list[int], error: str,
                        retry_after: float | None) -> float:
        """Try `row` again later; returns the wait in seconds."""
        backoff = retry_after if retry_after is not None else min(2.0 ** row.attempts, MAX_BACKOFF)
        due = self.clock.now() + timedelta(seconds=backoff)

        def postpone(conn: Connection) -> None:
            _mark_superseded(conn, superseded)
            core.apply(conn, POSTPONE, {
                "row_id": row.id, "next_attempt_at": due, "last_error": error[:500]})

        await self.db.run(postpone)
        superseded.clear()
        row.attempts += 1
        return backoff

    async def _settle(self, row: _Due, superseded: list[int], *, state: str,
                      error: str | None = None, delivered: Delivered | None = None,
                      chat_gone: int | None = None) -> None:
        """Mark `row` (and the `superseded` rows) in one transaction; a sent keyed row
        records its platform message in its slot, for the next version to edit."""
        now = self.clock.now()
        values: dict[str, object] = {"row_id": row.id, "state": state, "last_error": error}
        if delivered is not None:
            values.update(sent_at=now, platform_message_id=delivered.message_id)
        slot = row.slot

        def settle(conn: Connection) -> None:
            _mark_superseded(conn, superseded)
            core.apply(conn, MARK, values)
            if delivered is not None and slot is not None:
                core.apply(conn, self._record_posted, {
                    "slot": slot, "platform": row.platform, "platform_chat_id": delivered.chat_id,
                    "platform_message_id": delivered.message_id, "updated_at": now})
            if chat_gone is not None:
                conn.execute(update(Chat).where(Chat.id == chat_gone).values(active=False))

        await self._marks.run(settle)
        superseded.clear()

    async def _seconds_to_next_due(self, skip: Collection[tuple[str, int]]) -> float:
        """Until the next row is due, for destinations not in `skip` (those wake us)."""
        found = await self.db.read(lambda conn: core.fetch(conn, NEXT_DUE, _busy(skip)))
        if not found:
            return IDLE_WAIT
        due = found[0].next_attempt_at
        return max(0.0, min(IDLE_WAIT, (due - self.clock.now()).total_seconds()))


def _mark_superseded(conn: Connection, ids: list[int]) -> None:
    if ids:
        core.apply(conn, MARK_SUPERSEDED, {"ids": ids})


def _supersedable(row: _Due) -> bool:
    """Plain keyed messages are replaced by their newer version; polls and closes are not."""
    payload = row.payload
    return "poll" not in payload and not payload.get("close_poll") and "attachment" not in payload


def _fields(row: _Due, **more: object) -> dict[str, object]:
    """A delivery log line's fields: which message, where, which try (never the text)."""
    return {"outbox_id": row.id, "platform": row.platform, "chat_id": row.chat_id,
            "attempts": row.attempts, **more}
