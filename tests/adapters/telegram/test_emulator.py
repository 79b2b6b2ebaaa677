"""Proves the Bot API emulator against the real python-telegram-bot 22.8.

Every test talks HTTP to the emulator through PTB's own ``Bot`` (or a whole
``Application``), so a passing test means PTB de-serialised the emulator's JSON exactly as it
would Telegram's.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    ChatFullInfo,
    ChatMember,
    ChatMemberAdministrator,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputPollOption,
    LinkPreviewOptions,
    Message,
    Poll,
    ReplyParameters,
    TelegramObject,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.adapters.telegram.emulator import BotAPIEmulator
from tests.adapters.telegram.emulator_html import detect_entities, parse_html
from tests.adapters.telegram.emulator_objects import MEMBER_STATUSES, member_json

pytestmark = pytest.mark.timeout(10)

TOKEN = "123:ABC"
ADA, BRUNO, STRANGER = 42, 43, 44
GROUP, FORUM = -1001000000001, -1001000000002
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes")]])


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A valid, tiny grey PNG."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def assert_fully_known(obj: Any) -> None:
    """Fail if PTB met a field it does not know: a sign the emulator invented schema."""
    if isinstance(obj, TelegramObject):
        assert not obj.api_kwargs, f"{type(obj).__name__} got unknown fields {obj.api_kwargs}"
        for value in obj.to_dict(recursive=False).values():
            assert_fully_known(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            assert_fully_known(item)


def error_text(exc: pytest.ExceptionInfo[Exception]) -> str:
    """PTB strips "Bad Request: " and lower-cases the rest, so compare case-insensitively."""
    return str(exc.value).lower()


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future ``timedelta`` periods (retry_after, open_period) to avoid its
    deprecation warnings."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(token=TOKEN, bot_username="PiazzaBot") as emulator:
        emulator.add_user(ADA, "Ada", username="ada")
        emulator.add_user(BRUNO, "Bruno")
        emulator.add_user(STRANGER, "Stranger", started_bot=False)
        emulator.add_chat(GROUP, "supergroup", "Piazza", admins=[ADA], creator=BRUNO)
        emulator.add_chat(FORUM, "supergroup", "Forum", is_forum=True, creator=ADA)
        yield emulator


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


# --- transport -----------------------------------------------------------------------------

async def test_get_me_and_routing(emu: BotAPIEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123, "PiazzaBot", True)
    assert_fully_known(me)

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    with pytest.raises(InvalidToken):
        async with Bot("123:WRONG", base_url=emu.base_url):
            pass


async def test_raw_http_encodings_and_error_bodies(emu: BotAPIEmulator) -> None:
    root = emu.base_url + TOKEN
    async with aiohttp.ClientSession() as http:
        async with http.get(emu.base_url + "999:NOPE/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{root}/fooBar") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{root}/GETME") as response:  # empty body, any case
            assert (await response.json())["result"]["username"] == "PiazzaBot"
        json_body = {"chat_id": ADA, "text": "json", "reply_markup": KEYBOARD.to_dict()}
        async with http.post(f"{root}/sendMessage", json=json_body) as response:
            assert (await response.json())["result"]["reply_markup"] == KEYBOARD.to_dict()
        async with http.get(f"{root}/sendMessage", params={"chat_id": ADA, "text": "123"}):
            pass
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ADA))
        form.add_field("document", b"%PDF-1.4", filename="a.pdf", content_type="application/pdf")
        async with http.post(f"{root}/sendDocument", data=form) as response:
            assert (await response.json())["result"]["document"]["file_name"] == "a.pdf"
    texts = [m.text for m in emu.sent_messages(ADA)]
    assert texts == ["json", "123", None]  # "123" stays text, not the number 123
    assert [name for name, _ in emu.calls] == [
        "getMe", "sendMessage", "sendMessage", "sendDocument"]


# --- messages --------------------------------------------------------------------------------

async def test_send_message_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    first = await bot.send_message(ADA, "plain")
    message = await bot.send_message(
        ADA, "<b>Bold</b> &amp; <a href='https://example.org'>link</a>", parse_mode="HTML",
        reply_markup=KEYBOARD, disable_notification=True,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_parameters=ReplyParameters(first.message_id),
    )
    assert isinstance(message, Message)
    assert_fully_known(message)
    assert message.text == "Bold & link"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4), ("text_link", 7, 4)]
    assert message.reply_markup == KEYBOARD
    assert message.reply_to_message.message_id == first.message_id
    assert message.link_preview_options.is_disabled
    assert message.from_user.username == "PiazzaBot"

    stored = emu.sent_messages(ADA)[-1]
    assert stored is emu.messages[(ADA, message.message_id)]
    assert stored.html.startswith("<b>Bold</b>")
    assert stored.disable_notification
    assert stored.reply_markup == KEYBOARD.to_dict()


@pytest.mark.parametrize("html", [
    "<div>x</div>", "<b>unclosed", "<b><i>x</b></i>", "x</b>", "1 < 2", "Tom & Jerry",
    "a > b", "<span>x</span>", "line<br/>break", "&nbsp;",
])
async def test_invalid_html_is_refused(bot: Bot, html: str) -> None:
    with pytest.raises(BadRequest) as exc:
        await bot.send_message(ADA, html, parse_mode="HTML")
    assert error_text(exc).startswith("can't parse entities: ")


def test_html_parser_entities_in_utf16() -> None:
    text, entities = parse_html(
        '👋 <tg-spoiler>s</tg-spoiler> <pre><code class="language-py">x</code></pre> '
        '<blockquote expandable>q</blockquote> &lt;&#65;&gt;'
    )
    assert text == "👋 s x q <A>"
    assert entities == [
        {"offset": 3, "length": 1, "type": "spoiler"},
        {"offset": 5, "length": 1, "type": "pre", "language": "py"},
        {"offset": 7, "length": 1, "type": "expandable_blockquote"},
    ]
    assert [e["type"] for e in detect_entities("/vote@PiazzaBot #tag @someone https://x.y")] == [
        "bot_command", "hashtag", "mention", "url"]


async def test_length_limits(bot: Bot) -> None:
    assert (await bot.send_message(ADA, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ADA, "😀" * 2049)  # 4098 UTF-16 units
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(ADA, InputFile(b"x", filename="x.txt"), caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ADA, "<b> </b>", parse_mode="HTML")


async def test_edit_and_delete(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "Vote?", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("<i>Closed</i>", GROUP, sent.message_id,
                                         parse_mode="HTML")
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert edited.text == "Closed" and edited.reply_markup is None
    assert emu.messages[(GROUP, sent.message_id)].html == "<i>Closed</i>"

    with pytest.raises(BadRequest) as exc:
        await bot.edit_message_text("<i>Closed</i>", GROUP, sent.message_id, parse_mode="HTML")
    assert error_text(exc) == (
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message")
    with_markup = await bot.edit_message_reply_markup(GROUP, sent.message_id,
                                                      reply_markup=KEYBOARD)
    assert with_markup.reply_markup == KEYBOARD
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", GROUP, 999)

    assert await bot.delete_message(GROUP, sent.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(GROUP, sent.message_id)
    assert emu.sent_messages(GROUP) == []
    assert emu.sent_messages(GROUP, include_deleted=True)[0].deleted


async def test_callback_query_answer(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_message(ADA, "Vote?", reply_markup=KEYBOARD)
    update = emu.inject_callback(ADA, ADA, sent.message_id, "vote:yes")
    query = Update.de_json(update, bot).callback_query
    assert query.data == "vote:yes" and query.message.message_id == sent.message_id
    assert await query.answer("Thanks", show_alert=True) is True
    assert emu.callback_answers == [
        {"callback_query_id": query.id, "text": "Thanks", "show_alert": True}]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()


# --- polls and files -----------------------------------------------------------------------

async def test_polls(emu: BotAPIEmulator, bot: Bot) -> None:
    message = await bot.send_poll(
        GROUP, "When?", ["Mon", InputPollOption("Tue")], is_anonymous=False,
        allows_multiple_answers=True, open_period=600,
    )
    poll = message.poll
    assert_fully_known(message)
    assert [o.text for o in poll.options] == ["Mon", "Tue"] and not poll.is_anonymous
    assert poll.allows_multiple_answers and poll.open_period == dtm.timedelta(seconds=600)

    emu.inject_poll_answer(poll.id, ADA, [0, 1])
    updates = await bot.get_updates()
    answer, new_state = updates[0].poll_answer, updates[1].poll
    assert (answer.poll_id, answer.user.id, answer.option_ids) == (poll.id, ADA, (0, 1))
    assert answer.option_persistent_ids == ("0", "1")
    assert [o.voter_count for o in new_state.options] == [1, 1]

    stopped = await bot.stop_poll(GROUP, message.message_id)
    assert isinstance(stopped, Poll) and stopped.is_closed and stopped.total_voter_count == 1
    assert emu.polls[poll.id].is_closed
    with pytest.raises(BadRequest, match=r"(?i)poll has already been closed"):
        await bot.stop_poll(GROUP, message.message_id)


async def test_document_and_photo_uploads(emu: BotAPIEmulator, bot: Bot) -> None:
    doc = await bot.send_document(
        ADA, InputFile(b"a,b\n1,2\n", filename="votes.csv"), caption="<b>Results</b>",
        parse_mode="HTML",
    )
    assert (doc.document.file_name, doc.caption) == ("votes.csv", "Results")
    stored = emu.files[doc.document.file_id]
    assert (stored.data, stored.mime_type) == (b"a,b\n1,2\n", "text/csv")
    assert emu.sent_messages(ADA)[-1].caption_html == "<b>Results</b>"

    photo = await bot.send_photo(ADA, png_bytes(4, 3), caption="chart")
    largest = photo.photo[-1]
    assert (largest.width, largest.height, photo.caption) == (4, 3, "chart")
    telegram_file = await bot.get_file(largest.file_id)
    assert bytes(await telegram_file.download_as_bytearray()) == png_bytes(4, 3)

    again = await bot.send_document(GROUP, doc.document.file_id)  # re-send by file_id
    assert again.document.file_id == doc.document.file_id
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(ADA, b"not an image")
    assert len(emu.files) == 2


# --- chats, commands, webhooks --------------------------------------------------------------

@pytest.mark.parametrize("status", MEMBER_STATUSES)
def test_every_member_status_deserialises(status: str) -> None:
    user = {"id": 1, "is_bot": False, "first_name": "A"}
    member = ChatMember.de_json(member_json(user, status), None)
    assert member.status == status
    assert_fully_known(member)


async def test_chat_info_and_members(bot: Bot) -> None:
    chat = await bot.get_chat(GROUP)
    assert isinstance(chat, ChatFullInfo) and chat.title == "Piazza"
    assert_fully_known(chat)
    assert isinstance(await bot.get_chat_member(GROUP, BRUNO), ChatMemberOwner)
    assert isinstance(await bot.get_chat_member(GROUP, ADA), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(GROUP, bot.id), ChatMemberMember)
    assert isinstance(await bot.get_chat_member(GROUP, STRANGER), ChatMemberLeft)
    admins = await bot.get_chat_administrators(GROUP)
    assert [m.user.id for m in admins] == [BRUNO, ADA]
    assert_fully_known(admins)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat(-100999)


async def test_commands_per_language_and_scope(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("start", "Inizia")], language_code="it")
    await bot.set_my_commands([BotCommand("poll", "Poll")], scope=BotCommandScopeAllGroupChats())
    assert [c.description for c in await bot.get_my_commands(language_code="it")] == ["Inizia"]
    assert emu.commands == {
        "": [{"command": "start", "description": "Start"}],
        "it": [{"command": "start", "description": "Inizia"}],
    }
    assert emu.commands_for({"type": "all_group_chats"}) == [
        {"command": "poll", "description": "Poll"}]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_webhook_blocks_polling(emu: BotAPIEmulator, bot: Bot) -> None:
    assert await bot.set_webhook("https://bot.example/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://bot.example/hook" and emu.webhook["secret_token"] == "s3cret"
    with pytest.raises(Conflict):
        await bot.get_updates()
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://insecure.example/hook")
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()
    assert await bot.close() is True and await bot.log_out() is True


# --- updates -------------------------------------------------------------------------------

async def test_long_poll_returns_when_update_arrives(emu: BotAPIEmulator, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for(lambda: emu.waiting_polls == 1)
    assert not poll.done()
    emu.inject_message(ADA, ADA, "hello")
    updates = await poll
    assert [u.message.text for u in updates] == ["hello"]
    assert time.monotonic() - started < 2


async def test_offset_limit_and_allowed_updates(emu: BotAPIEmulator, bot: Bot) -> None:
    ids = [emu.inject_message(ADA, ADA, f"m{i}")["update_id"] for i in range(4)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert len(await bot.get_updates()) == 4  # nothing confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[2])] == ids[2:]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[3:]
    assert await bot.get_updates(offset=ids[3] + 1) == ()

    sent = await bot.send_message(ADA, "Vote?", reply_markup=KEYBOARD)
    emu.inject_message(ADA, ADA, "dropped")
    emu.inject_callback(ADA, ADA, sent.message_id, "kept")
    only = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in only] == ["kept"]
    emu.inject_message(ADA, ADA, "still filtered")
    assert [u.callback_query.data for u in await bot.get_updates()] == ["kept"]


async def test_newer_get_updates_terminates_older(emu: BotAPIEmulator, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for(lambda: emu.waiting_polls == 1)
    async with Bot(TOKEN, base_url=emu.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await older


async def test_update_shapes_parse(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_poll(GROUP, "Q", ["a", "b"], is_anonymous=False)
    emu.inject_message(GROUP, ADA, "/start@PiazzaBot now", reply_to=sent.message_id)
    emu.inject_callback(GROUP, ADA, sent.message_id, "cb")
    emu.inject_poll_answer(sent.poll.id, ADA, [1], with_poll_update=False)
    emu.inject_my_chat_member(GROUP, BRUNO, "member", "administrator")
    emu.inject_my_chat_member(ADA, ADA, "member", "kicked")
    emu.inject_raw({"edited_message": emu.message_json(emu.messages[(GROUP, 2)])})
    updates = await bot.get_updates()
    assert_fully_known(list(updates))
    command, callback, answer, promoted, blocked, edited = updates
    entity = command.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 16)
    assert command.message.reply_to_message.poll.question == "Q"
    assert callback.callback_query.chat_instance and callback.callback_query.from_user.id == ADA
    assert answer.poll_answer.option_ids == (1,)
    assert promoted.my_chat_member.new_chat_member.status == "administrator"
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert edited.edited_message.text.startswith("/start")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ADA, "still there?")


async def test_forum_topic_thread_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    update = emu.inject_message(FORUM, ADA, "in a topic", thread_id=7)
    incoming = Update.de_json(update, bot).message
    assert incoming.message_thread_id == 7 and incoming.is_topic_message
    # Telegram quirk: a topic message "replies" to the topic's creation service message.
    assert incoming.reply_to_message.forum_topic_created.name == "Topic 7"

    reply = await bot.send_message(FORUM, "answer", message_thread_id=incoming.message_thread_id)
    assert reply.message_thread_id == 7 and reply.is_topic_message
    assert emu.sent_messages(FORUM)[0].thread_id == 7
    threaded = await bot.send_message(FORUM, "reply", reply_parameters=ReplyParameters(
        incoming.message_id))
    assert threaded.message_thread_id == 7  # inherited from the replied-to message
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(FORUM, "lost", message_thread_id=99)
    follow_up = emu.inject_message(FORUM, BRUNO, "me too", reply_to=reply.message_id)
    assert follow_up["message"]["message_thread_id"] == 7


# --- failures --------------------------------------------------------------------------------

async def test_errors_surface_as_ptb_exceptions(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ADA, "x")
    assert flood.value.retry_after == dtm.timedelta(seconds=3)

    emu.fail_next("sendmessage", status=502, times=3, json_body=False)
    for _ in range(3):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(ADA, "x")
    emu.fail_next("*", status=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    emu.fail_next("sendMessage", status=403, chat_id=GROUP,
                  description="Forbidden: bot was kicked from the supergroup chat")
    assert (await bot.send_message(ADA, "other chat unaffected")).text
    with pytest.raises(Forbidden, match="kicked"):
        await bot.send_message(GROUP, "x")

    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(STRANGER, "hi")
    emu.block_user(BRUNO)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(BRUNO, "hi")
    emu.kick_bot(GROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hi")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hi")
    assert [m.text for m in emu.sent_messages()] == ["other chat unaffected"]


class FakeClock:
    """A monotonic clock the test moves by hand, so flood windows are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_flood_limits_when_enforced() -> None:
    clock = FakeClock()
    async with BotAPIEmulator(token=TOKEN, enforce_limits=True, clock=clock) as emu:
        emu.add_chat(GROUP, "supergroup", "Piazza")
        for user_id in range(1, 32):
            emu.add_user(user_id, f"U{user_id}")
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            for _ in range(20):
                await bot.send_message(GROUP, "x")
            clock.now += 15
            with pytest.raises(RetryAfter) as per_group:
                await bot.send_message(GROUP, "x")
            assert per_group.value.retry_after == dtm.timedelta(seconds=45)

            await asyncio.gather(*(bot.send_message(uid, "x") for uid in range(1, 31)))
            with pytest.raises(RetryAfter) as overall:
                await bot.send_message(31, "x")
            assert overall.value.retry_after == dtm.timedelta(seconds=1)
            clock.now += 1
            await bot.send_message(31, "x")
            clock.now += 45
            await bot.send_message(GROUP, "x")
    assert emu.rate_limited == 2
    assert len(emu.sent_messages()) == 52


