"""What `piazzabot run` prepares at start: the weekly digest's chart library, only where a
staff chat will get the chart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.digests import chart
from bot.runtime import prepare_digest_chart
from storage.db import Database
from storage.models import Chat

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    db = Database(sqlite_url)
    await db.upgrade()
    yield db
    await db.dispose()


async def add_chat(db: Database, external_id: str, kind: str, *, active: bool = True) -> None:
    async with db.transaction() as session:
        session.add(Chat(platform="telegram", external_id=external_id, kind=kind, locale="it",
                         active=active, created_at=NOW))


async def test_the_chart_library_is_loaded_only_for_a_staff_chat(db: Database) -> None:
    await add_chat(db, "-100", "territory")
    assert await prepare_digest_chart(db) is False
    await add_chat(db, "-200", "staff", active=False)
    assert await prepare_digest_chart(db) is False  # the bot has left it
    await add_chat(db, "-300", "staff")
    assert await prepare_digest_chart(db) is True


async def test_nothing_is_loaded_without_the_charts_extra(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart, "available", lambda: False)
    await add_chat(db, "-300", "staff")
    assert await prepare_digest_chart(db) is False
