"""Delivering one outgoing item through the Bot API: send, edit, poll, file.

A message may take several Bot API calls (a text longer than one message, a caption too
long for its file, an introduction before a poll). If one of them fails and the delivery is
retried, the calls that already succeeded are not made again: the adapter remembers, in
memory, how far each unfinished item got. Buttons go on the last message, a reply on the
first; the id reported to the core is the message that matters — the file, the poll, or
the first part of a text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.warnings import PTBUserWarning

from adapters.base import Delivered, Outgoing, Rejected
from adapters.telegram.errors import (
    delivery_error,
    is_message_gone,
    is_not_modified,
    is_poll_closed,
)
from adapters.telegram.poll_memory import PollMemory, SentPoll
from adapters.telegram.render import MAX_CAPTION, MAX_TEXT, split
from bot.messages import Action, OutMessage, PollSpec, RichText, message_to_json

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
MAX_QUESTION = 300
MAX_OPTION = 100
MAX_UNFINISHED = 256  # items remembered half-sent; older ones are forgotten
EDIT_MORE = "\n…"

# Texts are sent and edited with `Bot.do_api_request`, which hands back the Bot API's answer
# as it came: all that is wanted of it is a message id, and PTB's `send_message` would first
# make a `Message` of it (a sixth of the bot's CPU on the Telegram path, bench/README.md).
# PTB asks to use its method instead; here, not wanting its result is the point.
warnings.filterwarnings("ignore", r"Please use 'Bot\.(send_message|edit_message_text)'",
                        PTBUserWarning)


def keyboard(actions: tuple[tuple[Action, ...], ...]) -> InlineKeyboardMarkup | None:
    """One button per action; its callback data is the action's opaque token, nothing else."""
    rows = [[InlineKeyboardButton(action.label, callback_data=action.token) for action in row]
            for row in actions if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _telegram_id(value: str | None) -> int:
    """A chat or message id as Telegram's integer; anything else is not for Telegram."""
    try:
        return int(value or "")
    except ValueError:
        raise Rejected(f"not a Telegram id: {value!r}") from None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class _Step:
    method: str
    send: Callable[[dict[str, Any]], Awaitable[int]]  # the id of the message sent


class Outbound:
    def __init__(self, bot: Bot, polls: PollMemory) -> None:
        self.bot = bot
        self.polls = polls
        self._unfinished: dict[str, list[int]] = {}

    async def deliver(self, item: Outgoing) -> Delivered:
        message = item.message
        if message.close_poll:
            return await self._close_poll(item)
        chat_id = _telegram_id(item.destination.chat_id or item.destination.user_id)
        if item.edit_of is not None and message.poll is None and message.attachment is None:
            edited = await self._edit(_telegram_id(item.edit_chat_id or str(chat_id)),
                                      _telegram_id(item.edit_of), message)
            if edited is not None:
                return edited
        # A poll or a file cannot become another one by editing: they are posted anew.
        return await self._post(chat_id, item.destination.thread_id, message)

    # --- edits -------------------------------------------------------------------------------

    async def _edit(self, chat_id: int, message_id: int, message: OutMessage) -> Delivered | None:
        """Edit in place; None if the message is gone (then it is posted again)."""
        text = edit_text(message.text)
        if text is None:
            raise Rejected("editMessageText: nothing to show")
        try:
            await self.bot.do_api_request("edit_message_text", api_kwargs={
                "text": text, "chat_id": chat_id, "message_id": message_id,
                "parse_mode": ParseMode.HTML, "reply_markup": keyboard(message.actions),
                "link_preview_options": NO_PREVIEW})
        except TelegramError as exc:
            if is_message_gone(exc):
                log.info("message %s in chat %s is gone; posting it again", message_id, chat_id,
                         extra={"platform": "telegram", "platform_chat_id": chat_id})
                return None
            if not is_not_modified(exc):
                raise delivery_error(exc, "editMessageText") from exc
        return Delivered(str(message_id), str(chat_id))

    async def _close_poll(self, item: Outgoing) -> Delivered:
        if item.edit_of is None:
            raise Rejected("stopPoll: no poll to close")
        chat_id = _telegram_id(item.edit_chat_id or item.destination.chat_id
                               or item.destination.user_id)
        message_id = _telegram_id(item.edit_of)
        try:
            await self.bot.stop_poll(chat_id, message_id,
                                     reply_markup=keyboard(item.message.actions))
        except TelegramError as exc:
            if not is_poll_closed(exc):
                raise delivery_error(exc, "stopPoll") from exc
        if item.message.text.blocks:  # words about the closing, under the poll
            closing = OutMessage(text=item.message.text, reply_to=str(message_id),
                                 silent=item.message.silent)
            await self._post(chat_id, item.destination.thread_id, closing)
        return Delivered(str(message_id), str(chat_id))

    # --- posts -------------------------------------------------------------------------------

    async def _post(self, chat_id: int, thread_id: str | None, message: OutMessage) -> Delivered:
        steps, main = self._steps(chat_id, message)
        if not steps:
            raise Rejected("sendMessage: nothing to show")
        # Most items have nothing half-sent to look up: their key is worked out only if
        # something is, or when a call fails after others went.
        key = self._key(chat_id, thread_id, message) if self._unfinished else None
        done = self._unfinished.pop(key, []) if key else []
        common: dict[str, Any] = {"chat_id": chat_id,
                                  "disable_notification": message.silent}
        if thread_id and thread_id.isdecimal():
            common["message_thread_id"] = int(thread_id)
        for index, step in enumerate(steps):
            if index < len(done):
                continue  # sent by an earlier attempt
            extra = dict(common)
            if index == 0 and message.reply_to and message.reply_to.isdecimal():
                extra["reply_parameters"] = ReplyParameters(
                    int(message.reply_to), allow_sending_without_reply=True)
            if index == len(steps) - 1:
                extra["reply_markup"] = keyboard(message.actions)
            try:
                sent = await step.send(extra)
            except TelegramError as exc:
                if done:
                    self._remember_unfinished(key or self._key(chat_id, thread_id, message),
                                              done)
                raise delivery_error(exc, step.method) from exc
            done.append(sent)
        return Delivered(str(done[main]), str(chat_id))

    def _steps(self, chat_id: int, message: OutMessage) -> tuple[list[_Step], int]:
        """The calls that send `message`, and which of them is its main message."""
        if message.attachment is not None:
            parts = split(message.text, first_limit=MAX_CAPTION)
            caption = parts[0] if parts else None
            steps = [self._file_step(message, caption)]
            return steps + [self._text_step(part) for part in parts[1:]], 0
        steps = [self._text_step(part) for part in split(message.text)]
        if message.poll is not None:
            steps.append(self._poll_step(message.poll))
            return steps, len(steps) - 1
        return steps, 0

    def _text_step(self, html: str) -> _Step:
        async def send(extra: dict[str, Any]) -> int:
            sent = await self.bot.do_api_request("send_message", api_kwargs={
                "text": html, "parse_mode": ParseMode.HTML,
                "link_preview_options": NO_PREVIEW, **extra})
            return int(sent["message_id"])
        return _Step("sendMessage", send)

    def _file_step(self, message: OutMessage, caption: str | None) -> _Step:
        attachment = message.attachment
        assert attachment is not None

        async def send(extra: dict[str, Any]) -> int:
            upload = InputFile(attachment.data, filename=attachment.filename)
            if attachment.is_image:
                sent = await self.bot.send_photo(photo=upload, caption=caption,
                                                 parse_mode=ParseMode.HTML, **extra)
            else:
                sent = await self.bot.send_document(document=upload, caption=caption,
                                                    parse_mode=ParseMode.HTML, **extra)
            return sent.message_id
        return _Step("sendPhoto" if attachment.is_image else "sendDocument", send)

    def _poll_step(self, poll: PollSpec) -> _Step:
        async def send(extra: dict[str, Any]) -> int:
            sent = await self.bot.send_poll(
                question=_clip(poll.question, MAX_QUESTION),
                options=[_clip(option, MAX_OPTION) for option in poll.options],
                is_anonymous=poll.anonymous, allows_multiple_answers=poll.multiple, **extra)
            await self._remember_poll(sent)
            return sent.message_id
        return _Step("sendPoll", send)

    async def _remember_poll(self, sent: Message) -> None:
        if sent.poll is None:
            return
        try:
            await self.polls.remember(sent.poll.id, SentPoll(
                sent.chat.id, sent.message_id, private=sent.chat.type == ChatType.PRIVATE))
        except Exception:  # the poll is out; only its answers will not be recognised
            log.exception("could not remember poll %s", sent.poll.id)

    # --- half-sent items ---------------------------------------------------------------------

    @staticmethod
    def _key(chat_id: int, thread_id: str | None, message: OutMessage) -> str:
        content = json.dumps([chat_id, thread_id, message_to_json(message)], sort_keys=True)
        return hashlib.sha256(content.encode()).hexdigest()

    def _remember_unfinished(self, key: str, done: list[int]) -> None:
        self._unfinished[key] = done
        while len(self._unfinished) > MAX_UNFINISHED:
            self._unfinished.pop(next(iter(self._unfinished)))


def edit_text(text: RichText) -> str | None:
    """The HTML of an edit. An edit replaces one message: a text grown past one message is
    cut after its first part, and says so."""
    parts = split(text, limit=MAX_TEXT - len(EDIT_MORE))
    return parts[0] + (EDIT_MORE if len(parts) > 1 else "") if parts else None
