"""The command list Telegram clients show (setMyCommands), in Italian and in English.

Registered for `language_code` it and en, and without a language (users of any other
language) in the bot's default language.
"""

from __future__ import annotations

import logging
import re

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from adapters.base import CoreHandle

log = logging.getLogger(__name__)

LANGUAGES = ("it", "en")
MAX_COMMANDS = 100
MAX_DESCRIPTION = 256
_NAME = re.compile(r"[a-z0-9_]{1,32}")


def bot_commands(menu: list[tuple[str, str]]) -> list[BotCommand]:
    """Telegram's form: names [a-z0-9_]{1,32}, descriptions 1–256 characters, 100 at most."""
    commands = []
    for name, description in menu:
        text = " ".join(description.split())
        if _NAME.fullmatch(name) and text:
            commands.append(BotCommand(name, text[:MAX_DESCRIPTION]))
    return commands[:MAX_COMMANDS]


async def register_commands(bot: Bot, core: CoreHandle, default_locale: str) -> None:
    """Set the menus; a failure is logged and the bot runs on (the menu is a convenience)."""
    targets = [(None, default_locale), *((code, code) for code in LANGUAGES)]
    for language_code, locale in targets:
        try:
            await bot.set_my_commands(bot_commands(core.commands(locale)),
                                      language_code=language_code)
        except TelegramError as exc:
            log.warning("setMyCommands (%s) failed: %s", language_code or "default", exc.message)
