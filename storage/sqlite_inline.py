"""SQLite on the event loop's own thread, for SQLAlchemy's `sqlite+aiosqlite` dialect.

aiosqlite runs every call — cursor, execute, fetch, close — on a thread of its own and
wakes the event loop when it is done: about four thread hops a statement, 63 a command
(bench/README.md, "What a command costs"), and those hops, not SQLite, were most of a
command's time. SQLite in WAL mode answers a small statement in microseconds, so here the
calls run inline, as coroutines that finish without suspending.

Blocking the event loop is what must never happen, and only waiting for a lock could do
it: the connection's own busy handler is off (`busy_timeout=0`), and a statement refused
with SQLITE_BUSY — which then had no effect — is tried again after an asynchronous pause,
up to `LOCK_WAIT_SECONDS`, while the holder (maybe another task of this process) goes on.
Every transaction starts with `BEGIN IMMEDIATE` (storage.db), so it is almost always the
BEGIN that waits, and a transaction holding the write lock is never refused later.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

LOCK_WAIT_SECONDS = 10.0
FIRST_PAUSE, MAX_PAUSE = 0.001, 0.05


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY,
                                                        sqlite3.SQLITE_LOCKED)


async def _patiently(call: Callable[[], Any]) -> Any:
    """`call()`, tried again while SQLite answers that the database is busy."""
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + LOCK_WAIT_SECONDS, FIRST_PAUSE
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _busy(error) or loop.time() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE)


class InlineCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(parameters)
        await _patiently(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's request queue, which SQLAlchemy feeds directly to set the
    isolation level: the request runs at once."""

    def put_nowait(self, request: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = request
        try:
            future.set_result(function())
        except Exception as error:  # handed to the waiting caller, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """The part of `aiosqlite.Connection` that SQLAlchemy's dialect uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        await _patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def creator(path: str) -> Callable[[], Any]:
    """`async_creator` for `create_async_engine`: a connection to the database at `path`."""

    async def connect() -> InlineConnection:
        # Only the loop's thread runs statements; a pool being garbage-collected may close
        # the connection from another.
        return InlineConnection(sqlite3.connect(path, check_same_thread=False,
                                                isolation_level=None))

    return connect
