"""Starting and stopping: a restart handles no update twice; the webhook checks its secret."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from sqlalchemy import func, select
from telegram.error import InvalidToken

from adapters.telegram.adapter import ALLOWED_UPDATES, TelegramAdapter
from adapters.telegram.polling import OFFSET_KEY
from bot.app import App
from storage.models import ProcessedEvent
from tests.adapters.telegram.conftest import ADA, BRUNO, GROUP, StartBot, TelegramBot
from tests.adapters.telegram.emulator import BotAPIEmulator
from tests.support import make_config

pytestmark = pytest.mark.timeout(30)

BOUND = "Questa chat ora è la chat del territorio Milano. È un territorio nuovo: benvenuti!"


async def stored_offset(bot: TelegramBot) -> str | None:
    return await bot.app.adapters["telegram"].poller.state.get(OFFSET_KEY)  # type: ignore[union-attr]


async def test_a_restart_does_not_handle_old_updates_again(start_bot: StartBot,
                                                           emu: BotAPIEmulator) -> None:
    first = await start_bot()
    assert first.adapter.healthy()
    handled = emu.inject_message(GROUP, ADA, "/territorio Milano")
    await first.settle(handled)
    assert await stored_offset(first) == str(handled["update_id"] + 1)
    await first.stop()
    assert not first.adapter.healthy()
    emu.redeliver(handled)  # Telegram never got the confirmation

    polls_before = len(emu.calls_of("getUpdates"))
    second = await start_bot()
    await second.settle(emu.inject_message(GROUP, BRUNO, "/chi"))
    after_restart = emu.calls_of("getUpdates")[polls_before]
    assert after_restart["offset"] == handled["update_id"] + 1  # where the first one stopped
    assert after_restart["allowed_updates"] == list(ALLOWED_UPDATES)
    texts = [m.text for m in emu.sent_messages(GROUP)]
    assert texts[0] == BOUND and texts[1].startswith("Sei Bruno") and len(texts) == 2


async def test_an_update_delivered_again_is_handled_once(start_bot: StartBot,
                                                         emu: BotAPIEmulator) -> None:
    """The safety net: the process died after handling but before storing the offset."""
    first = await start_bot()
    handled = emu.inject_message(GROUP, ADA, "/territorio Milano")
    await first.settle(handled)
    await first.adapter.poller.state.set(OFFSET_KEY, str(handled["update_id"]))  # type: ignore[union-attr]
    await first.stop()
    emu.redeliver(handled)

    second = await start_bot()
    await second.settle(handled)
    assert [m.text for m in emu.sent_messages(GROUP)] == [BOUND]
    async with second.app.db.transaction() as session:
        marks = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert marks == 1


async def test_a_wrong_token_stops_the_start(emu: BotAPIEmulator, sqlite_url: str) -> None:
    config = make_config(sqlite_url, telegram={
        "enabled": True, "token": "123:WRONG", "base_url": emu.base_url})
    app = App(config, [TelegramAdapter(config.telegram)], background=False)
    with pytest.raises(InvalidToken):
        await app.start()
    await app.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_checks_the_secret_token(start_bot: StartBot,
                                                    emu: BotAPIEmulator) -> None:
    port = free_port()
    bot = await start_bot(mode="webhook", webhook={
        "listen": "127.0.0.1", "port": port, "url": "https://bot.example.org/telegram/hook",
        "secret_token": "s3gr3t0-condiviso"})
    assert bot.adapter.healthy() and bot.adapter.poller is None
    assert emu.webhook["url"] == "https://bot.example.org/telegram/hook"
    assert emu.webhook["secret_token"] == "s3gr3t0-condiviso"
    assert emu.webhook["allowed_updates"] == list(ALLOWED_UPDATES)
    committed = asyncio.Event()  # the webhook answers before handling: wait for the commit
    on_commit = bot.app.dispatcher.on_commit

    def note_commit() -> None:
        committed.set()
        on_commit()

    bot.app.dispatcher.on_commit = note_commit

    update = emu.inject_message(GROUP, ADA, "/territorio Milano")
    url = f"http://127.0.0.1:{port}/telegram/hook"
    header = "X-Telegram-Bot-Api-Secret-Token"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=update) as response:
            assert response.status == 403  # no secret
        async with http.post(url, json=update, headers={header: "indovino"}) as response:
            assert response.status == 403  # a wrong one
        assert not committed.is_set() and await handled_events(bot) == 0
        async with http.post(url, json=update, headers={header: "s3gr3t0-condiviso"}) as response:
            assert response.status == 200

    await asyncio.wait_for(committed.wait(), timeout=5)
    assert await handled_events(bot) == 1
    await bot.app.delivery.drain()
    assert [m.text for m in emu.sent_messages(GROUP)] == [BOUND]


async def handled_events(bot: TelegramBot) -> int:
    async with bot.app.db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0
