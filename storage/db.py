"""The database handle: engine, sessions (one transaction each) and migrations.

SQLite runs in WAL mode with foreign keys on. pysqlite's own transaction handling breaks
SAVEPOINTs, so (as SQLAlchemy documents) the driver's is switched off and every transaction
starts with an explicit `BEGIN IMMEDIATE`, which also makes concurrent writers wait for
each other instead of failing. The connections are `storage.sqlite_inline`'s: statements
run on the event loop's thread, and waiting for the write lock is asynchronous; WAL
checkpoints run in a worker thread (`storage.checkpoints`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util.concurrency import greenlet_spawn

from storage import core, postgres, sqlite_inline
from storage.checkpoints import BACKSTOP_PAGES, Checkpoints, database_file
from storage.models import Chat, Identity, Member, Territory
from storage.models.ideas import Idea
from storage.models.meetups import Meetup
from storage.models.polls import Poll

MIGRATIONS = Path(__file__).parent / "migrations"
PING_AFTER_IDLE_SECONDS = 10.0
DISPOSE_GRACE_SECONDS = 10.0

T = TypeVar("T")


def safe_url(url: str) -> str:
    """The URL as it may appear in logs: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def insert_or_skip(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of `dialect` that can say ON CONFLICT (`on_conflict_do_nothing`,
    `on_conflict_do_update`): one round trip where a read and a write would take two."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


async def locked(session: AsyncSession, kind: type[T], ident: int) -> T | None:
    """Row `ident` of `kind`, locked until the transaction ends (answers change a meetup or a
    poll one at a time), through `core.get`. SQLite has no row locks, its transactions hold
    the write lock: there an object loaded earlier in the transaction is taken from the
    session at no cost."""
    locks = session.get_bind().dialect.name != "sqlite"
    return await core.get(session, kind, ident, lock=locks)


def _sqlite_setup(engine: AsyncEngine, checkpoints: Checkpoints | None) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        if checkpoints is not None:  # checkpoints are theirs, in a thread; this a backstop
            cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=0")  # waiting is sqlite_inline's, not the loop's
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A page cache of 64 MiB (SQLite's default is 2 MiB), filled as pages are read: the
        # staff digest reads weeks of supports, each joined to its idea (bench/digest.py).
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver (`core.plain`): the delivery loop begins a transaction for
        # every few messages it marks sent.
        core.plain(conn, "BEGIN IMMEDIATE")

    if checkpoints is not None:
        @event.listens_for(engine.sync_engine, "commit")
        def _on_commit(_conn: Connection) -> None:
            checkpoints.committed()


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Before a pooled connection that has waited `PING_AFTER_IDLE_SECONDS` is used, ask the
    server whether it is still there; if not (a restart), every pooled connection is
    replaced — SQLAlchemy's `pool_pre_ping`, but not for the connections of a busy bot.
    asyncpg pings in three round trips (BEGIN, a statement, ROLLBACK): on every checkout
    that was a third of a reply's delivery (bench/README.md). A connection lost while in use
    fails its transaction, which the dispatcher and delivery try again."""
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError() from error
            raise


_IDLE_SINCE = "piazzabot.idle_since"


class TransactionSession(Session):
    """A session that keeps the chats, people, territories, meetups, ideas and polls it
    loads or adds (`core.get` included) until it closes.

    The identity map references objects weakly: one that no variable holds any more is
    forgotten, and `session.get` asks the database again. A batch of events shares a
    transaction (`bot.dispatcher`), and its events ask for the same rows of these kinds by
    their keys: kept here, the later ones find them in the session (SQLAlchemy's "strong
    reference" recipe). A session lives for one transaction, so nothing is kept for long.
    Other kinds are not kept: some are deleted by statements that leave the session's
    objects as they are (`bot.privacy`), and a kept action token would outlive its row."""


@event.listens_for(TransactionSession, "loaded_as_persistent")
@event.listens_for(TransactionSession, "pending_to_persistent")
@event.listens_for(TransactionSession, "detached_to_persistent")  # as `core.get` loads
def _keep(session: Session, instance: object) -> None:
    if type(instance) in _KEPT_KINDS:
        session.info.setdefault(_KEPT, []).append(instance)


_KEPT = "piazzabot.kept"
_KEPT_KINDS = frozenset({Chat, Identity, Idea, Meetup, Member, Poll, Territory})


class Database:
    """One per process. `async with db.transaction() as session:` is the unit of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        self.engine = create_async_engine(
            sqlite_inline.inline_url(url) if sqlite else postgres.postgres_url(url), echo=echo)
        self._checkpoints: Checkpoints | None = None
        if sqlite:
            path = database_file(make_url(url))
            self._checkpoints = Checkpoints(path) if path else None
            _sqlite_setup(self.engine, self._checkpoints)
        else:
            _ping_when_idle(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                           sync_session_class=TransactionSession)
        self._uncut: set[asyncio.Task[Any]] = set()
        self._posting = asyncio.Lock()  # see `transaction`

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, posting: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on leaving the block, rolled back on error.

        `posting`: the transaction may write messages to the outbox. Delivery sends each
        destination's messages in the order of their ids, so transactions that post must
        commit in that order too: they take turns, from before their start to after their
        end. SQLite's `BEGIN IMMEDIATE` makes every transaction do so. On PostgreSQL, where
        a row's id comes from a sequence as it is inserted, posting transactions take
        turns in the process (one process serves every platform): a lock of the event loop,
        which costs nothing, where an advisory lock in the database cost a round trip, some
        160 µs, each transaction (bench/README.md, session 10). Taken before the
        transaction begins, it is never waited for while holding a row lock."""
        if posting and self.dialect != "sqlite":
            async with self._posting, self.transaction() as session:
                yield session
            return
        async with self.sessions() as session, session.begin():
            if self.dialect == "sqlite":
                # The connection, and the write lock of its BEGIN IMMEDIATE, from the start:
                # from then on `storage.core` runs statements without leaving the loop.
                await session.connection()
                session.info[core.INLINE] = True
            yield session

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in one transaction: synchronous SQLAlchemy Core statements,
        run together — checkout, BEGIN, statements, COMMIT — in one greenlet, the cheapest
        way to a few statements (an `AsyncConnection` spawns one for each step; and on
        SQLite, through `sqlite_inline`, its `execute` refuses a statement that needs no
        waiting)."""
        return await greenlet_spawn(self._run, work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        with self.engine.sync_engine.begin() as conn:
            return work(conn)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` outside any transaction: for reads whose statements need no
        snapshot in common (a single statement, say). On SQLite no `BEGIN IMMEDIATE`, so no
        waiting for the write lock (a WAL reader never waits); on PostgreSQL no BEGIN and
        ROLLBACK round trips (autocommit)."""
        return await greenlet_spawn(self._read, work)

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self.engine.sync_engine.connect() as conn:
            # SQLite's driver runs a statement in a transaction only after an explicit BEGIN,
            # which only SQLAlchemy's own execution says here (`_sqlite_setup`).
            if self.dialect != "sqlite":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            return work(conn)

    async def uncut(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` (which holds transactions) so that cancelling the caller never cuts
        one in half: the caller is cancelled at once, `work` commits or rolls back on its
        own, and `dispose` waits for it.

        Cancelled mid-statement, a connection is invalidated and closed without its
        rollback; on SQLite the write lock of its `BEGIN IMMEDIATE` can outlive it and
        lock out every later writer."""
        task = asyncio.ensure_future(work)
        self._uncut.add(task)
        task.add_done_callback(self._uncut.discard)
        return await asyncio.shield(task)

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (Alembic, inside this event loop)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def dispose(self) -> None:
        if self._uncut:
            await asyncio.wait(self._uncut, timeout=DISPOSE_GRACE_SECONDS)
        if self._checkpoints is not None:
            await self._checkpoints.wait()
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
