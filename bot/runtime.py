"""What `piazzabot run` sets up: the adapters enabled in the configuration, the digest's
chart library, and the heap."""

from __future__ import annotations

import asyncio
import gc

from sqlalchemy import exists, select

from adapters.base import Adapter
from bot.config import Config
from bot.digests import chart
from storage.db import Database
from storage.models import Chat


def build_adapters(config: Config) -> list[Adapter]:
    """The adapters enabled in the configuration (platform libraries imported only then)."""
    adapters: list[Adapter] = []
    if config.console.enabled:
        from adapters.console.adapter import ConsoleAdapter
        from adapters.console.world import World

        adapters.append(ConsoleAdapter(World()))
    if config.telegram.enabled:
        from adapters.telegram.adapter import TelegramAdapter

        adapters.append(TelegramAdapter(config.telegram, default_locale=config.locale))
    if config.matrix.enabled:
        from adapters.matrix.adapter import MatrixAdapter

        adapters.append(MatrixAdapter(config.matrix, default_locale=config.locale))
    return adapters


async def prepare_digest_chart(db: Database) -> bool:
    """Load the chart library now, before the heap is frozen, if a staff chat will get the
    weekly digest's chart: whether it did.

    Loaded on the first weekly staff digest instead, it would make that digest pay about
    0.6 s for it, and its objects (some 40 MB) would be walked by the collector's full passes
    ever after. A bot without staff chats, or without the `charts` extra, loads nothing."""
    if not chart.available():
        return False
    async with db.transaction() as session:
        if not await session.scalar(select(exists().where(Chat.kind == "staff", Chat.active))):
            return False
    await asyncio.to_thread(chart.prepare)
    return True


# Container objects allocated (net) between two passes over the young generation; Python's
# default is 700. Serving a batch of commands makes tens of thousands of short-lived
# objects (rows, events, message trees): at 700 the collector runs in the middle of every
# command, and what it finds alive there (the batch's session, its objects) is promoted and
# walked again by the older generations' passes, the full ones included.
YOUNG_GENERATION = 10_000


def tune_collector() -> None:
    """Exempt what start-up made from the cycle collector, and let it run less often.

    Libraries' tables (dateparser's, Babel's), catalogs and compiled statements live as long
    as the process, yet every full pass walked them all again: about 120 ms each, 6 % of
    the CPU while serving commands (bench/README.md). Garbage is collected first, so none
    of it is kept; `gc.freeze` is CPython's tool for exactly this. Then the young
    generation's threshold is raised (`YOUNG_GENERATION`): the collector's share of the CPU
    while serving falls from about 6 % to under 2 % (`bench/throughput.py`), and full
    passes, the longest pauses (50 ms), become rare: none in 3,000 commands, where there
    were three."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
