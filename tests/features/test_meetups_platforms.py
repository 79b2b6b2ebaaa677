"""One territory, two chats on two platforms: the same meetup in both, one count of answers.

Two in-memory adapters stand for two platforms: "alpha" can write to people privately,
"beta" cannot, so a member only on beta is told with a mention in beta's chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count

import pytest

from adapters.base import Capabilities
from adapters.memory import MemoryAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.commands import split_command
from bot.events import ActionEvent, ChatRef, CommandEvent, Sender
from bot.messages import Action, Mention, Paragraph
from bot.roles import StaffList
from tests.support import DEFAULT_NOW, make_config

ALPHA_CAPS = Capabilities(buttons=True, edits=True, files=True, direct_messages=True)
BETA_CAPS = Capabilities(reactions=True, edits=True, files=True, direct_messages=False)


@dataclass
class World:
    app: App
    adapters: dict[str, MemoryAdapter]
    ids: count = field(default_factory=lambda: count(1))

    def _base(self, platform: str, user: str, chat: str, admin: bool) -> dict[str, object]:
        return {"platform": platform, "event_id": f"{platform}-{next(self.ids)}",
                "chat": ChatRef(platform, chat, title=chat),
                "sender": Sender(user, user, is_chat_admin=admin)}

    async def say(self, platform: str, user: str, chat: str, text: str,
                  admin: bool = False) -> None:
        name, args = split_command(text, prefixes="/!") or ("", "")
        await self.app.dispatcher.handle(
            CommandEvent(**self._base(platform, user, chat, admin), name=name, args=args))
        await self.app.delivery.drain()

    async def press(self, platform: str, user: str, chat: str, token: str) -> str | None:
        outcome = await self.app.dispatcher.handle(
            ActionEvent(**self._base(platform, user, chat, False), token=token))
        await self.app.delivery.drain()
        return outcome.text if outcome else None

    def card(self, platform: str, chat: str) -> tuple[str, list[Action], int]:
        """The latest card in a chat, its buttons, and how many versions were delivered."""
        versions = [s for s in self.adapters[platform].sent
                    if s.item.message.key == "meetup:1" and s.item.destination.chat_id == chat]
        latest = versions[-1].item.message
        return latest.text.plain(), [a for r in latest.actions for a in r], len(versions)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    adapters = {"alpha": MemoryAdapter(platform="alpha", capabilities=ALPHA_CAPS),
                "beta": MemoryAdapter(platform="beta", capabilities=BETA_CAPS)}
    app = App(make_config(database_url), list(adapters.values()), clock=FakeClock(DEFAULT_NOW),
              staff=StaffList({}), background=False)
    await app.start()
    world = World(app, adapters)
    await world.say("alpha", "giulia", "tg-milano", "/territorio Milano", admin=True)
    await world.say("beta", "luca", "mx-milano", "/territorio Milano", admin=True)
    await world.say("beta", "luca", "mx-milano", "/lingua en", admin=True)
    yield world
    await app.stop()


async def test_one_meetup_two_platforms_one_count(world: World) -> None:
    await world.say("alpha", "giulia", "tg-milano",
                    "/incontro Cena | sabato alle 19 | Trattoria da Mario | posti: 2")
    alpha_text, alpha_buttons, _ = world.card("alpha", "tg-milano")
    beta_text, beta_buttons, _ = world.card("beta", "mx-milano")
    assert "Ci sono (1 su 2): giulia" in alpha_text
    assert "Going (1 of 2): giulia" in beta_text  # the beta chat speaks English
    assert [b.command for b in beta_buttons] == ["/rsvp 1 yes", "/rsvp 1 maybe", "/rsvp 1 no",
                                                 "/calendar 1"]

    # answers from both platforms count together, and every card shows the same totals
    assert await world.press("beta", "luca", "mx-milano", beta_buttons[0].token) == \
        "Noted: you are going. See you there!"
    await world.press("beta", "bea", "mx-milano", beta_buttons[0].token)
    await world.press("alpha", "marco", "tg-milano", alpha_buttons[1].token)
    alpha_text, _, alpha_versions = world.card("alpha", "tg-milano")
    beta_text, _, beta_versions = world.card("beta", "mx-milano")
    assert "Ci sono (2 su 2): giulia, luca" in alpha_text
    assert "Lista d'attesa: bea" in alpha_text and "Forse: 1" in alpha_text
    assert "Going (2 of 2): giulia, luca" in beta_text
    assert "Waiting list: bea" in beta_text and "Maybe: 1" in beta_text
    assert alpha_versions == beta_versions == 4
    edits = [s.item.edit_of for s in world.adapters["beta"].sent
             if s.item.message.key == "meetup:1"]
    assert edits[0] is None and len(set(edits[1:])) == 1  # one message, edited in place

    # a button is valid only in the chat it was sent to
    assert await world.press("alpha", "marco", "tg-milano", beta_buttons[0].token) == \
        "Questo pulsante non è più valido."

    # luca withdraws: bea (only on beta, no private messages there) is mentioned in beta's chat
    before = {p: len(a.sent) for p, a in world.adapters.items()}
    await world.say("beta", "luca", "mx-milano", "/rsvp 1 no")
    beta_new = world.adapters["beta"].sent[before["beta"]:]
    notices = [s for s in beta_new if "place for" in s.text]
    assert len(notices) == 1 and notices[0].item.destination.chat_id == "mx-milano"
    first = notices[0].item.message.text.blocks[0]
    assert isinstance(first, Paragraph)
    assert first.children == (Mention("bea", "bea", "beta"),)
    alpha_new = world.adapters["alpha"].sent[before["alpha"]:]
    assert not [s for s in alpha_new if "posto" in s.text]  # nothing for alpha's chat
    assert "Ci sono (2 su 2): giulia, bea" in world.card("alpha", "tg-milano")[0]


async def test_changes_reach_people_on_each_platform(world: World) -> None:
    await world.say("alpha", "giulia", "tg-milano",
                    "/incontro Cena | sabato alle 19 | Trattoria da Mario")
    await world.say("alpha", "marco", "tg-milano", "/partecipo 1 sì")
    await world.say("beta", "bea", "mx-milano", "/rsvp 1 maybe")
    before = {p: len(a.sent) for p, a in world.adapters.items()}
    await world.say("alpha", "giulia", "tg-milano", "/annulla_incontro 1 pioggia")
    alpha_new = world.adapters["alpha"].sent[before["alpha"]:]
    beta_new = world.adapters["beta"].sent[before["beta"]:]
    private = [s for s in alpha_new if s.item.destination.user_id == "marco"]
    assert len(private) == 1 and private[0].item.message.attachment is not None
    mentioned = [s for s in beta_new if "cancelled" in s.text and "Meetup no. 1" in s.text]
    assert len(mentioned) == 1 and mentioned[0].item.message.attachment is None
    assert "Annullato: Cena" in world.card("alpha", "tg-milano")[0]
    assert "Cancelled: Cena" in world.card("beta", "mx-milano")[0]
    assert world.card("beta", "mx-milano")[1] == []  # no buttons on a cancelled meetup
