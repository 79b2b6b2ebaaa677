"""Helpers for tests: skipping (or, in CI, failing) when a server is missing; the bot in a box."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import NoReturn
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from adapters.console.session import ConsoleSession
from adapters.console.world import World
from adapters.memory import MemoryAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.commands import split_command
from bot.config import Config
from bot.events import ActionEvent, ChatRef, CommandEvent, Event, Sender, TextEvent
from bot.roles import StaffList

DEFAULT_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_or_skip(reason: str) -> NoReturn:
    """Skip a test for a missing server; in CI (CI=true) fail instead, so CI runs them all."""
    if in_ci():
        pytest.fail(f"CI=true and a required server is missing: {reason}")
    pytest.skip(reason)


def make_config(database_url: str, **overrides: object) -> Config:
    return Config.model_validate({"database": {"url": database_url}, **overrides})


async def run_script(script: str | Iterable[str], database_url: str, *,
                     now: datetime = DEFAULT_NOW, lang: str = "it", **config: object) -> str:
    """Run a terminal script in-process and return its transcript (as `console --script`)."""
    lines: list[str] = []
    session = ConsoleSession(make_config(database_url, locale=lang, **config),
                             World(out=lines.append), FakeClock(now))
    await session.start()
    try:
        for line in script.splitlines() if isinstance(script, str) else script:
            await session.run_line(line)
    finally:
        await session.stop()
    return "\n".join(lines) + "\n"


@dataclass
class Bot:
    """The bot with an in-memory adapter and a fake clock, driven event by event."""

    app: App
    adapter: MemoryAdapter
    clock: FakeClock
    admins: set[tuple[str, str]] = field(default_factory=set)
    _ids: count = field(default_factory=lambda: count(1))

    @classmethod
    async def started(cls, database_url: str, *, staff: Iterable[str] = (),
                      now: datetime = DEFAULT_NOW,
                      prepare: Callable[[App], None] | None = None, **config: object) -> Bot:
        """A running bot; `prepare(app)` runs before the start (to register test parts)."""
        adapter = MemoryAdapter()
        clock = FakeClock(now)
        app = App(make_config(database_url, **config), [adapter], clock=clock,
                  staff=StaffList({"memory": staff}), background=False)
        if prepare is not None:
            prepare(app)
        await app.start()
        return cls(app, adapter, clock)

    def event(self, user: str, chat: str, **fields: object) -> dict[str, object]:
        private = chat.startswith("dm-")
        return {
            "platform": "memory", "event_id": str(fields.pop("event_id", next(self._ids))),
            "chat": ChatRef("memory", chat, is_private=private, title=None if private else chat),
            "sender": Sender(user, user, is_chat_admin=(user, chat) in self.admins),
        }

    def message(self, user: str, chat: str, text: str, *, event_id: str | None = None) -> Event:
        """The event of `user` writing `text` in `chat`: a command, or plain text."""
        base = self.event(user, chat, **({"event_id": event_id} if event_id else {}))
        parsed = split_command(text, prefixes="/!")
        return (CommandEvent(**base, name=parsed[0], args=parsed[1]) if parsed
                else TextEvent(**base, text=text))

    async def send(self, user: str, chat: str, text: str, *, event_id: str | None = None,
                   deliver: bool = True) -> list[str]:
        """`user` writes `text` in `chat`; returns the texts the bot sent because of it."""
        return await self._handle(self.message(user, chat, text, event_id=event_id), deliver)

    async def press(self, user: str, chat: str, token: str) -> str | None:
        outcome = await self.app.dispatcher.handle(
            ActionEvent(**self.event(user, chat), token=token))
        await self.app.delivery.drain()
        return outcome.text if outcome else None

    async def _handle(self, event: Event, deliver: bool) -> list[str]:
        before = len(self.adapter.sent)
        await self.app.dispatcher.handle(event)
        if deliver:
            await self.app.delivery.drain()
        return [s.text for s in self.adapter.sent[before:]]

    @classmethod
    async def in_territory(cls, database_url: str, **options: object) -> Bot:
        """A running bot whose chat `milano` is bound to Milano by its admin giulia."""
        bot = await cls.started(database_url, **options)  # type: ignore[arg-type]
        bot.admins.add(("giulia", "milano"))
        await bot.send("giulia", "milano", "/territorio Milano")
        return bot

    async def rows(self, model: type, *where: object) -> list:
        """The rows of `model` matching `where`, read in a transaction of their own."""
        async with self.app.db.transaction() as session:
            return list(await session.scalars(select(model).where(*where)))

    async def count(self, model: type, *where: object) -> int:
        async with self.app.db.transaction() as session:
            return await session.scalar(
                select(func.count()).select_from(model).where(*where)) or 0

    async def stop(self) -> None:
        await self.app.stop()
