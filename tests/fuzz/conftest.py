"""What the fuzz modules share: an event loop of their own, kept for the whole module, so
that hypothesis's many examples drive one running bot (its fixtures are module-scoped)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
