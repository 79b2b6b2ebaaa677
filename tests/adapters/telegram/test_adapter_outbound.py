"""One outgoing item at a time, through the real PTB `Bot` and the emulator, without the
core: long texts, buttons, replies, edits, polls, and a failure half-way through a text
that takes several messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from adapters.base import Destination, Outgoing, Rejected, RetryLater
from adapters.telegram.outbound import Outbound
from adapters.telegram.poll_memory import PollMemory, SentPoll
from bot.messages import Action, OutMessage, PollSpec, rich
from tests.adapters.telegram.conftest import ADA, FORUM, GROUP, TOKEN, TOPIC
from tests.adapters.telegram.emulator import BotAPIEmulator

pytestmark = pytest.mark.timeout(30)

BUTTONS = ((Action("Sì", "tok-si"), Action("No", "tok-no")), (Action("Forse", "tok-forse"),))
LONG = rich(*(f"paragrafo {i} " + "x" * 1500 for i in range(4)))  # about 6,000 characters


class MemoryState:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.fixture
async def out(emu: BotAPIEmulator) -> AsyncIterator[Outbound]:
    async with Bot(TOKEN, base_url=emu.base_url) as bot:
        yield Outbound(bot, PollMemory(MemoryState()))


def to_group(message: OutMessage, **kwargs: str | None) -> Outgoing:
    return Outgoing(Destination(chat_id=str(GROUP)), message, **kwargs)


def keyboard_data(markup: dict | None) -> list[list[str]]:
    assert markup is not None
    return [[button["callback_data"] for button in row] for row in markup["inline_keyboard"]]


async def test_a_long_text_with_buttons(out: Outbound, emu: BotAPIEmulator) -> None:
    first = emu.inject_message(GROUP, ADA, "/qualcosa")["message"]["message_id"]
    delivered = await out.deliver(to_group(OutMessage(LONG, actions=BUTTONS, reply_to=str(first),
                                                      silent=True)))
    one, two = emu.sent_messages(GROUP)
    assert delivered.message_id == str(one.message_id) and delivered.chat_id == str(GROUP)
    assert one.reply_to_message_id == first and two.reply_to_message_id is None
    assert one.reply_markup is None
    assert keyboard_data(two.reply_markup) == [["tok-si", "tok-no"], ["tok-forse"]]
    assert one.disable_notification and two.disable_notification
    assert one.text.startswith("paragrafo 0") and two.text.startswith("paragrafo 2")
    assert one.link_preview_options == {"is_disabled": True}


async def test_a_failure_half_way_sends_nothing_twice(out: Outbound,
                                                      emu: BotAPIEmulator) -> None:
    item = to_group(OutMessage(LONG, actions=BUTTONS))
    emu.fail_next("sendMessage", status=502, json_body=False, after=1)
    with pytest.raises(RetryLater):
        await out.deliver(item)
    [sent] = emu.sent_messages(GROUP)
    assert sent.text.startswith("paragrafo 0")
    delivered = await out.deliver(item)  # the retry sends only what is missing
    one, two = emu.sent_messages(GROUP)
    assert (one, delivered.message_id) == (sent, str(sent.message_id))
    assert two.text.startswith("paragrafo 2") and two.reply_markup is not None
    await out.deliver(item)  # the same message again, on purpose: sent whole again
    assert len(emu.sent_messages(GROUP)) == 4


async def test_edits_in_place(out: Outbound, emu: BotAPIEmulator) -> None:
    first = await out.deliver(to_group(OutMessage(rich("Conteggio: 0"), actions=BUTTONS)))
    edit = to_group(OutMessage(rich("Conteggio: 1")), edit_of=first.message_id,
                    edit_chat_id=str(GROUP))
    assert await out.deliver(edit) == first
    [card] = emu.sent_messages(GROUP)
    assert card.text == "Conteggio: 1" and card.reply_markup is None  # buttons gone too
    assert await out.deliver(edit) == first  # "message is not modified": already so
    grown = to_group(OutMessage(LONG), edit_of=first.message_id, edit_chat_id=str(GROUP))
    await out.deliver(grown)
    assert len(card.text) <= 4096 and card.text.endswith("\n…")  # cut, and says so
    assert len(emu.sent_messages(GROUP)) == 1


async def test_topics_private_chats_and_bad_destinations(out: Outbound,
                                                         emu: BotAPIEmulator) -> None:
    await out.deliver(Outgoing(Destination(chat_id=str(FORUM), thread_id=str(TOPIC)),
                               OutMessage(rich("nel topic"))))
    assert emu.sent_messages(FORUM)[0].thread_id == TOPIC
    delivered = await out.deliver(Outgoing(Destination(user_id=str(ADA)),
                                           OutMessage(rich("in privato"))))
    assert delivered.chat_id == str(ADA) and emu.sent_messages(ADA)[0].text == "in privato"
    with pytest.raises(Rejected):
        await out.deliver(Outgoing(Destination(chat_id="!room:matrix.org"), OutMessage(rich("x"))))
    with pytest.raises(Rejected):
        await out.deliver(to_group(OutMessage(rich(" "))))


async def test_polls_long_words_and_closing_words(out: Outbound, emu: BotAPIEmulator) -> None:
    spec = PollSpec("Q" * 400, ("a" * 150, "b"), multiple=False, anonymous=True)
    delivered = await out.deliver(to_group(OutMessage(rich("Votate!"), poll=spec, actions=BUTTONS)))
    intro, poll_message = emu.sent_messages(GROUP)
    assert intro.text == "Votate!" and poll_message.poll_id is not None
    assert delivered.message_id == str(poll_message.message_id)
    poll = emu.polls[poll_message.poll_id]
    assert len(poll.question) == 300 and len(poll.options[0]) == 100
    assert poll.is_anonymous and not poll.allows_multiple_answers
    assert keyboard_data(poll_message.reply_markup) == [["tok-si", "tok-no"], ["tok-forse"]]
    assert await out.polls.find(poll.id) == SentPoll(GROUP, poll_message.message_id)

    closing = to_group(OutMessage(rich("Chiuso: vince b."), close_poll=True, key="p"),
                       edit_of=delivered.message_id, edit_chat_id=str(GROUP))
    assert await out.deliver(closing) == delivered
    assert poll.is_closed
    words = emu.sent_messages(GROUP)[-1]
    assert words.text == "Chiuso: vince b." and words.reply_to_message_id == poll.message_id
    assert await out.deliver(closing) == delivered  # closed already: fine
