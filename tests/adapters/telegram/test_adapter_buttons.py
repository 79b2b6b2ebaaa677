"""Buttons: every press answered with a toast; the effect edited into the same message; a
forged, expired or foreign button refused with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram import Bot

from tests.adapters.telegram.conftest import (
    ADA,
    BRUNO,
    CARLA,
    FORUM,
    GROUP,
    OTHER_GROUP,
    TOPIC,
    TelegramBot,
)
from tests.adapters.telegram.emulator import BotAPIEmulator, StoredMessage

pytestmark = pytest.mark.timeout(30)

INVALID = "Questo pulsante non è più valido."


def button(message: StoredMessage) -> str:
    [[only]] = message.reply_markup["inline_keyboard"] if message.reply_markup else [[{}]]
    assert only["text"] == "+1"
    return only["callback_data"]


async def test_a_press_is_answered_and_edited_in_place(tg: TelegramBot,
                                                      emu: BotAPIEmulator) -> None:
    [card] = await tg.say(GROUP, ADA, "/test_conta")
    assert card.text == "Conteggio: 0"
    data = button(card)
    assert len(data.encode()) <= 64
    assert await tg.press(GROUP, BRUNO, card.message_id, data) == "Contato!"
    assert await tg.press(GROUP, CARLA, card.message_id, data) == "Contato!"
    current = emu.messages[card.key]
    assert current.text == "Conteggio: 2" and current.edit_date is not None
    assert button(current) == data  # the same token on the edited card
    assert len(emu.sent_messages(GROUP)) == 1  # edited, never posted again
    assert len(emu.calls_of("editMessageText")) == 2
    assert all(answer["show_alert"] is False for answer in emu.callback_answers)


async def test_a_press_in_a_forum_topic_edits_the_card_there(tg: TelegramBot,
                                                             emu: BotAPIEmulator) -> None:
    [card] = await tg.say(FORUM, ADA, "/test_conta", thread_id=TOPIC)
    assert card.thread_id == TOPIC
    assert await tg.press(FORUM, BRUNO, card.message_id, button(card)) == "Contato!"
    assert emu.messages[card.key].text == "Conteggio: 1"
    assert len(emu.sent_messages(FORUM)) == 1


async def test_forged_data_is_refused_and_changes_nothing(tg: TelegramBot,
                                                          emu: BotAPIEmulator) -> None:
    [card] = await tg.say(GROUP, ADA, "/test_conta")
    for forged in ("forged-token", "x" * 64, "'; DROP TABLE outbox; --", "🎉"):
        assert await tg.press(GROUP, BRUNO, card.message_id, forged) == INVALID
    assert tg.feature.counts == {}
    unchanged = emu.messages[card.key]
    assert (unchanged.text, unchanged.edit_date) == ("Conteggio: 0", None)
    assert emu.calls_of("editMessageText") == []


async def test_an_expired_button_is_refused(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    [card] = await tg.say(GROUP, ADA, "/test_conta breve")
    tg.clock.advance(timedelta(minutes=6))
    assert await tg.press(GROUP, BRUNO, card.message_id, button(card)) == INVALID
    assert tg.feature.counts == {}
    assert emu.messages[card.key].edit_date is None


async def test_a_button_from_another_chat_is_refused(tg: TelegramBot,
                                                     emu: BotAPIEmulator) -> None:
    [there] = await tg.say(OTHER_GROUP, ADA, "/test_conta")
    [here] = await tg.say(GROUP, ADA, "/test_conta")
    # The data of Rome's button pressed under Milan's card (a forged press, or a copy).
    assert await tg.press(GROUP, BRUNO, here.message_id, button(there)) == INVALID
    assert tg.feature.counts == {}
    assert emu.calls_of("editMessageText") == []


async def test_a_press_in_english(tg: TelegramBot) -> None:
    await tg.say(GROUP, ADA, "/lingua en")
    [card] = await tg.say(GROUP, ADA, "/test_conta")
    assert await tg.press(GROUP, BRUNO, card.message_id, "nope") == (
        "This button is no longer valid.")


async def test_a_deleted_card_is_posted_again(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    [card] = await tg.say(GROUP, ADA, "/test_conta")
    async with Bot(emu.token, base_url=emu.base_url) as admin:
        await admin.delete_message(GROUP, card.message_id)  # an administrator removed it
    [again] = await tg.say(GROUP, ADA, "/test_conta")  # its next version cannot be an edit
    assert again.text == "Conteggio: 0" and again.message_id != card.message_id
    assert await tg.press(GROUP, CARLA, again.message_id, button(again)) == "Contato!"
    assert emu.messages[again.key].text == "Conteggio: 1"
    assert len(emu.sent_messages(GROUP)) == 1


async def test_updates_fetched_together_are_handled_together(
        tg: TelegramBot, emu: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """One getUpdates answer goes to the core as one batch (one transaction); each press
    still gets its own toast, and a forged one its refusal."""
    [card] = await tg.say(GROUP, ADA, "/test_conta")
    batches: list[int] = []
    handle_many = tg.app.dispatcher.handle_many

    async def counted(events: list) -> list:
        batches.append(len(events))
        return await handle_many(events)

    monkeypatch.setattr(tg.app.dispatcher, "handle_many", counted)
    before = len(emu.callback_answers)
    emu.inject_callback(GROUP, BRUNO, card.message_id, button(card))
    emu.inject_callback(GROUP, CARLA, card.message_id, "forged")
    emu.inject_message(GROUP, CARLA, "/chi")
    await tg.settle(emu.inject_callback(GROUP, CARLA, card.message_id, button(card)))
    assert batches == [4]
    answers = sorted(a.get("text") for a in emu.callback_answers[before:])
    assert answers == sorted(["Contato!", INVALID, "Contato!"])
    assert emu.messages[card.key].text == "Conteggio: 2"
    assert emu.sent_messages(GROUP)[-1].text.startswith("Sei Carla")
