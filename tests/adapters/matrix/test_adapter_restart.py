"""Restarts: the bot stopped, members write meanwhile, the bot started again — everything
is handled, and handled once; a reaction's removal is still understood; password logins
keep their device."""

from __future__ import annotations

import logging

import pytest

from adapters.matrix.sync import Receiver
from bot.app import StateStore
from tests.adapters.matrix.harness import BotFactory, bot_events, from_bot, room_with, settle
from tests.adapters.matrix.helpers import (
    ClientFactory,
    checked,
    send_event,
    send_text,
    wait_for_event,
)
from tests.adapters.matrix.test_adapter_messages import ENCRYPTION_STATE, Card

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOUND = "Questa chat ora è la chat del territorio"


async def test_messages_sent_while_the_bot_was_down_are_handled_once(
        matrix_client: ClientFactory, matrix_bot: BotFactory,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    card = Card()
    bot = await matrix_bot(password_login=True, setup=card.setup)
    device = bot.adapter.client.device_id
    anna, bruno = await matrix_client("anna"), await matrix_client("bruno")
    room_id = await room_with(anna, bot, bruno, initial_state=[ENCRYPTION_STATE])
    await send_text(anna, room_id, "!territorio Milano")
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: BOUND in e.body))
    await send_text(anna, room_id, "!provascheda")
    shown = await wait_for_event(bruno, room_id, from_bot(
        bot, where=lambda e: e.body.startswith("Assemblea")))
    reaction_id = await send_event(bruno, room_id, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": shown.event_id, "key": "❌"}})
    await bot.wait_until(lambda: len(card.pressed) == 1, "the reaction handled")
    state = StateStore(bot.app.db, "matrix")
    token_before = await state.get("sync:token")

    await matrix_bot.stop(bot)
    # While the bot is down: more than a sync's timeline holds, encrypted, and a reaction
    # taken back.
    monkeypatch.setattr(Receiver, "timeline_limit", 2)
    for name in ("Torino", "Genova", "Verona", "Padova"):
        await send_text(anna, room_id, f"!territorio {name}")
    checked(await bruno.room_redact(room_id, reaction_id))

    bot = await matrix_bot.restart(bot, setup=card.setup)
    assert bot.adapter.client.device_id == device  # the stored token was restored
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: "Padova" in e.body))
    await bot.wait_until(lambda: len(card.pressed) == 2, "the removal handled")
    assert card.pressed == [(bruno.user_id, "no", False), (bruno.user_id, "no", True)]

    # The process dies after handling but before storing the sync token: the events come
    # again, and the core skips them.
    await matrix_bot.stop(bot)
    await StateStore(bot.app.db, "matrix").set("sync:token", token_before or "")
    bot = await matrix_bot.restart(bot, setup=card.setup)
    await send_text(anna, room_id, "!chi")
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: e.body.startswith("Sei ")))
    await settle(anna)
    bound = [e.body for e in bot_events(anna, room_id, bot) if BOUND in e.body]
    assert [b.split("territorio ")[1].split(".")[0] for b in bound] == [
        "Milano", "Torino", "Genova", "Verona", "Padova"]
    assert len(card.pressed) == 2

    devices = checked(await bot.adapter.client.devices())
    assert sorted(d.id for d in devices.devices) == sorted([bot.account.device_id, device])
    stored_token = await StateStore(bot.app.db, "matrix").get("login:access_token")
    assert stored_token and stored_token == bot.adapter.client.access_token
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith("aiosqlite"))  # the CLI quiets aiosqlite
    for secret in (bot.account.password, stored_token):  # never logged
        assert secret not in logged


async def test_with_a_new_token_the_history_is_not_news(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    """A bot whose sync token was lost (or a new install on an old account) starts from
    now: rooms it is in are not replayed."""
    bot = await matrix_bot(encryption=False)
    anna = await matrix_client("anna")
    room_id = await room_with(anna, bot)
    await send_text(anna, room_id, "!chi")
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: e.body.startswith("Sei ")))
    await matrix_bot.stop(bot)
    await send_text(anna, room_id, "!aiuto")
    await StateStore(bot.app.db, "matrix").set("sync:token", "")

    bot = await matrix_bot.restart(bot)
    await send_text(anna, room_id, "!territorio Milano")
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: BOUND in e.body))
    await settle(anna, 0.5)
    said = [e.body for e in bot_events(anna, room_id, bot)]
    assert len(said) == 3  # hello, who, bound: the help asked while it was down is lost
    assert "Ciao!" in said[0] and said[1].startswith("Sei ") and BOUND in said[2]
