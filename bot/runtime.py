"""What `piazzabot run` sets up: the adapters enabled in the configuration, and the heap."""

from __future__ import annotations

import gc

from adapters.base import Adapter
from bot.config import Config


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


def freeze_startup_heap() -> None:
    """Exempt what start-up made from the cycle collector's full passes.

    Libraries' tables (dateparser's, Babel's), catalogs and compiled statements live as long
    as the process, yet every full pass walked them all again: about 120 ms each, 6 % of
    the CPU while serving commands (bench/README.md). Garbage is collected first, so none
    of it is kept; `gc.freeze` is CPython's tool for exactly this."""
    gc.collect()
    gc.freeze()
