"""The meetup card and the idea card on Telegram, end to end: the real features, the real PTB
adapter against the Bot API emulator. A card arrives with its inline keyboard; a press is
answered with a toast and edits the same message in place; the meetup's "Calendario" sends
the .ics privately; the author of an idea cannot support it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.adapters.crossplatform import keyboard, labels
from tests.adapters.telegram.conftest import ADA, BRUNO, CARLA, GROUP, TelegramBot
from tests.adapters.telegram.emulator import BotAPIEmulator, StoredMessage

pytestmark = pytest.mark.timeout(30)


async def card_in_milano(tg: TelegramBot, user: int, command: str, start: str) -> StoredMessage:
    """Ada binds the group to Milano; `user` sends `command`; the card (the message starting
    with `start`) it brings."""
    await tg.say(GROUP, ADA, "/territorio Milano")
    sent = await tg.say(GROUP, user, command)
    [card] = [m for m in sent if (m.text or "").startswith(start)]
    return card


async def press(tg: TelegramBot, user: int, card: StoredMessage, label: str) -> str | None:
    """`user` presses the button `label` under `card`; the toast."""
    return await tg.press(GROUP, user, card.message_id, keyboard(card)[label])


def edits_of(emu: BotAPIEmulator, card: StoredMessage) -> list[dict[str, object]]:
    return [call for call in emu.calls_of("editMessageText")
            if (call["chat_id"], call["message_id"]) == card.key]


async def test_a_meetup_card_answered_with_a_button_and_its_calendar_sent_privately(
        tg: TelegramBot, emu: BotAPIEmulator) -> None:
    card = await card_in_milano(tg, ADA, "/incontro Cena sociale | sabato alle 19 | "
                                         "Trattoria da Mario", "📅 Cena sociale")
    assert labels(card) == [["Ci sono", "Forse", "Non vengo", "Calendario"]]
    assert "sabato 5 dicembre 2026, ore 19:00" in (card.text or "")
    assert "Ci sono (1): Ada" in (card.text or "")  # the organiser goes
    in_group = len(emu.sent_messages(GROUP))

    assert await press(tg, BRUNO, card, "Ci sono") == "Segnato: ci sei. Ci vediamo lì!"
    shown = emu.messages[card.key]
    assert "Ci sono (2): Ada, Bruno" in (shown.text or "") and shown.edit_date is not None
    assert labels(shown) == labels(card)
    assert await press(tg, CARLA, card, "Forse") == "Segnato: forse."
    assert "Forse: 1 · Non vengono: 0" in (emu.messages[card.key].text or "")
    assert len(edits_of(emu, card)) == 2  # each answer edited the same message
    assert len(emu.sent_messages(GROUP)) == in_group  # nothing new in the group

    assert await press(tg, BRUNO, card, "Calendario") == (
        "Ti ho mandato il file del calendario in privato.")
    assert len(emu.sent_messages(GROUP)) == in_group  # the file did not go to the group
    [document] = [m for m in emu.sent_messages(BRUNO) if m.document is not None]
    [call] = emu.calls_of("sendDocument")
    assert call["chat_id"] == BRUNO
    assert document.document is not None
    assert document.document.mime_type == "text/calendar"
    assert document.document.file_name.endswith(".ics")
    [event] = Calendar.from_ical(document.document.data).walk("VEVENT")
    assert str(event["summary"]) == "Cena sociale"
    assert str(event["location"]) == "Trattoria da Mario"
    assert event.decoded("dtstart") == datetime(2026, 12, 5, 19, 0,
                                                tzinfo=ZoneInfo("Europe/Rome"))


async def test_an_idea_card_supported_with_a_button_but_not_by_its_author(
        tg: TelegramBot, emu: BotAPIEmulator) -> None:
    card = await card_in_milano(tg, BRUNO, "/idea Creare uno spazio di coworking per i soci "
                                           "#spazi", "💡 Idea #1 · Milano")
    assert labels(card) == [["Sostengo 👍", "Ritiro il sostegno"]]
    assert "di Bruno · #spazi" in (card.text or "")
    assert "Stato: nuova · 0 sostenitori" in (card.text or "")

    assert await press(tg, CARLA, card, "Sostengo 👍") == "Grazie: sostieni l'idea #1."
    supported = emu.messages[card.key]
    assert "Stato: nuova · 1 sostenitore" in (supported.text or "")
    assert supported.edit_date is not None and len(edits_of(emu, card)) == 1

    assert await press(tg, BRUNO, card, "Sostengo 👍") == "Non puoi sostenere una tua idea."
    assert emu.messages[card.key].text == supported.text
    assert len(edits_of(emu, card)) == 1  # refused: nothing edited

    assert await press(tg, CARLA, card, "Ritiro il sostegno") == "Non sostieni più l'idea #1."
    assert "Stato: nuova · 0 sostenitori" in (emu.messages[card.key].text or "")
    assert len(emu.sent_messages(GROUP)) == 2  # the binding's answer and the card, edited
