"""What feature issues need from Telegram: native polls (sent, answered, stopped), a document
and a photo, and private messages — with a quiet, recorded fallback for someone who never
started the bot."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from telegram import Bot

from storage.models import PostedMessage
from tests.adapters.telegram.conftest import (
    ADA,
    BRUNO,
    CARLA,
    GROUP,
    ICS,
    PNG,
    STRANGER,
    TelegramBot,
)
from tests.adapters.telegram.emulator import BotAPIEmulator

pytestmark = pytest.mark.timeout(30)


async def test_a_native_poll_answered_by_two_and_stopped(tg: TelegramBot,
                                                        emu: BotAPIEmulator) -> None:
    [message] = await tg.say(GROUP, ADA, "/test_sondaggio")
    assert message.poll_id is not None
    poll = emu.polls[message.poll_id]
    assert (poll.question, poll.options) == ("Quando ci vediamo?",
                                             ["lunedì", "martedì", "mercoledì"])
    assert not poll.is_anonymous and poll.allows_multiple_answers

    await tg.settle(emu.inject_poll_answer(poll.id, BRUNO, [0, 2]))
    await tg.settle(emu.inject_poll_answer(poll.id, CARLA, [1]))
    await tg.settle(emu.inject_poll_answer(poll.id, CARLA, []))  # Carla takes hers back
    answers = [(e.sender.user_id, e.options) for e in tg.feature.poll_answers]
    assert answers == [(str(BRUNO), (0, 2)), (str(CARLA), (1,)), (str(CARLA), ())]
    first = tg.feature.poll_answers[0]
    assert (first.poll_id, first.chat.external_id) == (poll.id, str(GROUP))
    # The answer names the poll's message as the core knows it: its posted slot.
    async with tg.app.db.transaction() as session:
        posted = await session.scalar(select(PostedMessage).where(
            PostedMessage.platform_chat_id == str(GROUP),
            PostedMessage.platform_message_id == first.message_id))
    assert posted is not None and posted.slot.endswith(":sondaggio")

    assert await tg.say(GROUP, ADA, "/test_chiudi") == []
    assert poll.is_closed
    [stop] = emu.calls_of("stopPoll")
    assert (stop["chat_id"], stop["message_id"]) == (GROUP, message.message_id)
    assert [o.state for o in await tg.outbox()] == ["sent"] * 2


async def test_a_poll_answer_from_an_unknown_poll_is_ignored(tg: TelegramBot,
                                                            emu: BotAPIEmulator) -> None:
    async with Bot(emu.token, base_url=emu.base_url) as other:  # not sent by the adapter
        sent = await other.send_poll(GROUP, "?", ["a", "b"], is_anonymous=False)
    await tg.settle(emu.inject_poll_answer(sent.poll.id, BRUNO, [0]))
    assert tg.feature.poll_answers == []


async def test_a_document_and_a_photo(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    [document] = await tg.say(GROUP, ADA, "/test_file")
    assert document.document is not None
    assert (document.document.file_name, document.document.data) == ("incontro.ics", ICS)
    assert document.document.mime_type == "text/calendar"
    assert document.caption == "L'incontro nel tuo calendario"
    [photo] = await tg.say(BRUNO, BRUNO, "/test_grafico")
    assert photo.photo is not None and photo.photo.data == PNG
    assert (photo.photo.width, photo.photo.height) == (8, 6)
    assert photo.caption == "Partecipazione del mese"


async def test_private_messages_and_the_quiet_fallback(tg: TelegramBot,
                                                      emu: BotAPIEmulator) -> None:
    assert await tg.say(GROUP, BRUNO, "/test_avvisami") != []
    [private] = emu.sent_messages(BRUNO)
    assert private.text == "Un promemoria solo per te."

    sent = await tg.say(GROUP, STRANGER, "/test_avvisami")  # never started the bot: 403
    assert sent == []
    failed = (await tg.outbox("failed"))[-1]
    assert failed.identity_id is not None and failed.chat_id is None
    assert failed.last_error is not None and failed.last_error.startswith(
        "unreachable: sendMessage: Forbidden: bot can't initiate conversation")
    group = await tg.chat(GROUP)
    assert group is not None and group.active  # the group is not the one that refused
    assert await tg.outbox("pending") == []  # and it is not retried
