"""Polls on Telegram, end to end: the real PTB adapter against the Bot API emulator and the
real polls feature. A native non-anonymous, multiple-answer poll beside the card; answers
from Telegram, changed and taken back, counted with text votes; a deadline far past
Telegram's own 600 seconds reached after a restart and closed with stopPoll; buttons for a
yes / if need be / no poll; "Crea incontro" on the result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import Member
from storage.models.meetups import MeetupAnswer
from storage.models.polls import Poll, PollOption, PollVote
from tests.adapters.telegram.conftest import ADA, BRUNO, CARLA, GROUP, StartBot, TelegramBot
from tests.adapters.telegram.emulator import BotAPIEmulator, StoredMessage

pytestmark = pytest.mark.timeout(60)


async def started(start_bot: StartBot) -> TelegramBot:
    """The bot with the polls feature taking native answers (the shared fixture records
    them for the adapter's own tests instead)."""
    bot = await start_bot()
    registry = bot.app.services.registry
    bot.app.dispatcher.poll_answer_handler = registry.poll_answer_handler
    return bot


async def votes(bot: TelegramBot) -> dict[str, list[int]]:
    async with bot.app.db.transaction() as session:
        found = await session.execute(
            select(Member.display_name, PollOption.position)
            .join(PollVote, PollVote.member_id == Member.id)
            .join(PollOption, PollOption.id == PollVote.option_id)
            .order_by(Member.display_name, PollOption.position))
        out: dict[str, list[int]] = {}
        for name, position in found:
            out.setdefault(name, []).append(position + 1)
        return out


def card(emu: BotAPIEmulator, poll_id: int = 1) -> StoredMessage:
    return next(m for m in emu.sent_messages(GROUP)
                if m.text and m.text.startswith("📊") and f"n. {poll_id} " in m.text)


async def test_a_native_poll_answered_on_telegram_and_closed_after_a_restart(
        start_bot: StartBot, emu: BotAPIEmulator) -> None:
    tg = await started(start_bot)
    await tg.say(GROUP, ADA, "/territorio Milano")
    sent = await tg.say(GROUP, ADA, "/sondaggio Quando ci vediamo? | sabato alle 19 | "
                                    "domenica alle 18 | chiude: oggi alle 14")
    assert [m.poll_id is not None for m in sent[:2]] == [False, True]
    poll = emu.polls[sent[1].poll_id or ""]
    assert poll.question == "Quando ci vediamo?"
    assert poll.options == ["sabato 5 dicembre 2026, ore 19:00",
                            "domenica 6 dicembre 2026, ore 18:00"]
    assert not poll.is_anonymous and poll.allows_multiple_answers
    assert poll.open_period is None and poll.close_date is None  # the bot closes it

    await tg.settle(emu.inject_poll_answer(poll.id, BRUNO, [0]))
    await tg.settle(emu.inject_poll_answer(poll.id, CARLA, [0, 1]))
    await tg.settle(emu.inject_poll_answer(poll.id, BRUNO, [1]))  # changed
    await tg.settle(emu.inject_poll_answer(poll.id, CARLA, []))  # taken back
    await tg.say(GROUP, CARLA, "/vota 1 1")  # the text form counts with the native answers
    assert await votes(tg) == {"Bruno": [2], "Carla": [1]}
    text = card(emu).text or ""
    assert "1. sabato 5 dicembre 2026, ore 19:00 — 1" in text
    assert "2. domenica 6 dicembre 2026, ore 18:00 — 1" in text
    assert card(emu).edit_date is not None  # edited in place
    await tg.stop()

    tg = await started(start_bot)  # a restart, then four hours pass: well past 600 s
    assert not poll.is_closed
    await tg.app.scheduler.advance(tg.clock, timedelta(hours=4))
    await tg.settle()
    assert poll.is_closed
    [stop] = emu.calls_of("stopPoll")
    assert (stop["chat_id"], stop["message_id"]) == (GROUP, poll.message_id)
    result = emu.sent_messages(GROUP)[-1].text or ""
    assert result.startswith("🗳️ Il sondaggio n. 1 è chiuso: Quando ci vediamo?")
    assert "🤝 Parità tra" in result and "(Carla)" in result and "(Bruno)" in result
    async with tg.app.db.transaction() as session:
        [row] = list(await session.scalars(select(Poll)))
    assert row.status == "closed" and row.closed_by is None


async def test_yes_maybe_no_buttons_and_a_meetup_from_the_result(
        start_bot: StartBot, emu: BotAPIEmulator) -> None:
    tg = await started(start_bot)
    await tg.say(GROUP, ADA, "/territorio Milano")
    await tg.say(GROUP, ADA, "/sondaggio Cena? | sabato 12 dicembre alle 20 | "
                             "domenica 13 dicembre alle 13 | modo: sì-forse-no | "
                             "luogo: Trattoria da Mario")
    assert not emu.polls  # not a native poll: three answers per option
    message = card(emu)
    keyboard = (message.reply_markup or {})["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["1 ✅", "1 🤔", "1 ❌"],
                                                              ["2 ✅", "2 🤔", "2 ❌"]]
    saturday = "sabato 12 dicembre 2026, ore 20:00"
    yes, maybe = keyboard[0][0]["callback_data"], keyboard[0][1]["callback_data"]
    assert await tg.press(GROUP, BRUNO, message.message_id, yes) == f"{saturday}: sì"
    assert await tg.press(GROUP, CARLA, message.message_id, maybe) == f"{saturday}: forse"
    assert "1. sabato 12 dicembre 2026, ore 20:00 — ✅ 1 · 🤔 1 · ❌ 0" in (card(emu).text or "")
    await tg.say(GROUP, ADA, "/chiudi 1")
    result = emu.sent_messages(GROUP)[-1]
    assert "🏆 Vince sabato 12 dicembre 2026, ore 20:00" in (result.text or "")
    [[create]] = (result.reply_markup or {})["inline_keyboard"]
    assert create["text"] == "📅 Crea incontro"
    assert await tg.press(GROUP, BRUNO, result.message_id, create["callback_data"]) == (
        "Solo i facilitatori di Milano possono creare un incontro da un sondaggio.")
    assert await tg.press(GROUP, ADA, result.message_id, create["callback_data"]) == (
        "L'incontro n. 1 è in programma.")
    async with tg.app.db.transaction() as session:
        answers = dict((await session.execute(
            select(Member.display_name, MeetupAnswer.answer)
            .join(MeetupAnswer, MeetupAnswer.member_id == Member.id))).all())
    assert answers == {"Ada": "going", "Bruno": "maybe"}
    # Bruno started the bot: the invitation to confirm reached him privately.
    private = emu.sent_messages(BRUNO)
    assert "ti ho segnato come «forse»" in (private[-1].text or "")
