"""SQLite on the event loop's own thread: an async SQLAlchemy dialect over plain `sqlite3`.

The `sqlite+aiosqlite` URLs of the configuration are served by this dialect
(`storage.db.Database` swaps the driver name). aiosqlite runs every call — cursor,
execute, fetch, close — on a thread of its own and wakes the event loop when it is done:
about four thread hops a statement, 63 a command (bench/README.md, "What a command
costs"), and those hops, not SQLite, were most of a command's time. SQLite in WAL mode
answers a small statement in microseconds, so here the calls run inline. The dialect is
pysqlite's, declared asynchronous: SQLAlchemy's async engine runs its synchronous code in a
greenlet, and a statement that needs no waiting never leaves it (an adapter of coroutines
would cost two greenlet switches a call: a sixth of a command's time).

Blocking the event loop is what must never happen, and only waiting for a lock could do
it: the connection's own busy handler is off (`busy_timeout=0`), and a statement refused
with SQLITE_BUSY — which then had no effect — is tried again after an asynchronous pause
(`await_`, back to the event loop), up to `LOCK_WAIT_SECONDS`, while the holder (maybe
another task of this process) goes on. Every transaction starts with `BEGIN IMMEDIATE`
(storage.db), so it is almost always the BEGIN that waits, and a transaction holding the
write lock is never refused later.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.util.concurrency import await_only, in_greenlet

from storage.savepoints import OneName

DRIVER = "piazzabot_inline"
LOCK_WAIT_SECONDS = 10.0
FIRST_PAUSE, MAX_PAUSE = 0.001, 0.05

T = TypeVar("T")


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY,
                                                        sqlite3.SQLITE_LOCKED)


def _patiently(call: Callable[[], T]) -> T:
    """`call()`, tried again while SQLite answers that the database is busy; the pauses
    between tries go back to the event loop."""
    deadline, pause = None, FIRST_PAUSE
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + LOCK_WAIT_SECONDS
            # Outside SQLAlchemy's greenlet there is no loop to give way to: no waiting.
            if not _busy(error) or now >= deadline or not in_greenlet():
                raise
        await_only(asyncio.sleep(pause))
        pause = min(pause * 2, MAX_PAUSE)


class PatientCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> PatientCursor:
        return _patiently(lambda: sqlite3.Cursor.execute(self, sql, parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> PatientCursor:
        rows = list(parameters)
        return _patiently(lambda: sqlite3.Cursor.executemany(self, sql, rows))

    async def _async_soft_close(self) -> None:
        """Asked by SQLAlchemy's async results of an async driver's cursor before its rows
        are read outside the greenlet; sqlite3 reads them synchronously: nothing to do."""


class PatientConnection(sqlite3.Connection):
    def cursor(self, factory: Any = PatientCursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        _patiently(super().commit)


class InlineSQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, writing a table's hint (`Select.with_hint(table, "INDEXED BY ix",
    "sqlite")`) after its name, which SQLAlchemy's own leaves out."""

    def get_from_hint_text(self, table: FromClause, text: str | None) -> str | None:
        return text


class InlineSQLiteDialect(OneName, SQLiteDialect_pysqlite):
    """pysqlite's dialect, for the async engine: same SQL, same types, same connect
    arguments (query options such as `?mode=ro&uri=true` included); table hints; and
    savepoints under one name, straight to the driver (`storage.savepoints`: through
    `Connection.execute` each SAVEPOINT and RELEASE was compiled anew, its name changing,
    and cost about as much as the event's own statements)."""

    driver = DRIVER
    statement_compiler = InlineSQLiteCompiler
    is_async = True
    supports_statement_cache = True

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        args, options = super().create_connect_args(url)
        # Only the loop's thread runs statements; a pool being garbage-collected may close
        # a connection from another.
        options.update(factory=PatientConnection, check_same_thread=False)
        return args, options

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")


def inline_url(url: str) -> URL:
    """`url` (`sqlite+aiosqlite://…`, as configured) served by this dialect."""
    return make_url(url).set(drivername=f"sqlite+{DRIVER}")