async def test_stop_releases_a_pending_long_poll() -> None:
    emu = BotAPIEmulator(token=TOKEN)
    await emu.start()
    async with Bot(TOKEN, base_url=emu.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await emu.wait_for(lambda: emu.waiting_polls == 1)
        started = time.monotonic()
        await emu.stop()
        assert await poll == ()
        assert time.monotonic() - started < 1


async def test_wait_helpers_time_out_quickly(emu: BotAPIEmulator) -> None:
    with pytest.raises(TimeoutError):
        await emu.wait_for(lambda: False, timeout=0.05)
    with pytest.raises(TimeoutError, match="0 of 1 sendMessage"):
        await emu.wait_for_calls("sendMessage", 1, timeout=0.05)


# --- a whole PTB Application ---------------------------------------------------------------

async def _on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_html("<b>Welcome!</b> Vote?", reply_markup=KEYBOARD)


async def _on_vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("Counted")
    await query.edit_message_text(f"You chose {query.data.split(':')[1]}")


async def test_application_polls_and_replies(emu: BotAPIEmulator) -> None:
    app: Application = (
        ApplicationBuilder().token(TOKEN).base_url(emu.base_url)
        .base_file_url(emu.base_file_url).build()
    )
    app.add_handler(CommandHandler("start", _on_start))
    app.add_handler(CallbackQueryHandler(_on_vote))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        emu.inject_message(GROUP, ADA, "/start@PiazzaBot")
        await emu.wait_for_calls("sendMessage", 1)
        welcome = emu.sent_messages(GROUP)[0]
        assert (welcome.text, welcome.html) == ("Welcome! Vote?", "<b>Welcome!</b> Vote?")
        assert welcome.reply_to_message_id == 1

        emu.inject_callback(GROUP, ADA, welcome.message_id, "vote:yes")
        await emu.wait_for_calls("editMessageText", 1)
        assert emu.callback_answers[0]["text"] == "Counted"
        assert emu.messages[welcome.key].text == "You chose yes"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert emu.pending_updates == []  # the final getUpdates confirmed everything
