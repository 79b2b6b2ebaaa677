"""Delivery errors as the outbox sees them: a homeserver's rate limit becomes `RetryLater`
with the server's `retry_after_ms`; an unreachable homeserver becomes `RetryLater`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import nio
import pytest

from adapters.base import Destination, Outgoing, RetryLater
from adapters.matrix.adapter import MatrixAdapter
from bot.config import MatrixConfig
from bot.messages import Action, OutMessage, rich
from tests.adapters.matrix.harness import BotFactory, bot_events, from_bot, room_with, settle
from tests.adapters.matrix.helpers import (
    ClientFactory,
    create_room,
    start_or_skip,
    wait_for_event,
)
from tests.adapters.matrix.synapse import SynapseServer, free_port
from tests.adapters.matrix.test_adapter_messages import ENCRYPTION_STATE

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_rate_limit_is_left_to_the_outbox(tmp_path: Path) -> None:
    strict = {"rc_message": {"per_second": 0.2, "burst_count": 2}}
    server = await start_or_skip(SynapseServer(extra_config=strict))
    bots, clients = BotFactory(server, tmp_path / "bots"), ClientFactory(server, tmp_path / "c")
    try:
        bot = await bots(encryption=False)
        anna = await clients("anna")
        room_id = await create_room(anna, invite=[bot.user_id])
        await wait_for_event(anna, room_id, from_bot(bot), what="the bot's hello")
        item = Outgoing(Destination(chat_id=room_id), OutMessage(rich("ancora")))
        refused: list[RetryLater] = []
        for _ in range(4):
            try:
                await bot.adapter.deliver(item)
            except RetryLater as exc:
                refused.append(exc)
        assert refused, "the strict rate limit was never hit"
        assert refused[0].retry_after is not None and 0 < refused[0].retry_after <= 10
        assert "M_LIMIT_EXCEEDED" in str(refused[0])
    finally:
        await bots.aclose()
        await clients.aclose()
        await server.stop()


async def test_an_unreachable_homeserver_means_retry_later(
        caplog: pytest.LogCaptureFixture) -> None:
    class State:
        def __init__(self) -> None:
            self.values: dict[str, str] = {}

        async def get(self, key: str) -> str | None:
            return self.values.get(key)

        async def set(self, key: str, value: str) -> None:
            self.values[key] = value

    class Core:
        state = State()

        async def handle(self, event: object) -> None:
            return None

        def commands(self, locale: str) -> list[tuple[str, str]]:
            return []

    caplog.set_level(logging.DEBUG)
    config = MatrixConfig(enabled=True, homeserver=f"http://127.0.0.1:{free_port()}",
                          user_id="@bot:localhost", access_token="secret-token",
                          encryption=False)
    adapter = MatrixAdapter(config)
    await adapter.start(Core())  # logging in keeps failing in the background
    try:
        assert adapter.receiver is not None and adapter.client is not None
        adapter.receiver.ready.set()  # as if it had synced once before the server went away
        adapter.client.restore_login("@bot:localhost", "PIAZZABOT", "secret-token")
        item = Outgoing(Destination(chat_id="!room:localhost"), OutMessage(rich("ciao")))
        with pytest.raises(RetryLater, match="network"):
            await adapter.deliver(item)
        assert not adapter.healthy()
        for _ in range(100):  # the login loop's first failure
            if "homeserver unreachable" in caplog.text:
                break
            await asyncio.sleep(0.05)
    finally:
        await adapter.stop()
    assert "homeserver unreachable" in caplog.text
    assert "secret-token" not in caplog.text


async def test_a_long_message_is_cut_and_a_retry_sends_no_part_twice(
        matrix_client: ClientFactory, matrix_bot: BotFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.matrix.adapter as adapter_module

    bot = await matrix_bot(encryption=False)
    anna = await matrix_client("anna")
    room_id = await create_room(anna, invite=[bot.user_id])
    await wait_for_event(anna, room_id, from_bot(bot), what="the bot's hello")
    monkeypatch.setattr(adapter_module, "MAX_TEXT", 30)
    real_send = bot.adapter._send
    calls = 0

    async def second_send_fails(*args: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RetryLater("502 Bad Gateway")
        return await real_send(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.adapter, "_send", second_send_fails)
    item = Outgoing(Destination(chat_id=room_id),
                    OutMessage(rich("primo paragrafo", "secondo paragrafo", "terzo paragrafo")))
    with pytest.raises(RetryLater):
        await bot.adapter.deliver(item)
    delivered = await bot.adapter.deliver(item)
    last = await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: e.body == "terzo "
                                                        "paragrafo"))
    assert delivered.message_id == last.event_id
    await settle(anna, 0.5)
    parts = [e.body for e in bot_events(anna, room_id, bot)][1:]
    assert parts == ["primo paragrafo", "secondo paragrafo", "terzo paragrafo"]


async def test_a_resend_after_a_crash_is_the_same_event(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    """The bot killed after the homeserver took a message, before the outbox recorded it:
    the restarted bot sends the row again with the same key, and the room still holds one
    message (and its reactions once), in an encrypted room too."""
    bot = await matrix_bot()
    anna = await matrix_client("anna")
    room_id = await room_with(anna, bot, initial_state=[ENCRYPTION_STATE])
    card = OutMessage(rich("Assemblea di marzo"),
                      actions=((Action("Ci sono", "tok-yes", emoji="👍"),),))
    item = Outgoing(Destination(chat_id=room_id), card, idempotency_key="41.20261122101500")
    first = await bot.adapter.deliver(item)
    restarted = await matrix_bot.restart(bot)
    again = await restarted.adapter.deliver(item)
    other = await restarted.adapter.deliver(replace(item, idempotency_key="42.20261122101501"))
    assert again == first and other != first
    await wait_for_event(anna, room_id, from_bot(restarted, where=lambda e: (
        e.event_id == other.message_id)))
    await settle(anna, 0.5)
    cards = [e for e in bot_events(anna, room_id, restarted, nio.RoomMessageText)
             if e.body.startswith("Assemblea")]
    assert [e.event_id for e in cards] == [first.message_id, other.message_id]
    reactions = [e for e in bot_events(anna, room_id, restarted, nio.ReactionEvent)
                 if e.reacts_to == first.message_id]
    assert [e.key for e in reactions] == ["👍"]
