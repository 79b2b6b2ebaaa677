"""The savepoint around each event of a batch (`bot.dispatcher`): what the event did is
undone if it fails, and what the events before it did is kept.

Not `session.begin_nested()`. The ORM's nested transaction snapshots the session's state
when it begins and merges or restores it when it ends: around one small statement on
SQLite, 140–180 µs an event, against 21–49 µs with a bare SAVEPOINT and RELEASE
(bench/README.md, session 9). Most
events end well, and most that fail are refusals, which fail before they change anything:
neither needs the snapshot. Here the session's pending changes are flushed before the
savepoint, so the database and the session agree there; if the event fails, the database
goes back to it (ROLLBACK TO) and the session's objects are put back as the ORM would:

- objects the event added are expunged, those still pending and those it flushed;
- objects it deleted are expunged (their rows are back; read again, they load afresh);
- if it changed anything through the ORM (flushed, or left changes), every object is
  expired, to be reloaded from the database when next read.

Every savepoint, this one and the ORM's (`OneName`, the mixin of both dialects), has one
name and goes straight to the driver (`core.plain`). asyncpg prepares each statement text
it has not seen in a round trip of its own, and SQLAlchemy names each savepoint anew
(`sa_savepoint_7`, …): on PostgreSQL every event paid four round trips for its SAVEPOINT
and RELEASE, and pushed other statements out of the statement cache (bench/README.md,
session 9). SQLite and PostgreSQL allow one name: ROLLBACK TO and RELEASE name the newest
savepoint of it, and savepoints nest strictly (the last begun is the first ended), so the
newest is always the one meant — provided each is gone once ended: ROLLBACK TO keeps its
savepoint, so it is released at once after (only a failed event pays that). ORM
savepoints (`session.begin_nested()`) may nest inside an event's.

What the ORM's nested transaction also gives, and this does not: a flush that fails inside
it rolls back only the nested transaction, where here the ORM rolls back the whole
transaction. So this serves a batch of events, which is then taken again one event at a
time (`bot.dispatcher`), each in an ORM savepoint (`core.savepoint`): a failing flush costs
the batch's work a second time, and is still answered with an apology, not lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage import core

# `event_savepoint`, or `storage.core.savepoint` (the ORM's)
Savepoint = Callable[[AsyncSession], AbstractAsyncContextManager[None]]
NAME = "piazzabot_savepoint"
_OPEN = "piazzabot.event_savepoint"  # session.info: the open savepoint's `_Changes`


@dataclass
class _Changes:
    """What the ORM did inside the savepoint, beyond what the session still shows."""

    flushed: list[object] = field(default_factory=list)  # added, then flushed
    deleted: list[object] = field(default_factory=list)  # deleted, then flushed
    changed: bool = False  # anything flushed at all


@asynccontextmanager
async def event_savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """Run the block in a savepoint: kept if it ends well, undone (database and session)
    if it raises. On SQLite, whose session holds the write lock (`core.INLINE`), right on
    the loop; elsewhere each step in one greenlet."""
    inline = bool(session.info.get(core.INLINE))
    if inline:
        _begin(session.sync_session)
    else:
        await session.run_sync(_begin)
    session.info[_OPEN] = changes = _Changes()
    try:
        try:
            yield
            if inline:
                _end(session.sync_session)
            else:
                await session.run_sync(_end)
        finally:
            del session.info[_OPEN]
    except BaseException:
        if inline:
            _undo(session.sync_session, changes)
        else:
            await session.run_sync(_undo, changes)
        raise


def _pending(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)


def begin(connection: Connection) -> None:
    core.plain(connection, f"SAVEPOINT {NAME}")


def release(connection: Connection) -> None:
    core.plain(connection, f"RELEASE SAVEPOINT {NAME}")


def roll_back_to(connection: Connection) -> None:
    core.plain(connection, f"ROLLBACK TO SAVEPOINT {NAME}")
    # Left in place, it would be the newest of the name: an enclosing savepoint's
    # ROLLBACK TO would stop at it and keep what was done before.
    release(connection)


class OneName:
    """A dialect's savepoints (SQLAlchemy's `begin_nested`) under `NAME`, on the driver."""

    def do_savepoint(self, connection: Connection, name: str) -> None:
        begin(connection)

    def do_release_savepoint(self, connection: Connection, name: str) -> None:
        release(connection)

    def do_rollback_to_savepoint(self, connection: Connection, name: str) -> None:
        roll_back_to(connection)


def _begin(session: Session) -> None:
    if _pending(session):
        session.flush()
    begin(session.connection())


def _end(session: Session) -> None:
    if _pending(session):
        session.flush()
    release(session.connection())


def _undo(session: Session, changes: _Changes) -> None:
    roll_back_to(session.connection())
    changed = changes.changed or bool(session.dirty)
    gone = [*session.new, *session.deleted, *changes.flushed, *changes.deleted]
    for instance in gone:
        # A deleted and flushed object is out of the identity map, not `in session`, but
        # still the session's until the transaction ends.
        if inspect(instance).session is session:
            session.expunge(instance)
    if changed or gone:
        session.expire_all()


def _open(session: Session) -> _Changes | None:
    return session.info.get(_OPEN)


@event.listens_for(Session, "pending_to_persistent")
def _flushed_new(session: Session, instance: Any) -> None:
    if (changes := _open(session)) is not None:
        changes.flushed.append(instance)


@event.listens_for(Session, "persistent_to_deleted")
def _flushed_deleted(session: Session, instance: Any) -> None:
    if (changes := _open(session)) is not None:
        changes.deleted.append(instance)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if (changes := _open(session)) is not None:
        changes.changed = True
