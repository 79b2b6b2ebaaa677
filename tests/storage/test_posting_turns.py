"""Transactions that post messages take turns, so their messages' ids follow commit order:
delivery sends each destination's messages in id order (`storage.db.Database.transaction`;
SQLite's BEGIN IMMEDIATE, a lock of the process on PostgreSQL).

Without the turns, on PostgreSQL, a transaction that began posting later could commit
first, with a higher id, and its message would be sent before the earlier one: a SIGKILL
run saw a group's messages out of order that way.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import OutboxMessage

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def _message(text: str) -> OutboxMessage:
    return OutboxMessage(platform="test", identity_id=None, chat_id=None, payload={"t": text},
                         state="pending", attempts=0, next_attempt_at=NOW, created_at=NOW)


async def test_a_posting_transaction_waits_for_the_one_posting_before_it(db: Database) -> None:
    first_posted, second_began = asyncio.Event(), asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with db.transaction(posting=True) as session:
            session.add(_message("first"))
            await session.flush()
            first_posted.set()
            await release.wait()

    async def second() -> None:
        await first_posted.wait()
        async with db.transaction(posting=True) as session:
            second_began.set()
            session.add(_message("second"))

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_posted.wait()
    await asyncio.sleep(0.3)
    assert not second_began.is_set()  # its turn comes when the first one commits
    release.set()
    await asyncio.gather(*tasks)
    async with db.transaction() as session:
        texts = [m.payload["t"] for m in await session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]
    assert texts == ["first", "second"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_other_transactions_do_not_wait_for_a_posting_one(db: Database) -> None:
    """Reading and the adapters' own state go on meanwhile (on SQLite every transaction
    waits for the write lock)."""
    held = asyncio.Event()
    release = asyncio.Event()

    async def posting() -> None:
        async with db.transaction(posting=True):
            held.set()
            await release.wait()

    task = asyncio.create_task(posting())
    await held.wait()
    async with asyncio.timeout(5), db.transaction() as session:
        assert await session.scalar(select(OutboxMessage.id).limit(1)) is None
    release.set()
    await task
