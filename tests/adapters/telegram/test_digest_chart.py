"""The digests on Telegram (the Bot API emulator), sent by the scheduler on the fake clock:
the territory's weekly digest in its group, the staff's daily digests, and on Monday the
weekly staff digest followed by its chart, sent with sendPhoto carrying the PNG the core
drew."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.messages import message_from_json
from tests.adapters.telegram.conftest import ADA, BRUNO, GROUP, STAFF, TelegramBot
from tests.adapters.telegram.emulator import BotAPIEmulator

pytestmark = pytest.mark.timeout(60)

OFFICE = -1001000000009
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_the_weekly_staff_digest_comes_with_its_chart_as_a_photo(
        tg: TelegramBot, emu: BotAPIEmulator) -> None:
    pytest.importorskip("matplotlib")
    emu.add_chat(OFFICE, "supergroup", "Sede della cooperativa", creator=STAFF)
    await tg.say(GROUP, ADA, "/territorio Milano")
    await tg.say(GROUP, BRUNO, "/idea Un orto condiviso nel cortile della sede")
    await tg.say(OFFICE, STAFF, "/staff")
    before = len(emu.sent_messages())
    # From Tuesday 1 December, 10:00 to Monday 7 December, 10:00.
    await tg.app.scheduler.advance(tg.clock, timedelta(days=6))
    await tg.app.delivery.drain()
    sent = emu.sent_messages()[before:]

    office = [m for m in sent if m.chat_id == OFFICE]
    daily = [m for m in office if m.text and m.text.startswith("Riepilogo quotidiano")]
    assert len(daily) == 1  # Wednesday's; the other days had nothing new
    assert "Milano — Idee proposte: 1 · Soci attivi: 1" in (daily[0].text or "")
    weekly, photo = office[-2:]
    assert (weekly.text or "").startswith("Riepilogo settimanale per lo staff")
    assert "<b>Territori</b>" in (weekly.html or "")
    assert photo.photo is not None and photo.document is None
    assert photo.caption == ("Soci che hanno partecipato in ogni territorio nelle ultime "
                             "8 settimane.")
    assert photo.photo.file_name == "attivita-2026-12-07.png"
    assert photo.photo.data.startswith(PNG_MAGIC) and len(photo.photo.data) < 100_000
    assert photo.photo.width > photo.photo.height > 100
    [call] = [c for c in emu.calls_of("sendPhoto") if c["chat_id"] == OFFICE]
    assert call["caption"].startswith("Soci che hanno partecipato")
    stored = [message_from_json(row.payload).attachment for row in await tg.outbox("sent")]
    [drawn] = [a for a in stored if a is not None and a.is_image]
    assert photo.photo.data == drawn.data  # the very PNG the core drew

    group = [m.text or "" for m in sent if m.chat_id == GROUP]
    assert [t.splitlines()[0] for t in group] == ["Cosa è successo a Milano"]
    assert "Un orto condiviso nel cortile della sede" in group[0]
