"""PostgreSQL connections are pinged before use only after waiting in the pool a while: a
busy bot's checkouts cost no round trips, and a connection the server dropped meanwhile (a
restart) is replaced before a transaction would fail on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from storage import db as storage_db
from storage.db import Database
from tests.conftest import PG_ADMIN

# SQLite's connections are files: nothing to ping.
pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
async def postgres(database_url: str) -> AsyncIterator[tuple[Database, list[object]]]:
    """A PostgreSQL `Database`, and the list of connections its dialect pinged."""
    db = Database(database_url)
    pinged: list[object] = []
    dialect = db.engine.sync_engine.dialect
    do_ping = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pinged.append(dbapi_connection)
        return do_ping(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    yield db, pinged
    await db.dispose()


async def backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")))


async def test_a_busy_pool_is_not_pinged(postgres: tuple[Database, list[object]]) -> None:
    db, pinged = postgres
    first = await backend_pid(db)
    for _ in range(20):
        assert await backend_pid(db) == first  # the same pooled connection, every time
    assert pinged == []


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
        postgres: tuple[Database, list[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    db, pinged = postgres
    dropped = await backend_pid(db)
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", dropped)
    finally:
        await admin.close()
    monkeypatch.setattr(storage_db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has waited long enough

    replacement = await backend_pid(db)  # no error: the ping found it gone
    assert replacement != dropped
    assert len(pinged) == 1
