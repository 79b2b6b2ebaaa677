"""Shared fixtures: databases (SQLite and PostgreSQL), the bot with an in-memory adapter.

PostgreSQL is expected at 127.0.0.1:5432 (database `test`, user `postgres`), or wherever
$PIAZZABOT_TEST_PG says; each test gets a database of its own, dropped afterwards. Without
a server the PostgreSQL cases skip — except with CI=true, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from storage.db import Database
from tests.support import require_or_skip

PG_ADMIN = os.environ.get("PIAZZABOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_connect() -> asyncpg.Connection:
    return await asyncpg.connect(PG_ADMIN, timeout=5)


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a fresh PostgreSQL database of its own, dropped on leaving."""
    try:
        admin = await _pg_connect()
    except Exception as exc:
        require_or_skip(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")
    name = f"pzb_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/test.db"


async def _upgraded(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A `Database` on `database_url` (both databases), its schema made by the migrations."""
    async for database in _upgraded(database_url):
        yield database


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    """The same on SQLite only."""
    async for database in _upgraded(sqlite_url):
        yield database


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if the bot said anything in Italian that has no Italian translation."""
    from bot.i18n import MISSING

    MISSING.discard(("it", "test"))  # the summary of commands that tests register for themselves
    if MISSING and exitstatus == 0:
        lines = "\n".join(f"  [{locale}] {msgid!r}" for locale, msgid in sorted(MISSING))
        print(f"\nUntranslated strings were shown to members:\n{lines}")
        session.exitstatus = 1
