"""Core statements in an ORM session (`storage.core`): part of the session's transaction
and savepoints, and they see what the session has not flushed yet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage import core
from storage.db import Database
from storage.models import Territory

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TERRITORIES = Territory.__table__
NAMES = select(TERRITORIES.c.name).order_by(TERRITORIES.c.name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.dispose()


def territory(name: str) -> dict[str, object]:
    return {"name": name, "slug": name.lower(), "timezone": "Europe/Rome", "created_at": NOW}


async def test_a_read_sees_the_sessions_pending_objects(db: Database) -> None:
    async with db.transaction() as session:
        session.add(Territory(**territory("Milano")))
        assert [row.name for row in await core.rows(session, NAMES)] == ["Milano"]


async def test_writes_follow_the_savepoint_and_the_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            assert await core.write(session, TERRITORIES.insert(), [territory("Roma")]) == 1
            raise RuntimeError("the transaction fails")
    async with db.transaction() as session:
        await core.write(session, TERRITORIES.insert(), [territory("Milano")])
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await core.write(session, TERRITORIES.insert(), [territory("Torino")])
                raise RuntimeError("the savepoint fails")
        await core.write(session, TERRITORIES.insert(), [territory("Bari"), territory("Napoli")])
    async with db.transaction() as session:
        names = [row.name for row in await core.rows(session, NAMES)]
    assert names == ["Bari", "Milano", "Napoli"]
