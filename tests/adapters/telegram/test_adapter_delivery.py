"""Delivery through Telegram's failures: flood control, a 502 burst, a group that removed
the bot, a refused message; and hostile text rendered safely."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.adapters.telegram.conftest import ADA, BRUNO, GROUP, TelegramBot
from tests.adapters.telegram.emulator import BotAPIEmulator

pytestmark = pytest.mark.timeout(30)

HOSTILE = "<b>grassetto</b> & </a> <script>x</script> *non chiuso _corsivo [link](http://x) `"


async def bound(tg: TelegramBot) -> None:
    await tg.say(GROUP, ADA, "/territorio Milano")


async def test_flood_control_waited_out_in_place(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    await bound(tg)
    emu.fail_next("sendMessage", status=429, retry_after=1)
    [reply] = await tg.say(GROUP, BRUNO, "/chi")  # PTB's rate limiter waits and retries
    assert reply.text.startswith("Sei Bruno")
    assert len(emu.calls_of("sendMessage")) == 3  # bound, refused once, sent
    assert [row.state for row in await tg.outbox()] == ["sent", "sent"]


async def test_flood_control_past_the_limiter_goes_back_to_the_outbox(
        tg: TelegramBot, emu: BotAPIEmulator) -> None:
    await bound(tg)
    emu.fail_next("sendMessage", status=429, retry_after=1, times=2, chat_id=GROUP)
    emu.inject_message(GROUP, BRUNO, "/chi")
    await tg.settle(emu.inject_message(GROUP, ADA, "/chi"))
    assert len(emu.sent_messages(GROUP)) == 1  # both wait, in order
    first, second = (await tg.outbox("pending"))
    assert first.attempts == 1 and second.attempts == 0
    assert first.next_attempt_at == tg.clock.now() + timedelta(seconds=1)  # Telegram's wait

    tg.clock.advance(timedelta(seconds=1))
    await tg.app.delivery.drain()
    await tg.app.delivery.drain()
    texts = [m.text.split(" (telegram)")[0] for m in emu.sent_messages(GROUP)[1:]]
    assert texts == ["Sei Bruno", "Sei Ada"]  # nothing lost, in order
    assert [row.state for row in await tg.outbox()] == ["sent"] * 3  # and nothing twice


async def test_a_burst_of_502_is_retried_with_backoff(tg: TelegramBot,
                                                     emu: BotAPIEmulator) -> None:
    await bound(tg)
    emu.fail_next("sendMessage", status=502, times=3, json_body=False)
    assert await tg.say(GROUP, BRUNO, "/chi") == []
    waits = []
    for _ in range(3):
        [row] = await tg.outbox("pending")
        waits.append((row.next_attempt_at - tg.clock.now()).total_seconds())
        assert row.last_error == "sendMessage: Bad Gateway (502)"
        tg.clock.advance(timedelta(seconds=waits[-1]))
        await tg.app.delivery.drain()
    assert waits == [1.0, 2.0, 4.0]
    [reply] = emu.sent_messages(GROUP)[1:]
    assert reply.text.startswith("Sei Bruno")
    assert await tg.outbox("pending") == []


async def test_a_group_that_removed_the_bot_becomes_inactive(tg: TelegramBot,
                                                            emu: BotAPIEmulator) -> None:
    await bound(tg)
    emu.kick_bot(GROUP)
    await tg.say(GROUP, BRUNO, "/chi")
    [failed] = await tg.outbox("failed")
    assert failed.last_error == (
        "unreachable: sendMessage: Forbidden: bot was kicked from the supergroup chat")
    chat = await tg.chat(GROUP)
    assert chat is not None and not chat.active


async def test_a_refused_message_is_logged_with_its_method_and_not_retried(
        tg: TelegramBot, emu: BotAPIEmulator, caplog: pytest.LogCaptureFixture) -> None:
    await bound(tg)
    emu.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    with caplog.at_level(logging.WARNING):
        assert await tg.say(GROUP, BRUNO, "/chi") == []
    assert "sendMessage refused by Telegram: Chat not found" in caplog.text
    assert "Sei Bruno" not in caplog.text  # the text itself is never logged
    [failed] = await tg.outbox("failed")
    assert failed.last_error == "rejected: sendMessage: Chat not found"
    [reply] = await tg.say(GROUP, BRUNO, "/chi")  # the next one goes
    assert reply.text.startswith("Sei Bruno")


async def test_hostile_text_is_shown_as_written(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    emu.users[BRUNO].first_name = HOSTILE[:60]
    [who] = await tg.say(GROUP, BRUNO, "/chi")
    assert who.text.startswith(f"Sei {HOSTILE[:60]} (telegram).")
    assert [e["type"] for e in who.entities] == ["bold"]  # only the bot's own markup
    [unknown] = await tg.say(GROUP, BRUNO, "/aiuto </a>&<b>")
    assert unknown.text.startswith("Non conosco il comando /</a>&<b>.")


async def test_a_text_of_5000_characters_is_split_and_kept_whole(tg: TelegramBot,
                                                                emu: BotAPIEmulator) -> None:
    sent = await tg.say(GROUP, BRUNO, f"/test_lungo {HOSTILE}")
    assert len(sent) == 2
    assert all(len(m.text) <= 4096 for m in sent)
    words = " ".join(m.text for m in sent).split()
    expected = " ".join([HOSTILE] * (len(words) // len(HOSTILE.split()))).split()
    assert words == expected and len(" ".join(words)) > 5000
    assert all(m.entities == [] for m in sent)
