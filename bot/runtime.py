"""Which adapters `piazzabot run` starts: those enabled in the configuration."""

from __future__ import annotations

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
