"""Fixtures of the feature tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import Bot


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    """The bot on SQLite and on PostgreSQL, chat `milano` bound to Milano (admin: giulia)."""
    bot = await Bot.in_territory(database_url)
    yield bot
    await bot.stop()
