"""Writes of concurrent tasks share a commit (`storage.shared_writes`), and each caller
returns only once its own write is committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, event, text

from storage.db import Database
from storage.shared_writes import SharedWrites, Write


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.run(lambda conn: conn.execute(text("CREATE TABLE marks (n INTEGER)")))
    yield database
    await database.dispose()


def insert(n: int) -> Write:
    def write(conn: Connection) -> None:
        conn.execute(text("INSERT INTO marks VALUES (:n)"), {"n": n})
    return write


async def marks(db: Database) -> list[int]:
    return await db.run(lambda conn: list(conn.scalars(text("SELECT n FROM marks ORDER BY n"))))


async def test_writes_that_arrive_together_share_a_commit(db: Database) -> None:
    writes = SharedWrites(db)
    began: list[int] = []
    event.listen(db.engine.sync_engine, "begin", lambda _conn: began.append(1))
    committed: list[int] = []

    async def mark(n: int) -> None:
        await writes.run(insert(n))
        committed.extend(await marks(db))  # visible as soon as the caller returns
        assert n in committed

    await asyncio.gather(*(mark(n) for n in range(10)))
    assert len(began) == 1 + 10  # the ten writes in one transaction; each caller's read
    assert await marks(db) == list(range(10))


async def test_a_failed_commit_fails_each_write_in_it_and_not_the_next(db: Database) -> None:
    writes = SharedWrites(db)

    def broken(conn: Connection) -> None:
        conn.execute(text("INSERT INTO no_such_table VALUES (1)"))

    await writes.run(insert(1))
    results = await asyncio.gather(writes.run(broken), writes.run(insert(2)),
                                   return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    assert await marks(db) == [1]  # 2 shared the failed transaction
    await writes.run(insert(3))
    assert await marks(db) == [1, 3]


async def test_a_cancelled_caller_still_has_its_write_committed(db: Database) -> None:
    writes = SharedWrites(db)
    caller = asyncio.create_task(writes.run(insert(7)))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await writes.run(insert(8))
    assert await marks(db) == [7, 8]
