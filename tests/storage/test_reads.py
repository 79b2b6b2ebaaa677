"""`Database.read` runs its statements outside any transaction: on SQLite it does not wait
for a writer's lock, on PostgreSQL it opens no transaction (no BEGIN, no ROLLBACK)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from storage import core
from storage.db import Database
from storage.models import Territory

TERRITORY_NAMES = core.Statement(select(Territory.name).order_by(Territory.id))


async def test_a_read_does_not_wait_for_a_writer(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.upgrade()
    try:
        async with db.transaction() as session:  # holds SQLite's write lock (BEGIN IMMEDIATE)
            session.add(Territory(name="Bologna", slug="bologna", timezone="Europe/Rome",
                                  created_at=datetime(2026, 11, 22, tzinfo=UTC)))
            await session.flush()
            names = await asyncio.wait_for(
                db.read(lambda conn: core.fetch(conn, TERRITORY_NAMES)), timeout=2)
            assert names == []  # the writer's row is not committed yet
        assert [row.name for row in await db.read(
            lambda conn: core.fetch(conn, TERRITORY_NAMES))] == ["Bologna"]
    finally:
        await db.dispose()


async def test_a_read_opens_no_transaction(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()

    def in_transaction(conn: Connection) -> bool:
        core.fetch(conn, TERRITORY_NAMES)
        driver = conn.connection.driver_connection
        if database_url.startswith("sqlite"):
            return bool(driver.in_transaction)  # type: ignore[union-attr]
        return bool(driver.is_in_transaction())  # type: ignore[union-attr]

    try:
        assert await db.read(in_transaction) is False
        assert await db.run(in_transaction) is True
    finally:
        await db.dispose()
