"""Commands through the real PTB and the emulator: in a group, with @BotName, in a forum
topic, in private; the command menu; what the adapter must not act on."""

from __future__ import annotations

import logging

import pytest

from tests.adapters.telegram.conftest import (
    ADA,
    BRUNO,
    CARLA,
    FORUM,
    GROUP,
    STAFF,
    TOKEN,
    TOPIC,
    StartBot,
    TelegramBot,
)
from tests.adapters.telegram.emulator import BotAPIEmulator
from tests.adapters.telegram.emulator_objects import member_json

pytestmark = pytest.mark.timeout(30)

BOUND = "Questa chat ora è la chat del territorio Milano. È un territorio nuovo: benvenuti!"


async def test_an_administrator_binds_the_group(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    [reply] = await tg.say(GROUP, ADA, "/territorio Milano")
    assert (reply.chat_id, reply.text) == (GROUP, BOUND)
    assert reply.html == ("Questa chat ora è la chat del territorio <b>Milano</b>. "
                          "È un territorio nuovo: benvenuti!")
    chat = await tg.chat(GROUP)
    assert chat is not None and chat.kind == "territory" and chat.title == "Piazza Milano"
    [who] = await tg.say(GROUP, ADA, "/chi")
    assert "facilitatore di Milano" in who.text  # the group's administrator facilitates
    [who] = await tg.say(GROUP, BRUNO, "/chi")
    assert "facilitatore" not in who.text
    assert len(emu.calls_of("getChatAdministrators")) == 1  # the list is remembered


async def test_a_member_cannot_bind_the_group(tg: TelegramBot) -> None:
    [reply] = await tg.say(GROUP, BRUNO, "/territorio Roma")
    assert reply.text.startswith("Solo gli amministratori della chat")
    chat = await tg.chat(GROUP)
    assert chat is not None and chat.territory_id is None


async def test_commands_addressed_to_the_bot_or_to_another(tg: TelegramBot) -> None:
    [reply] = await tg.say(GROUP, ADA, "/territorio@PiazzaBot Milano")
    assert reply.text == BOUND
    [reply] = await tg.say(GROUP, ADA, "/CHI@piazzabot")
    assert reply.text.startswith("Sei Ada (telegram).")
    assert await tg.say(GROUP, ADA, "/chi@OtherBot") == []


async def test_a_forum_topic_gets_its_answer_in_the_topic(tg: TelegramBot) -> None:
    [reply] = await tg.say(FORUM, ADA, "/territorio Bologna", thread_id=TOPIC)
    assert (reply.chat_id, reply.thread_id) == (FORUM, TOPIC)
    assert reply.text.startswith("Questa chat ora è la chat del territorio Bologna.")
    [general] = await tg.say(FORUM, ADA, "/chi")
    assert general.thread_id is None


async def test_private_chat_in_both_languages(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    [welcome] = await tg.say(BRUNO, BRUNO, "/start")
    assert welcome.chat_id == BRUNO and welcome.text.startswith("Ciao Bruno! Sono piazzabot")
    assert "/territorio NOME" in welcome.text and "/staff" not in welcome.text
    await tg.say(GROUP, ADA, "/territorio Milano")
    [chosen] = await tg.say(BRUNO, BRUNO, "/territorio milano")
    assert chosen.text == "Fatto: quello che fai qui ora vale per Milano."
    [english] = await tg.say(BRUNO, BRUNO, "/lingua en")
    assert english.text == "From now on I speak English here."
    [help_text] = await tg.say(BRUNO, BRUNO, "/help territory")
    assert help_text.text.startswith("/territory NAME — Bind this chat to a territory")
    [unknown] = await tg.say(BRUNO, BRUNO, "/nonesiste")
    assert unknown.text == "I don't know the command /nonesiste. Send /help for the list."
    [cancel] = await tg.say(BRUNO, BRUNO, "/cancel")
    assert cancel.text == "There was nothing to cancel."
    assert all(m.chat_id == BRUNO for m in emu.sent_messages(BRUNO))


async def test_staff_make_a_staff_chat(tg: TelegramBot) -> None:
    [refused] = await tg.say(GROUP, ADA, "/staff")
    assert refused.text == "Solo lo staff della cooperativa può farlo."
    [done] = await tg.say(GROUP, STAFF, "/staff")
    assert done.text.startswith("Ora questa è una chat dello staff")


async def test_the_command_menu_in_italian_and_english(tg: TelegramBot,
                                                       emu: BotAPIEmulator) -> None:
    menus = emu.commands
    assert set(menus) == {"", "it", "en"}
    assert menus[""] == menus["it"]
    italian = {c["command"]: c["description"] for c in menus["it"]}
    english = {c["command"]: c["description"] for c in menus["en"]}
    assert italian["territorio"].startswith("Collega questa chat a un territorio")
    assert english["territory"] == "Bind this chat to a territory (in private: choose yours)"
    assert {"start", "aiuto", "chi", "lingua", "annulla"} <= set(italian)
    assert {"start", "help", "whoami", "language", "cancel"} <= set(english)
    assert "staff" not in italian  # staff-only commands stay out of everyone's menu


async def test_bots_edits_and_other_updates_are_not_acted_on(tg: TelegramBot,
                                                             emu: BotAPIEmulator) -> None:
    emu.users[BRUNO].is_bot = True
    assert await tg.say(GROUP, BRUNO, "/chi") == []
    emu.users[BRUNO].is_bot = False
    original = emu.inject_message(GROUP, ADA, "/territorio Milano")
    await tg.settle(original)
    edited = {**original["message"], "text": "/territorio Roma", "edit_date": 1}
    await tg.settle(emu.inject_raw({"edited_message": edited}))
    chat = await tg.chat(GROUP)
    assert chat is not None and len(emu.sent_messages(GROUP)) == 1
    assert await tg.say(GROUP, ADA, "ciao a tutti") == []  # plain text, no conversation waits


async def test_the_bot_added_and_removed(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    emu.add_chat(-1001000000009, "supergroup", "Nuovo gruppo", creator=ADA)
    await tg.settle(emu.inject_my_chat_member(-1001000000009, ADA, "left", "member"))
    [hello] = emu.sent_messages(-1001000000009)
    assert hello.text.startswith("Ciao! Sono piazzabot")
    chat = await tg.chat(-1001000000009)
    assert chat is not None and chat.active
    await tg.settle(emu.inject_my_chat_member(-1001000000009, ADA, "member", "administrator"))
    assert len(emu.sent_messages(-1001000000009)) == 1  # a promotion is no second welcome
    await tg.settle(emu.inject_my_chat_member(-1001000000009, ADA, "member", "left"))
    chat = await tg.chat(-1001000000009)
    assert chat is not None and not chat.active


async def test_the_token_never_reaches_the_logs(start_bot: StartBot, emu: BotAPIEmulator,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await start_bot()
    emu.fail_next("sendMessage", status=502, json_body=False)
    await bot.say(GROUP, ADA, "/chi")
    await bot.stop()
    assert "getUpdates" in caplog.text  # PTB did log its calls
    assert TOKEN not in caplog.text
    assert "/bot<token>" in caplog.text  # PTB logged its URL, without the token


async def test_who_a_command_points_at(tg: TelegramBot, emu: BotAPIEmulator) -> None:
    said = emu.inject_message(GROUP, BRUNO, "eccomi")
    await tg.settle(said)
    await tg.say(GROUP, ADA, "/test_punta")
    reply = emu.inject_message(GROUP, ADA, "/test_punta lui",
                               reply_to=said["message"]["message_id"])
    await tg.settle(reply)
    text = "/test_punta Carla"
    mention = {**emu.inject_message(GROUP, ADA, "ciao")["message"], "text": text, "entities": [
        {"type": "bot_command", "offset": 0, "length": 11},
        {"type": "text_mention", "offset": 12, "length": 5,
         "user": {"id": CARLA, "is_bot": False, "first_name": "Carla"}}]}
    await tg.settle(emu.inject_raw({"message": mention}))
    await tg.say(FORUM, ADA, "/test_punta", thread_id=TOPIC)  # a topic is no one's message
    plain, replied, mentioned, in_topic = tg.feature.pointed
    assert (plain.mentions, plain.reply_to_user) == ((), None)
    assert replied.reply_to_user == str(BRUNO)
    assert mentioned.mentions == (str(CARLA),)
    assert (in_topic.reply_to_user, in_topic.chat.thread_id) == (None, str(TOPIC))


async def test_a_promotion_is_seen_when_telegram_reports_it(tg: TelegramBot,
                                                            emu: BotAPIEmulator) -> None:
    await tg.say(GROUP, ADA, "/territorio Milano")
    [before] = await tg.say(GROUP, BRUNO, "/chi")
    assert "facilitatore" not in before.text
    emu.chats[GROUP].admins.append(BRUNO)  # Ada promotes Bruno
    [cached] = await tg.say(GROUP, BRUNO, "/chi")
    assert "facilitatore" not in cached.text  # the list is kept for a while...
    bruno = emu.users[BRUNO].to_api()
    await tg.settle(emu.inject_raw({"chat_member": {
        "chat": emu.chats[GROUP].to_api(), "from": emu.users[ADA].to_api(), "date": 1,
        "old_chat_member": member_json(bruno, "member"),
        "new_chat_member": member_json(bruno, "administrator")}}))
    [after] = await tg.say(GROUP, BRUNO, "/chi")
    assert "facilitatore di Milano" in after.text  # ...unless Telegram says it changed


async def test_an_anonymous_administrator_and_a_channel(tg: TelegramBot,
                                                        emu: BotAPIEmulator) -> None:
    anonymous_bot = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                     "username": "GroupAnonymousBot"}
    group = emu.chats[GROUP].to_api()
    channel = {"id": -1001999999999, "type": "channel", "title": "Canale"}
    base = {"message_id": 900, "date": 1, "chat": group, "from": anonymous_bot}
    await tg.settle(emu.inject_raw({"message": {**base, "sender_chat": channel,
                                                "text": "/territorio Roma"}}))
    assert emu.sent_messages(GROUP) == []  # written on behalf of a channel: not a member
    await tg.settle(emu.inject_raw({"message": {**base, "message_id": 901, "sender_chat": group,
                                                "text": "/territorio Milano"}}))
    [bound] = emu.sent_messages(GROUP)  # only administrators can write as the group
    assert bound.text == BOUND
