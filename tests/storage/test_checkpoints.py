"""SQLite's WAL checkpoints run in a worker thread (`storage.checkpoints`), not in the
commits of the event loop's thread, and what is committed still reaches the database file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage import checkpoints
from storage.db import Database
from storage.models import Territory

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def in_database_file(path: Path) -> list[str]:
    """The territories the database file itself holds, leaving the log aside
    (`immutable=1` reads the file as it is). None yet where the table is not there, or
    where a checkpoint was writing the file as it was read."""
    with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as connection:
        try:
            return [name for (name,) in connection.execute("SELECT name FROM territories")]
        except sqlite3.DatabaseError:
            return []


async def test_committed_pages_reach_the_file_from_a_worker_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "EVERY", 0.0)
    threads: list[int] = []
    checkpoint = checkpoints.Checkpoints._checkpoint

    def watched(self: checkpoints.Checkpoints) -> None:
        threads.append(threading.get_ident())
        checkpoint(self)

    monkeypatch.setattr(checkpoints.Checkpoints, "_checkpoint", watched)
    path = tmp_path / "bot.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    async with db.transaction() as session:
        assert await session.scalar(text("PRAGMA wal_autocheckpoint")) == (
            checkpoints.BACKSTOP_PAGES)
        session.add(Territory(name="Bologna", slug="bologna", timezone="Europe/Rome",
                              created_at=NOW))
    for _ in range(100):  # each commit starts a checkpoint unless one is under way
        if in_database_file(path) == ["Bologna"]:
            break
        async with db.transaction():
            pass
        await asyncio.sleep(0.01)
    await db.dispose()
    assert in_database_file(path) == ["Bologna"]
    assert threads and threading.get_ident() not in threads


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:",
                                 "sqlite+aiosqlite:///file:x.db?mode=ro&uri=true"])
def test_only_a_database_file_is_checkpointed(url: str) -> None:
    assert checkpoints.database_file(make_url(url)) is None
    assert checkpoints.database_file(make_url("sqlite+aiosqlite:///data/bot.db")) == "data/bot.db"
