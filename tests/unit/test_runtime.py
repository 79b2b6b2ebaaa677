"""What `piazzabot run` prepares at start: the weekly digest's chart library, only where a
staff chat will get the chart; the cycle collector, tuned for serving."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from bot.digests import chart
from bot.runtime import YOUNG_GENERATION, prepare_digest_chart, tune_collector
from storage.db import Database
from storage.models import Chat

NOW = datetime(2026, 11, 22, tzinfo=UTC)


async def add_chat(db: Database, external_id: str, kind: str, *, active: bool = True) -> None:
    async with db.transaction() as session:
        session.add(Chat(platform="telegram", external_id=external_id, kind=kind, locale="it",
                         active=active, created_at=NOW))


async def test_the_chart_library_is_loaded_only_for_a_staff_chat(sqlite_db: Database) -> None:
    await add_chat(sqlite_db, "-100", "territory")
    assert await prepare_digest_chart(sqlite_db) is False
    await add_chat(sqlite_db, "-200", "staff", active=False)
    assert await prepare_digest_chart(sqlite_db) is False  # the bot has left it
    await add_chat(sqlite_db, "-300", "staff")
    assert await prepare_digest_chart(sqlite_db) is True


async def test_nothing_is_loaded_without_the_charts_extra(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart, "available", lambda: False)
    await add_chat(sqlite_db, "-300", "staff")
    assert await prepare_digest_chart(sqlite_db) is False


def test_the_collector_skips_the_start_up_heap_and_runs_less_often() -> None:
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_GENERATION, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
