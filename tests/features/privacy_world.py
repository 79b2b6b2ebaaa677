"""The bot on one or more in-memory platforms at once, for the privacy tests: who said what
where, what each person received privately, and what the database holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from sqlalchemy import func, select

from adapters.base import Capabilities
from adapters.memory import MemoryAdapter, Sent
from bot.app import App
from bot.clock import FakeClock
from bot.commands import split_command
from bot.events import ActionEvent, ChatRef, CommandEvent, Event, Sender, TextEvent
from bot.messages import Action
from bot.roles import StaffList
from tests.support import DEFAULT_NOW, make_config


@dataclass
class World:
    app: App
    clock: FakeClock
    adapters: dict[str, MemoryAdapter]
    _ids: count = field(default_factory=lambda: count(1))

    @classmethod
    async def started(cls, database_url: str, platforms: Iterable[str] = ("memory",), *,
                      caps: dict[str, Capabilities] | None = None) -> World:
        adapters = {}
        for platform in platforms:
            adapter = MemoryAdapter(platform=platform)
            if caps and platform in caps:
                adapter.capabilities = caps[platform]
            adapters[platform] = adapter
        clock = FakeClock(DEFAULT_NOW)
        app = App(make_config(database_url), list(adapters.values()), clock=clock,
                  staff=StaffList({}), background=False)
        await app.start()
        return cls(app, clock, adapters)

    def _base(self, platform: str, user: str, chat: str, admin: bool) -> dict[str, Any]:
        private = chat.startswith("dm-")
        return {"platform": platform, "event_id": f"e{next(self._ids)}",
                "chat": ChatRef(platform, chat, is_private=private,
                                title=None if private else chat),
                "sender": Sender(user, user, is_chat_admin=admin)}

    async def _handle(self, event: Event) -> tuple[str | None, list[Sent]]:
        before = {p: len(a.sent) for p, a in self.adapters.items()}
        outcome = await self.app.dispatcher.handle(event)
        await self.app.delivery.drain()
        new = [s for p, a in self.adapters.items() for s in a.sent[before[p]:]]
        return (outcome.text if outcome else None), new

    async def send(self, platform: str, user: str, chat: str, text: str, *,
                   admin: bool = False) -> list[Sent]:
        """`user` writes `text` in `chat` on `platform`; what the bot sent because of it."""
        base = self._base(platform, user, chat, admin)
        parsed = split_command(text, prefixes="/!")
        event: Event = (CommandEvent(**base, name=parsed[0], args=parsed[1]) if parsed
                        else TextEvent(**base, text=text))
        return (await self._handle(event))[1]

    async def say(self, platform: str, user: str, chat: str, text: str, *,
                  admin: bool = False) -> list[str]:
        return [s.text for s in await self.send(platform, user, chat, text, admin=admin)]

    async def press(self, platform: str, user: str, chat: str, token: str) -> str | None:
        """`user` presses a button; the toast they see."""
        return (await self._handle(ActionEvent(**self._base(platform, user, chat, False),
                                               token=token)))[0]

    def private(self, platform: str, user: str) -> list[Sent]:
        """What `user` received as private messages (to the person) on `platform`."""
        return [s for s in self.adapters[platform].sent if s.item.destination.user_id == user]

    def latest_keyed(self, platform: str, key: str, chat: str | None = None) -> Sent:
        versions = [s for s in self.adapters[platform].sent if s.item.message.key == key
                    and (chat is None or s.item.destination.chat_id == chat)]
        return versions[-1]

    async def count(self, model: type, *where: Any) -> int:
        async with self.app.db.transaction() as session:
            return await session.scalar(
                select(func.count()).select_from(model).where(*where)) or 0

    async def rows(self, *columns: Any, where: Iterable[Any] = (),
                   group_by: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        query = select(*columns).where(*where).group_by(*group_by)
        async with self.app.db.transaction() as session:
            return [tuple(r) for r in await session.execute(query)]

    async def stop(self) -> None:
        await self.app.stop()


def buttons(sent: Sent) -> list[Action]:
    return [action for row in sent.item.message.actions for action in row]
