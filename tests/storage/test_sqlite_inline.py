"""SQLite runs on the event loop's thread (`storage.sqlite_inline`): waiting for the write
lock must not block the loop, and must end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import sqlite_inline
from storage.db import Database


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE counts (n INTEGER)"))
    yield database
    await database.dispose()


async def test_a_writer_waits_for_the_lock_without_blocking_the_loop(db: Database) -> None:
    holding, release = asyncio.Event(), asyncio.Event()
    ticks = 0

    async def first() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO counts VALUES (1)"))
            holding.set()
            await release.wait()  # the write lock is held across this await

    async def second() -> None:
        await holding.wait()
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO counts VALUES (2)"))

    async def clock() -> None:
        nonlocal ticks
        await holding.wait()
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1
        release.set()

    await asyncio.wait_for(asyncio.gather(first(), second(), clock()), timeout=10)
    assert ticks == 10  # the loop ran while the second writer waited
    async with db.transaction() as session:
        assert list(await session.scalars(text("SELECT n FROM counts ORDER BY rowid"))) == [1, 2]


async def test_a_lock_held_too_long_is_an_error_not_a_hang(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT_SECONDS", 0.2)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO counts VALUES (1)"))
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(OperationalError, match="locked"):
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO counts VALUES (2)"))
    release.set()
    await holder
    async with db.transaction() as session:
        assert list(await session.scalars(text("SELECT n FROM counts"))) == [1]
