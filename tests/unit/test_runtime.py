"""What `piazzabot run` prepares at start: the weekly digest's chart library, only where a
staff chat will get the chart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.digests import chart
from bot.runtime import prepare_digest_chart
from storage.db import Database
from storage.models import Chat

NOW = datetime(2026, 11, 22, tzinfo=UTC)


async def test_the_chart_library_is_loaded_only_for_a_staff_chat(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.upgrade()
    try:
        async with db.transaction() as session:
            session.add(Chat(platform="telegram", external_id="-100", kind="territory",
                             locale="it", created_at=NOW))
        assert await prepare_digest_chart(db) is False
        async with db.transaction() as session:
            session.add(Chat(platform="telegram", external_id="-200", kind="staff",
                             locale="it", active=False, created_at=NOW))
        assert await prepare_digest_chart(db) is False  # the bot has left it
        async with db.transaction() as session:
            session.add(Chat(platform="matrix", external_id="!staff:example.org",
                             kind="staff", locale="it", created_at=NOW))
        assert await prepare_digest_chart(db) is True
    finally:
        await db.dispose()


async def test_nothing_is_loaded_without_the_charts_extra(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart, "available", lambda: False)
    db = Database(sqlite_url)
    await db.upgrade()
    try:
        async with db.transaction() as session:
            session.add(Chat(platform="telegram", external_id="-200", kind="staff",
                             locale="it", created_at=NOW))
        assert await prepare_digest_chart(db) is False
    finally:
        await db.dispose()
