"""A group upgraded to a supergroup (a new chat id) stays its territory's chat."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Chat, Territory
from tests.adapters.telegram.conftest import ADA, BRUNO, TelegramBot
from tests.adapters.telegram.emulator import BotAPIEmulator

pytestmark = pytest.mark.timeout(30)

BASIC, SUPER = -4000000001, -1004000000001
BOUND = "Questa chat ora è la chat del territorio Monza. È un territorio nuovo: benvenuti!"


@pytest.fixture
async def monza(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    emu.add_chat(BASIC, "group", "Soci di Monza", creator=ADA, members=[BRUNO])
    assert [m.text for m in await tg.say(BASIC, ADA, "/territorio Monza")] == [BOUND]


async def chats(tg: TelegramBot) -> list[tuple[str, str | None, bool]]:
    async with tg.app.db.transaction() as session:
        rows = await session.execute(
            select(Chat.external_id, Territory.name, Chat.active)
            .outerjoin(Territory, Territory.id == Chat.territory_id)
            .where(Chat.external_id.in_([str(BASIC), str(SUPER)])).order_by(Chat.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_the_upgrade_moves_the_binding_to_the_supergroup(
        tg: TelegramBot, emu: BotAPIEmulator, monza: None) -> None:
    for update in emu.upgrade_group(BASIC, SUPER):  # both service messages
        await tg.settle(update)
    assert await chats(tg) == [(str(SUPER), "Monza", True)]
    [card] = await tg.say(SUPER, BRUNO, "/idea Un orto condiviso nel cortile #spazi")
    assert card.chat_id == SUPER and "Idea #1 · Monza" in card.text


async def test_a_reply_refused_by_the_old_group_goes_to_the_supergroup(
        tg: TelegramBot, emu: BotAPIEmulator, monza: None) -> None:
    """The upgrade not told yet: the old id's refusal names the new one."""
    asked = emu.inject_message(BASIC, BRUNO, "/idea Un orto condiviso nel cortile #spazi")
    emu.upgrade_group(BASIC, SUPER, announce=False)
    await tg.settle(asked)
    [card] = emu.sent_messages(SUPER)
    assert "Idea #1 · Monza" in card.text
    assert await chats(tg) == [(str(SUPER), "Monza", True)]


async def test_a_supergroup_used_before_the_upgrade_was_told_takes_over(
        tg: TelegramBot, emu: BotAPIEmulator, monza: None) -> None:
    """Someone wrote in the supergroup first: its new chat row takes the territory, and the
    old one is left inactive."""
    emu.upgrade_group(BASIC, SUPER, announce=False)
    await tg.say(SUPER, BRUNO, "/chi")
    await tg.settle(emu.inject_raw({"message": {
        "message_id": 1000, "date": 0, "from": emu.users[ADA].to_api(),
        "chat": emu.chats[SUPER].to_api(), "migrate_from_chat_id": BASIC}}))
    assert await chats(tg) == [(str(BASIC), "Monza", False), (str(SUPER), "Monza", True)]
    [card] = await tg.say(SUPER, BRUNO, "/idea Un orto condiviso nel cortile #spazi")
    assert "Idea #1 · Monza" in card.text
