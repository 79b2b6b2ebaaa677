"""Who administers a group: getChatAdministrators, remembered for a short while.

The core counts a chat's administrators as facilitators of its territory; asking Telegram
on every message would be slow and hit its limits, so each chat's list is kept for
`ttl` seconds, and forgotten early when Telegram reports a membership change there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Bot
from telegram.error import TelegramError

log = logging.getLogger(__name__)


class AdminCache:
    def __init__(self, bot: Bot, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.bot = bot
        self.ttl = ttl
        self.clock = clock
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether `user_id` administers the group `chat_id` (False when Telegram cannot say)."""
        admins = await self.admins(chat_id)
        return user_id in admins

    async def admins(self, chat_id: int) -> frozenset[int]:
        cached = self._fresh(chat_id)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:  # one request per chat, however many messages arrive meanwhile
            cached = self._fresh(chat_id)
            if cached is not None:
                return cached
            try:
                members = await self.bot.get_chat_administrators(chat_id)
            except TelegramError as exc:
                log.info("administrators of chat %s unknown: %s", chat_id, exc.message,
                         extra={"platform": "telegram", "platform_chat_id": chat_id})
                return frozenset()
            admins = frozenset(member.user.id for member in members)
            self._admins[chat_id] = (self.clock() + self.ttl, admins)
            return admins

    def forget(self, chat_id: int) -> None:
        """Drop a chat's list (someone was promoted, demoted, or left)."""
        self._admins.pop(chat_id, None)

    def _fresh(self, chat_id: int) -> frozenset[int] | None:
        entry = self._admins.get(chat_id)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]
