"""One territory with chats on two platforms shares one list of ideas: the card is in both
chats, edited in both, and supports from either count together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count

import pytest
from sqlalchemy import func, select

from adapters.memory import MemoryAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.events import ActionEvent, ChatRef, CommandEvent, Event, Sender
from bot.messages import Action
from bot.roles import StaffList
from storage.models.ideas import IdeaSupport
from tests.support import DEFAULT_NOW, make_config


@dataclass
class TwoPlatforms:
    app: App
    adapters: dict[str, MemoryAdapter]
    _ids: count = field(default_factory=lambda: count(1))

    def base(self, platform: str, user: str, chat: str, admin: bool) -> dict[str, object]:
        private = chat.startswith("dm-")
        return {"platform": platform, "event_id": str(next(self._ids)),
                "chat": ChatRef(platform, chat, is_private=private, title=chat),
                "sender": Sender(user, user, is_chat_admin=admin)}

    async def handle(self, event: Event) -> str | None:
        outcome = await self.app.dispatcher.handle(event)
        await self.app.delivery.drain()
        return outcome.text if outcome else None

    async def send(self, platform: str, user: str, chat: str, text: str, *,
                   admin: bool = False) -> None:
        name, _, args = text[1:].partition(" ")
        await self.handle(CommandEvent(**self.base(platform, user, chat, admin), name=name,
                                       args=args))

    async def press(self, platform: str, user: str, chat: str, token: str) -> str | None:
        return await self.handle(ActionEvent(**self.base(platform, user, chat, False),
                                             token=token))

    async def react(self, platform: str, user: str, chat: str, message_id: str,
                    undo: bool = False) -> str | None:
        return await self.handle(ActionEvent(**self.base(platform, user, chat, False),
                                             message_id=message_id, key="👍", undo=undo))

    def card(self, platform: str, idea: int) -> tuple[str, list[Action], str, int]:
        """The latest card of an idea on a platform: text, actions, message id, versions."""
        versions = [s for s in self.adapters[platform].sent
                    if s.item.message.key == f"idea:{idea}"]
        latest = versions[-1]
        actions = [a for row in latest.item.message.actions for a in row]
        return latest.text, actions, latest.message_id, len(versions)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[TwoPlatforms]:
    adapters = {p: MemoryAdapter(platform=p) for p in ("memory", "memory2")}
    app = App(make_config(database_url), list(adapters.values()), clock=FakeClock(DEFAULT_NOW),
              staff=StaffList({}), background=False)
    await app.start()
    world = TwoPlatforms(app, adapters)
    await world.send("memory", "giulia", "milano-tg", "/territorio Milano", admin=True)
    await world.send("memory2", "anna", "milano-mx", "/territorio Milano", admin=True)
    yield world
    await app.stop()


async def test_supports_from_two_platforms_count_together(world: TwoPlatforms) -> None:
    await world.send("memory", "marco", "milano-tg",
                     "/idea Creare uno spazio di coworking a Milano per i soci #spazi")
    text, [support_tg, _], _, _ = world.card("memory", 1)
    text_mx, [support_mx, _], message_mx, _ = world.card("memory2", 1)
    assert text == text_mx and text.startswith("💡 Idea #1 · Milano")
    assert support_tg.token != support_mx.token  # each chat has its own token

    assert await world.press("memory", "luca", "milano-tg", support_tg.token) == (
        "Grazie: sostieni l'idea #1.")
    assert await world.react("memory2", "sara", "milano-mx", message_mx) == (
        "Grazie: sostieni l'idea #1.")
    await world.send("memory2", "paolo", "milano-mx", "/sostengo 1")
    for platform in ("memory", "memory2"):
        text, _, _, versions = world.card(platform, 1)
        assert "Stato: nuova · 3 sostenitori" in text
        assert versions == 4  # posted once, then edited for each support

    # a token of one chat does not work in the other
    assert await world.press("memory2", "luca", "milano-mx", support_tg.token) == (
        "Questo pulsante non è più valido.")
    assert await world.react("memory2", "sara", "milano-mx", message_mx, undo=True) == (
        "Non sostieni più l'idea #1.")
    assert "Stato: nuova · 2 sostenitori" in world.card("memory", 1)[0]
    async with world.app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(IdeaSupport)) == 2


async def test_one_list_and_one_similarity_check_for_the_territory(world: TwoPlatforms) -> None:
    await world.send("memory", "marco", "milano-tg",
                     "/idea Creare uno spazio di coworking a Milano per i soci")
    await world.send("memory2", "sara", "milano-mx",
                     "/idea Uno spazio coworking per i soci di Milano")
    assert world.adapters["memory2"].texts("milano-mx")[-1].startswith("Somiglia all'idea #1")
    await world.send("memory2", "sara", "milano-mx", "/idee")
    assert world.adapters["memory2"].texts("milano-mx")[-1].startswith(
        "Idee di Milano, prima le più sostenute")
