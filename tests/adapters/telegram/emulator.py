"""An in-process Telegram Bot API emulator for tests.

It is an aiohttp server on ``127.0.0.1`` (free port) that speaks the Bot API's JSON over
HTTP well enough for the *real* python-telegram-bot ``Bot``/``Application`` to run against it
unmodified::

    async with BotAPIEmulator(token="123:ABC", bot_username="PiazzaBot") as emu:
        emu.add_user(42, "Ada")
        bot = telegram.Bot("123:ABC", base_url=emu.base_url, base_file_url=emu.base_file_url)
        emu.inject_message(42, 42, "/start")
        ...
        await emu.wait_for_calls("sendMessage", 1)
        assert emu.sent_messages(42)[0].text == "Welcome!"

Telegram's behaviour that matters to a bot is reproduced: long polling with ``offset``
confirmation, per-language command lists, "message is not modified", 403 for users who
blocked the bot or never started it, HTML entity parsing, forum topics (including the quirk
that every topic message has ``reply_to_message`` = the topic's creation message), flood
limits (optional) and injected failures (429 / 403 / 5xx ...).

Nothing is ever sent anywhere: webhooks are recorded but not delivered and files "sent by
URL" fail with Telegram's ``failed to get HTTP URL content``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import mimetypes
import re
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.adapters.telegram.emulator_html import (
    EntityParseError,
    detect_entities,
    parse_html,
    utf16_len,
)
from tests.adapters.telegram.emulator_objects import (
    EmuChat,
    EmuUser,
    JSONDict,
    StoredFile,
    StoredMessage,
    StoredPoll,
    Upload,
    image_size,
    member_json,
)

__all__ = ["ApiError", "BotAPIEmulator", "StoredFile", "StoredMessage", "StoredPoll", "Upload"]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_POLL_OPTIONS = 12
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
#: Update types delivered when ``allowed_updates`` is unset or ``[]`` (Telegram's default).
DEFAULT_ALLOWED_UPDATES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query", "poll",
    "poll_answer", "my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
    "business_connection", "business_message", "edited_business_message",
    "deleted_business_messages", "purchased_paid_media",
})
#: Methods counted by the flood limits (``enforce_limits=True``).
SEND_METHODS = frozenset({"sendMessage", "sendPoll", "sendDocument", "sendPhoto"})
#: Parameters that are free text: never JSON-decoded even if they look like JSON ("123").
STRING_PARAMS = frozenset({
    "text", "caption", "question", "description", "explanation", "title", "name", "url",
    "secret_token", "parse_mode", "explanation_parse_mode", "question_parse_mode",
    "description_parse_mode", "callback_query_id", "inline_message_id", "file_id",
    "language_code", "custom_title", "ip_address", "emoji", "business_connection_id",
    "message_effect_id", "data", "short_description", "action",
})
_BUTTON_ACTIONS = frozenset({
    "callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "callback_game", "pay", "login_url", "web_app",
    "copy_text",
})
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
}
_TOPIC_ICON_COLOR = 7322096
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


class ApiError(Exception):
    """A Bot API error reply; raised inside handlers, rendered like Telegram renders it."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        json_body: bool = True,
        parameters: JSONDict | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.json_body = json_body
        self.parameters = dict(parameters or {})
        if retry_after is not None:
            self.parameters["retry_after"] = retry_after

    def response(self) -> web.Response:
        if not self.json_body:
            # What Telegram's nginx front answers with when the Bot API server is down.
            phrase = HTTPStatus(self.status).phrase
            page = (f"<html>\r\n<head><title>{self.status} {phrase}</title></head>\r\n<body>\r\n"
                    f"<center><h1>{self.status} {phrase}</h1></center>\r\n"
                    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
            return web.Response(status=self.status, text=page, content_type="text/html")
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


@dataclass
class _FailureRule:
    method: str  # canonical method name or "*"
    error: ApiError
    times: int
    chat_id: int | str | None
    after: int = 0  # matching calls let through before the failures start

    def matches(self, method: str, params: JSONDict) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


class _Signal:
    """Broadcast "something changed" to any number of waiters.

    Unlike ``asyncio.Condition`` it can be fired from synchronous code (the ``inject_*``
    helpers are plain functions); waiters simply re-check their predicate on every firing.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], within: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


# --- parameter access ---------------------------------------------------------------------

def decode_param(name: str, value: Any) -> Any:
    """Decode one request parameter the way the Bot API does.

    PTB sends every non-string value JSON-encoded inside a form field (``"42"``, ``"true"``,
    ``'{"inline_keyboard": ...}'``); free-text parameters stay strings.
    """
    if isinstance(value, Upload):
        return value
    if name in STRING_PARAMS:
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int_param(params: JSONDict, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _required_int(params: JSONDict, name: str, missing: str) -> int:
    value = _int_param(params, name)
    if value is None:
        raise bad_request(missing)
    return value


def _bool_param(params: JSONDict, name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _str_param(params: JSONDict, name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)


class BotAPIEmulator:
    """Telegram Bot API emulator; see the module docstring."""

    def __init__(
        self,
        token: str = "123:ABC",
        bot_username: str = "PiazzaBot",
        *,
        bot_first_name: str = "Piazza Bot",
        enforce_limits: bool = False,
        global_limit_per_second: int = 30,
        group_limit_per_minute: int = 20,
        strict_html: bool = True,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` drives only the flood limits; tests may pass a fake one."""
        self.token = token
        self.bot_user = EmuUser(
            id=int(token.split(":", 1)[0]), first_name=bot_first_name,
            username=bot_username, is_bot=True,
        )
        self.enforce_limits = enforce_limits
        self.global_limit_per_second = global_limit_per_second
        self.group_limit_per_minute = group_limit_per_minute
        self.strict_html = strict_html
        self.host = host
        self.port = 0
        self._clock = clock

        self.users: dict[int, EmuUser] = {}
        self.chats: dict[int, EmuChat] = {}
        #: current state of every live message, keyed by (chat_id, message_id)
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.deleted_messages: list[StoredMessage] = []
        self.polls: dict[str, StoredPoll] = {}
        self.files: dict[str, StoredFile] = {}
        #: every API request in arrival order: (canonical method name, decoded params)
        self.calls: list[tuple[str, JSONDict]] = []
        self.callback_answers: list[JSONDict] = []
        #: every update ever injected (confirmed or not)
        self.updates: list[JSONDict] = []
        #: command lists keyed by (scope JSON, language_code); see :attr:`commands`
        self.command_sets: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook: JSONDict = {}
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        #: how many requests the flood limits answered with 429
        self.rate_limited = 0
        #: for benchmarks: when each update was queued (``update_id`` -> ``time.perf_counter()``)
        self.enqueued_at: dict[int, float] = {}
        #: for benchmarks: every request answered ``ok``, as (``time.perf_counter()`` when
        #: answered, canonical method name, decoded params), in answering order
        self.answered: list[tuple[float, str, JSONDict]] = []

        self._sent: list[StoredMessage] = []
        self._pending: list[JSONDict] = []
        self._completed: Counter[str] = Counter()
        self._failures: list[_FailureRule] = []
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._update_ids = itertools.count(1000)
        self._serial = itertools.count(1)
        self._global_sends: deque[float] = deque()
        self._group_sends: dict[int, deque[float]] = defaultdict(deque)
        self._poll_generation = 0
        #: getUpdates requests currently parked in a long poll
        self.waiting_polls = 0
        self._closing = False
        self._signal = _Signal()
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Callable[[JSONDict], Awaitable[Any]]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    def _method_table(self) -> dict[str, Callable[[JSONDict], Awaitable[Any]]]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPoll": self._send_poll,
            "stopPoll": self._stop_poll,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "close": self._always_true,
            "logOut": self._always_true,
        }

    # ======================================================================================
    # lifecycle
    # ======================================================================================
    async def start(self) -> None:
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        # handler_cancellation: a client that gives up on a long poll frees its handler.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing = True
        self._signal.fire()  # release pending long polls at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Pass as ``base_url`` to PTB; PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # ======================================================================================
    # world set-up helpers
    # ======================================================================================
    def add_user(
        self,
        id: int,
        first_name: str,
        username: str | None = None,
        started_bot: bool = True,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> EmuUser:
        """Register a user; their private chat with the bot (chat id == user id) comes along."""
        user = EmuUser(id=id, first_name=first_name, username=username, last_name=last_name,
                       language_code=language_code, started_bot=started_bot)
        self.users[id] = user
        self.chats[id] = EmuChat(id=id, type="private", first_name=first_name,
                                 last_name=last_name, username=username)
        return user

    def add_chat(
        self,
        id: int,
        type: str = "supergroup",
        title: str | None = None,
        *,
        is_forum: bool = False,
        admins: Iterable[int] = (),
        creator: int | None = None,
        members: Iterable[int] = (),
        username: str | None = None,
    ) -> EmuChat:
        """Register a group/supergroup (``admins`` may include the bot's own id).

        Unknown creator, admin and member ids become users named ``User<id>``.
        """
        if type not in ("group", "supergroup", "private", "channel"):
            raise ValueError(f"unknown chat type {type!r}")
        if is_forum and type != "supergroup":
            raise ValueError("only supergroups can be forums")
        admin_ids = list(admins)
        member_ids = list(members)
        for user_id in (*admin_ids, *member_ids, *([creator] if creator else [])):
            if user_id != self.bot_user.id:
                self._ensure_user(user_id)
        chat = EmuChat(
            id=id, type=type, title=title or f"Chat {id}", username=username,
            is_forum=is_forum, creator=creator, admins=admin_ids,
            members={*member_ids, *admin_ids, *([creator] if creator else []), self.bot_user.id},
        )
        self.chats[id] = chat
        return chat

    def upgrade_group(self, group_id: int, supergroup_id: int, *,
                      announce: bool = True) -> list[JSONDict]:
        """The group becomes a supergroup with a new id (same title, people and admins), as
        when its admins turn on a supergroup feature: sends to the old id are refused with
        `migrate_to_chat_id`. With `announce`, the two service messages Telegram sends are
        queued (old group: `migrate_to_chat_id`; supergroup: `migrate_from_chat_id`)."""
        group = self.chats[group_id]
        if group.type != "group":
            raise ValueError("only a basic group is upgraded")
        supergroup = self.add_chat(supergroup_id, "supergroup", group.title,
                                   creator=group.creator, admins=group.admins,
                                   members=group.members - {self.bot_user.id})
        group.migrated_to = supergroup.id
        if not announce:
            return []
        by = self.users[group.creator].to_api() if group.creator else None
        updates = []
        for chat, extra in ((group, {"migrate_to_chat_id": supergroup.id}),
                            (supergroup, {"migrate_from_chat_id": group.id})):
            message = self._new_message(chat, from_user=by or {}, extra=extra)
            updates.append(self._enqueue({"message": self.message_json(message)}))
        return updates

    def add_topic(self, chat_id: int, name: str, thread_id: int | None = None) -> int:
        """Create a forum topic; returns its ``message_thread_id``.

        As in Telegram, the thread id is the id of the ``forum_topic_created`` service
        message, and that message is the ``reply_to_message`` of every message in the topic.
        """
        chat = self._known_chat(chat_id)
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum")
        creator = self.users.get(chat.creator or 0)
        sender = creator.to_api() if creator else self.bot_user.to_api()
        if thread_id is None:
            thread_id = self._allocate_message_id(chat.id)
        else:
            counter = self._next_message_id
            counter[chat.id] = max(counter[chat.id], thread_id + 1)
        service = StoredMessage(
            chat_id=chat.id, message_id=thread_id, date=_now(), from_user=sender,
            thread_id=thread_id,
            extra={"forum_topic_created": {"name": name, "icon_color": _TOPIC_ICON_COLOR}},
        )
        self.messages[service.key] = service
        chat.topics[thread_id] = name
        return thread_id

    def block_user(self, user_id: int) -> None:
        """The user blocks the bot: later sends to them answer 403."""
        self._ensure_user(user_id).blocked_bot = True

    def unblock_user(self, user_id: int) -> None:
        self._ensure_user(user_id).blocked_bot = False

    def kick_bot(self, chat_id: int) -> None:
        """The bot is removed from a group: later sends there answer 403."""
        self._known_chat(chat_id).bot_kicked = True

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        chat_id: int | str | None = None,
        json_body: bool = True,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"`` = any) fail.

        ``chat_id`` restricts the rule to calls for that chat; ``after`` lets that many
        matching calls succeed first (a failure half-way). ``json_body=False`` answers with
        an HTML page, as Telegram's front end does for 502/504. A 429 always carries
        ``parameters.retry_after`` (default 1).
        """
        if status == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
        canonical = method if method == "*" else self._canonical_name(method)
        error = ApiError(status, description, retry_after=retry_after, json_body=json_body)
        self._failures.append(_FailureRule(canonical, error, times, chat_id, after))

    # ======================================================================================
    # update injection
    # ======================================================================================
    def inject_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """A user writes ``text``; returns the queued ``message`` update.

        Entities (bot_command incl. ``/cmd@BotName``, mention, hashtag, url) are computed like
        Telegram does; in a forum, an unknown ``thread_id`` creates that topic on the fly.
        """
        chat, user = self._actor(chat_id, user_id)
        if reply_to is not None:
            replied = self.messages.get((chat.id, reply_to))
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {chat.id} to reply to")
            if chat.is_forum and thread_id is None:
                thread_id = replied.thread_id
        if chat.is_forum and thread_id is not None and thread_id not in chat.topics:
            self.add_topic(chat.id, f"Topic {thread_id}", thread_id)
        message = self._new_message(
            chat, from_user=user.to_api(), thread_id=thread_id, reply_to=reply_to,
            text=text, entities=detect_entities(text),
        )
        return self._enqueue({"message": self.message_json(message)})

    def inject_callback(self, chat_id: int, user_id: int, message_id: int, data: str) -> JSONDict:
        """A user presses an inline button with ``data`` under message ``message_id``."""
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        _chat, user = self._actor(chat_id, user_id)
        query_id = str(4_200_000_000_000_000_000 + next(self._serial))
        self._callback_queries[query_id] = False
        return self._enqueue({"callback_query": {
            "id": query_id,
            "from": user.to_api(),
            "message": self.message_json(message),
            "chat_instance": str((chat_id * 2654435761) % 2**63),
            "data": data,
        }})

    def inject_poll_answer(
        self,
        poll_id: str,
        user_id: int,
        option_ids: list[int],
        *,
        with_poll_update: bool = True,
    ) -> JSONDict:
        """A user votes (``[]`` retracts). Returns the ``poll_answer`` update.

        As Telegram does, non-anonymous polls yield a ``poll_answer`` update and, since the bot
        sent the poll, a ``poll`` update with the new counts (``with_poll_update``); anonymous
        polls yield only the ``poll`` update, which is then returned.
        """
        poll = self.polls[poll_id]
        self._validate_vote(poll, user_id, option_ids)
        user = self._ensure_user(user_id)
        if option_ids:
            poll.votes[user_id] = list(option_ids)
        else:
            poll.votes.pop(user_id, None)
        answer = None
        if not poll.is_anonymous:
            answer = self._enqueue({"poll_answer": {
                "poll_id": poll.id,
                "user": user.to_api(),
                "option_ids": list(option_ids),
                "option_persistent_ids": [str(index) for index in option_ids],
            }})
        if with_poll_update or answer is None:
            poll_update = self._enqueue({"poll": poll.to_api()})
            answer = answer or poll_update
        return answer

    def inject_my_chat_member(
        self, chat_id: int, user_id: int, old_status: str, new_status: str
    ) -> JSONDict:
        """The bot's own membership changes (added, promoted, kicked, blocked in private).

        The emulator's state follows: ``kicked``/``left`` in a group makes sends answer 403,
        ``kicked`` in a private chat means the user blocked the bot.
        """
        chat, user = self._actor(chat_id, user_id, join=False)
        bot = self.bot_user.to_api()
        update = self._enqueue({"my_chat_member": {
            "chat": chat.to_api(),
            "from": user.to_api(),
            "date": _now(),
            "old_chat_member": member_json(bot, old_status, chat.type),
            "new_chat_member": member_json(bot, new_status, chat.type),
        }})
        self._apply_bot_status(chat, user, new_status)
        return update

    def inject_raw(self, update: JSONDict) -> JSONDict:
        """Queue any update dict; its ``update_id`` is replaced by the next one."""
        payload = {key: value for key, value in update.items() if key != "update_id"}
        return self._enqueue(payload)

    def redeliver(self, update: JSONDict) -> None:
        """Queue an already-confirmed update again, with its own ``update_id``: what a bot
        sees when its confirmation never reached Telegram (it died right after handling)."""
        if all(pending["update_id"] != update["update_id"] for pending in self._pending):
            self._pending.append(update)
            self._pending.sort(key=lambda pending: pending["update_id"])
        self._signal.fire()

    # ======================================================================================
    # inspection and waiting
    # ======================================================================================
    def sent_messages(
        self, chat_id: int | None = None, *, include_deleted: bool = False
    ) -> list[StoredMessage]:
        """Messages the bot sent (current state, in sending order)."""
        return [
            message for message in self._sent
            if (chat_id is None or message.chat_id == chat_id)
            and (include_deleted or not message.deleted)
        ]

    def calls_of(self, method: str) -> list[JSONDict]:
        """Params of every call of ``method`` (case-insensitive), in order."""
        canonical = self._canonical_name(method)
        return [params for name, params in self.calls if name == canonical]

    @property
    def commands(self) -> dict[str, list[JSONDict]]:
        """Default-scope command lists by ``language_code`` (``""`` = all languages)."""
        default = _scope_key(None)
        return {lang: cmds for (scope, lang), cmds in self.command_sets.items() if scope == default}

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        return self.command_sets.get((_scope_key(scope), language_code), [])

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates ``offset``."""
        return list(self._pending)

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0  # noqa: ASYNC109 - test API
    ) -> None:
        """Return as soon as ``predicate()`` is true; re-checked after every API request and
        injection. Raises ``TimeoutError`` after ``timeout`` seconds."""
        if not await self._signal.wait_until(predicate, timeout):
            raise TimeoutError(f"condition not met within {timeout}s")

    async def wait_for_calls(
        self, method: str, count: int = 1, timeout: float = 5.0  # noqa: ASYNC109 - test API
    ) -> list[JSONDict]:
        """Wait until ``count`` calls of ``method`` have been *answered* (so their effects are
        visible in the emulator's state); returns the params of all its calls."""
        canonical = self._canonical_name(method)
        try:
            await self.wait_for(lambda: self._completed[canonical] >= count, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{self._completed[canonical]} of {count} {canonical} calls after {timeout}s"
            ) from None
        return self.calls_of(canonical)

    # ======================================================================================
    # HTTP layer
    # ======================================================================================
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        method_name = request.match_info["method"]
        entry = self._methods.get(method_name.lower())
        if entry is None:
            return ApiError(404, "Not Found").response()
        canonical, handler = entry
        try:
            params = await _read_params(request)
        except ApiError as error:
            return error.response()
        self.calls.append((canonical, params))
        self._signal.fire()
        try:
            self._raise_injected_failure(canonical, params)
            self._check_flood_limits(canonical, params)
            result = await handler(params)
        except ApiError as error:
            return error.response()
        finally:
            self._completed[canonical] += 1
            self._signal.fire()
        self.answered.append((time.perf_counter(), canonical, params))
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type)
        return ApiError(404, "Not Found").response()

    async def _handle_unknown_path(self, request: web.Request) -> web.StreamResponse:
        return ApiError(404, "Not Found").response()

    def _raise_injected_failure(self, method: str, params: JSONDict) -> None:
        for rule in self._failures:
            if rule.matches(method, params):
                if rule.after > 0:
                    rule.after -= 1
                    return
                rule.times -= 1
                if rule.times <= 0:
                    self._failures.remove(rule)
                raise rule.error

    def _check_flood_limits(self, method: str, params: JSONDict) -> None:
        """Telegram's documented limits: 30 messages/s overall, 20/min per group."""
        if not self.enforce_limits or method not in SEND_METHODS:
            return
        now = self._clock()
        retry_after = _window_wait(self._global_sends, now, 1.0, self.global_limit_per_second)
        chat = self._chat_or_none(params)
        if chat is not None and chat.is_group:
            group_wait = _window_wait(
                self._group_sends[chat.id], now, 60.0, self.group_limit_per_minute
            )
            retry_after = max(retry_after, group_wait)
        if retry_after:
            self.rate_limited += 1
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}",
                           retry_after=retry_after)

    def _note_send(self, chat: EmuChat) -> None:
        now = self._clock()
        self._global_sends.append(now)
        if chat.is_group:
            self._group_sends[chat.id].append(now)

    # ======================================================================================
    # methods: bot, updates, webhooks
    # ======================================================================================
    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _always_true(self, params: JSONDict) -> bool:
        return True

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = _int_param(params, "offset", 0) or 0
        limit = min(max(_int_param(params, "limit", 100) or 100, 1), 100)
        timeout = max(_int_param(params, "timeout", 0) or 0, 0)
        if "allowed_updates" in params:
            self.allowed_updates = frozenset(params["allowed_updates"] or DEFAULT_ALLOWED_UPDATES)
        self._confirm_updates(offset)
        # A newer getUpdates terminates an older one still waiting, like Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        self._signal.fire()

        def ready() -> bool:
            return bool(self._deliverable()) or self._closing or (
                generation != self._poll_generation
            ) or bool(self.webhook.get("url"))

        self.waiting_polls += 1
        try:
            await self._signal.wait_until(ready, timeout)
        finally:
            self.waiting_polls -= 1
        if generation != self._poll_generation:
            raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
        return self._deliverable()[:limit]

    def _confirm_updates(self, offset: int) -> None:
        """``offset`` > 0 forgets updates below it; < 0 keeps only the last ``-offset``."""
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _deliverable(self) -> list[JSONDict]:
        """Pending updates of allowed types; disallowed ones are dropped for good."""
        self._pending = [u for u in self._pending if _update_type(u) in self.allowed_updates]
        return self._pending

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = _str_param(params, "url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "max_connections": _int_param(params, "max_connections", 40),
            "allowed_updates": params.get("allowed_updates"),
        }
        if params.get("allowed_updates") is not None:
            self.allowed_updates = frozenset(params["allowed_updates"] or DEFAULT_ALLOWED_UPDATES)
        if _bool_param(params, "drop_pending_updates"):
            self._pending.clear()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook = {}
        if _bool_param(params, "drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    # ======================================================================================
    # methods: messages
    # ======================================================================================
    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        text, html, entities = self._parse_text(
            params, "text", "parse_mode", "entities", MAX_TEXT_LENGTH, "message is too long"
        )
        if not text.strip():
            raise bad_request("message text is empty")
        return self._send(
            chat, params, text=text, html=html, entities=entities,
            parse_mode=_str_param(params, "parse_mode"),
            link_preview_options=_dict_or_none(params.get("link_preview_options")),
        )

    async def _send_document(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "document")

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        return self._send_media(params, "photo")

    def _send_media(self, params: JSONDict, kind: str) -> JSONDict:
        chat = self._target_chat(params)
        stored = self._input_file(params, kind)
        caption, caption_html, caption_entities = self._parse_text(
            params, "caption", "parse_mode", "caption_entities", MAX_CAPTION_LENGTH,
            "message caption is too long",
        )
        return self._send(
            chat, params, caption=caption or None, caption_html=caption_html or None,
            caption_entities=caption_entities, parse_mode=_str_param(params, "parse_mode"),
            **{kind: stored},
        )

    def _send(self, chat: EmuChat, params: JSONDict, **content: Any) -> JSONDict:
        """Common tail of every send method: markup, reply, thread, store, flood count."""
        markup = _parse_markup(params)
        reply = self._reply_target(chat, params)
        thread_id = self._thread_id(chat, params, reply)
        message = self._new_message(
            chat, from_user=self.bot_user.to_api(), thread_id=thread_id,
            reply_to=reply.message_id if reply else None, outgoing=True,
            reply_markup=markup,
            disable_notification=_bool_param(params, "disable_notification"),
            **content,
        )
        self._note_send(chat)
        return self.message_json(message)

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._target_chat(params)
        return True

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._own_message(params, "message to edit not found", "message can't be edited")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, html, entities = self._parse_text(
            params, "text", "parse_mode", "entities", MAX_TEXT_LENGTH, "message is too long"
        )
        if not text.strip():
            raise bad_request("message text is empty")
        markup = _parse_markup(params)
        if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.text, message.html, message.entities = text, html, entities
        message.parse_mode = _str_param(params, "parse_mode")
        message.reply_markup = markup
        message.link_preview_options = _dict_or_none(params.get("link_preview_options"))
        message.edit_date = _now()
        return self.message_json(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._own_message(params, "message to edit not found", "message can't be edited")
        markup = _parse_markup(params)
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.reply_markup = markup
        message.edit_date = _now()
        return self.message_json(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        chat = self._target_chat(params)
        message_id = _required_int(params, "message_id", "message identifier is not specified")
        message = self.messages.get((chat.id, message_id))
        if message is None:
            raise bad_request("message to delete not found")
        bot_is_admin = self.bot_user.id in chat.admins
        if chat.is_group and not message.outgoing and not bot_is_admin:
            raise bad_request("message can't be deleted")
        message.deleted = True
        del self.messages[message.key]
        self.deleted_messages.append(message)
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = _str_param(params, "callback_query_id") or ""
        if self._callback_queries.get(query_id, True):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(_str_param(params, "text") or "") > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        self.callback_answers.append(params)
        return True

    # ======================================================================================
    # methods: polls and files
    # ======================================================================================
    async def _send_poll(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        question = _str_param(params, "question") or ""
        if not question.strip():
            raise bad_request("poll question must be non-empty")
        if len(question) > 300:
            raise bad_request("poll question length must not exceed 300")
        options = _poll_options(params.get("options"))
        poll_type = _str_param(params, "type") or "regular"
        open_period = _int_param(params, "open_period")
        close_date = _int_param(params, "close_date")
        if open_period:
            close_date = _now() + open_period
        poll = StoredPoll(
            id=str(5_800_000_000_000_000_000 + next(self._serial)),
            question=question, options=options, chat_id=chat.id, message_id=0,
            is_anonymous=_bool_param(params, "is_anonymous", True),
            type=poll_type,
            allows_multiple_answers=_bool_param(params, "allows_multiple_answers"),
            allows_revoting=_bool_param(params, "allows_revoting", poll_type != "quiz"),
            members_only=_bool_param(params, "members_only"),
            is_closed=_bool_param(params, "is_closed"),
            open_period=open_period, close_date=close_date,
            correct_option_ids=_correct_options(params),
            explanation=_str_param(params, "explanation"),
        )
        self.polls[poll.id] = poll
        result = self._send(chat, params, poll_id=poll.id)
        poll.message_id = result["message_id"]
        return result

    async def _stop_poll(self, params: JSONDict) -> JSONDict:
        chat = self._target_chat(params)
        message_id = _required_int(params, "message_id", "message identifier is not specified")
        message = self.messages.get((chat.id, message_id))
        if message is None or message.poll_id is None:
            raise bad_request("message with poll to stop not found")
        poll = self.polls[message.poll_id]
        if poll.is_closed:
            raise bad_request("poll has already been closed")
        poll.is_closed = True
        if "reply_markup" in params:
            message.reply_markup = _parse_markup(params)
        return poll.to_api()

    async def _get_file(self, params: JSONDict) -> JSONDict:
        return self._stored_file(_str_param(params, "file_id") or "").file_json()

    def _stored_file(self, file_id: str) -> StoredFile:
        stored = self.files.get(file_id) or self.files.get(file_id.removesuffix("_s"))
        if stored is None:
            raise bad_request("invalid file_id")
        return stored

    def _input_file(self, params: JSONDict, kind: str) -> StoredFile:
        """Resolve an InputFile param: multipart upload, ``attach://``, file_id or URL."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            return self._store_upload(value, kind)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        if str(value).startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self._stored_file(str(value))
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _store_upload(self, upload: Upload, kind: str) -> StoredFile:
        if not upload.data:
            raise bad_request("file must be non-empty")
        width = height = 0
        if kind == "photo":
            size = image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
        number = next(self._serial)
        suffix = PurePosixPath(upload.filename).suffix or (".jpg" if kind == "photo" else "")
        mime_type = upload.mime_type
        if mime_type in ("", "application/octet-stream"):
            mime_type = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        prefix = "AgACAgIAAxkDAAI" if kind == "photo" else "BQACAgIAAxkDAAI"
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{secrets.token_hex(8)}",
            file_unique_id=f"AgAD{number:04d}{secrets.token_hex(4)}",
            kind=kind, file_name=upload.filename, mime_type=mime_type, data=upload.data,
            file_path=f"{kind}s/file_{number}{suffix}", width=width, height=height,
        )
        self.files[stored.file_id] = stored
        return stored

    # ======================================================================================
    # methods: chats and commands
    # ======================================================================================
    async def _get_chat(self, params: JSONDict) -> JSONDict:
        return self._resolve_chat(params).full_info()

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat = self._resolve_chat(params)
        user_id = _required_int(params, "user_id", "user not found")
        return self._member_of(chat, user_id)

    async def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat = self._resolve_chat(params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = [*([chat.creator] if chat.creator else []), *chat.admins]
        return [self._member_of(chat, user_id) for user_id in ids]

    def _member_of(self, chat: EmuChat, user_id: int) -> JSONDict:
        if user_id == self.bot_user.id:
            status = "kicked" if chat.bot_kicked else chat.status_of(user_id)
            return member_json(self.bot_user.to_api(), status, chat.type)
        user = self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return member_json(user.to_api(), chat.status_of(user_id), chat.type)

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        cleaned = [_validated_command(command) for command in commands]
        key = self._commands_key(params)
        if cleaned:
            self.command_sets[key] = cleaned
        else:
            self.command_sets.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.command_sets.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.command_sets.pop(self._commands_key(params), None)
        return True

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        language_code = _str_param(params, "language_code") or ""
        if language_code and not (len(language_code) == 2 and language_code.isalpha()):
            raise bad_request("invalid language code specified")
        return _scope_key(_dict_or_none(params.get("scope"))), language_code

    # ======================================================================================
    # shared internals
    # ======================================================================================
    def _canonical_name(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        return entry[0] if entry else method

    def _known_chat(self, chat_id: int) -> EmuChat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}: call add_chat/add_user first")
        return chat

    def _ensure_user(self, user_id: int) -> EmuUser:
        if user_id not in self.users:
            self.add_user(user_id, f"User{user_id}")
        return self.users[user_id]

    def _actor(self, chat_id: int, user_id: int, *, join: bool = True) -> tuple[EmuChat, EmuUser]:
        """Chat and user for an injected update; a private message implies /start."""
        user = self._ensure_user(user_id)
        chat = self._known_chat(chat_id)
        if chat.type == "private" and join:
            user.started_bot, user.blocked_bot = True, False
        elif chat.is_group and join:
            chat.members.add(user_id)
        return chat, user

    def _apply_bot_status(self, chat: EmuChat, user: EmuUser, status: str) -> None:
        if chat.type == "private":
            user.blocked_bot = status == "kicked"
            user.started_bot = user.started_bot or status == "member"
            return
        chat.bot_kicked = status in ("kicked", "left")
        bot_id = self.bot_user.id
        if status == "administrator" and bot_id not in chat.admins:
            chat.admins.append(bot_id)
        elif status != "administrator" and bot_id in chat.admins:
            chat.admins.remove(bot_id)

    def _validate_vote(self, poll: StoredPoll, user_id: int, option_ids: list[int]) -> None:
        if poll.is_closed:
            raise ValueError(f"poll {poll.id} is closed")
        if any(not 0 <= index < len(poll.options) for index in option_ids):
            raise ValueError(f"option ids {option_ids} out of range")
        if len(option_ids) > 1 and not poll.allows_multiple_answers:
            raise ValueError("poll does not allow multiple answers")
        if user_id in poll.votes and not poll.allows_revoting:
            raise ValueError("poll does not allow changing a vote")

    def _enqueue(self, payload: JSONDict) -> JSONDict:
        update = {"update_id": next(self._update_ids), **payload}
        self.enqueued_at[update["update_id"]] = time.perf_counter()
        self.updates.append(update)
        self._pending.append(update)
        self._signal.fire()
        return update

    def _resolve_chat(self, params: JSONDict) -> EmuChat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            chat = next((c for c in self.chats.values()
                         if (c.username or "").lower() == wanted), None)
        else:
            chat = self.chats.get(_int_param(params, "chat_id") or 0)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _chat_or_none(self, params: JSONDict) -> EmuChat | None:
        try:
            return self._resolve_chat(params)
        except ApiError:
            return None

    def _target_chat(self, params: JSONDict) -> EmuChat:
        """The chat a send goes to, refusing it with Telegram's 403s where applicable."""
        chat = self._resolve_chat(params)
        if chat.type == "private":
            user = self.users[chat.id]
            if user.is_bot:
                raise forbidden("bot can't send messages to bots")
            if user.blocked_bot:
                raise forbidden("bot was blocked by the user")
            if not user.started_bot:
                raise forbidden("bot can't initiate conversation with a user")
        elif chat.bot_kicked:
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        elif chat.migrated_to is not None:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           parameters={"migrate_to_chat_id": chat.migrated_to})
        return chat

    def _own_message(self, params: JSONDict, missing: str, not_own: str) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = _required_int(params, "message_id", "message identifier is not specified")
        message = self.messages.get((chat.id, message_id))
        if message is None:
            raise bad_request(missing)
        if not message.outgoing:
            raise bad_request(not_own)
        return message

    def _reply_target(self, chat: EmuChat, params: JSONDict) -> StoredMessage | None:
        reply = _dict_or_none(params.get("reply_parameters"))
        if reply is not None:
            message_id = _int_param(reply, "message_id")
            allow_missing = _bool_param(reply, "allow_sending_without_reply")
        elif params.get("reply_to_message_id") is not None:
            message_id = _int_param(params, "reply_to_message_id")
            allow_missing = _bool_param(params, "allow_sending_without_reply")
        else:
            return None
        target = self.messages.get((chat.id, message_id or 0))
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    def _thread_id(
        self, chat: EmuChat, params: JSONDict, reply: StoredMessage | None
    ) -> int | None:
        thread_id = _int_param(params, "message_thread_id")
        if thread_id is None and reply is not None and chat.is_forum:
            thread_id = reply.thread_id
        if thread_id is not None and thread_id not in chat.topics:
            raise bad_request("message thread not found")
        return thread_id

    def _parse_text(
        self,
        params: JSONDict,
        text_key: str,
        mode_key: str,
        entities_key: str,
        limit: int,
        too_long: str,
    ) -> tuple[str, str | None, list[JSONDict]]:
        """(plain text, HTML source or None, entities), validated like Telegram does."""
        source = _str_param(params, text_key) or ""
        mode = (_str_param(params, mode_key) or "").lower()
        if mode not in ("", "html", "markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        if mode == "html":
            try:
                text, entities = parse_html(source, strict=self.strict_html)
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
            html: str | None = source
            self._resolve_text_mentions(entities)
        else:
            # Markdown modes are accepted but not interpreted: text is stored verbatim.
            text, html = source, None
            raw_entities = params.get(entities_key)
            entities = raw_entities if isinstance(raw_entities, list) else []
        if utf16_len(text) > limit:
            raise bad_request(too_long)
        return text, html, entities

    def _resolve_text_mentions(self, entities: list[JSONDict]) -> None:
        """``<a href="tg://user?id=N">`` mentions carry the full user when it is known."""
        for entity in entities:
            user = self.users.get(entity["user"]["id"]) if "user" in entity else None
            if user is not None:
                entity["user"] = user.to_api()

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _new_message(
        self,
        chat: EmuChat,
        *,
        from_user: JSONDict,
        thread_id: int | None = None,
        reply_to: int | None = None,
        outgoing: bool = False,
        **content: Any,
    ) -> StoredMessage:
        message = StoredMessage(
            chat_id=chat.id, message_id=self._allocate_message_id(chat.id), date=_now(),
            from_user=from_user, thread_id=thread_id, reply_to_message_id=reply_to,
            outgoing=outgoing, **content,
        )
        self.messages[message.key] = message
        if outgoing:
            self._sent.append(message)
        return message

    def message_json(self, message: StoredMessage, *, nested: bool = False) -> JSONDict:
        """The Bot API ``Message`` for a stored message (one level of ``reply_to_message``)."""
        chat = self.chats[message.chat_id]
        result: JSONDict = {"message_id": message.message_id}
        if message.from_user:
            result["from"] = message.from_user
        result["chat"] = chat.to_api()
        result["date"] = message.date
        if message.thread_id is not None:
            result["message_thread_id"] = message.thread_id
            if chat.is_forum:
                result["is_topic_message"] = True
        result.update(message.content_json())
        if message.poll_id:
            result["poll"] = self.polls[message.poll_id].to_api()
        replied = None if nested else self._replied_message(chat, message)
        if replied is not None:
            result["reply_to_message"] = self.message_json(replied, nested=True)
        return result

    def _replied_message(self, chat: EmuChat, message: StoredMessage) -> StoredMessage | None:
        if message.reply_to_message_id is not None:
            return self.messages.get((chat.id, message.reply_to_message_id))
        is_topic_root = message.message_id == message.thread_id
        if chat.is_forum and message.thread_id is not None and not is_topic_root:
            return self.messages.get((chat.id, message.thread_id))
        return None


# --- module helpers -----------------------------------------------------------------------

def _now() -> int:
    return int(time.time())


def _update_type(update: JSONDict) -> str:
    return next(key for key in update if key != "update_id")


def _scope_key(scope: JSONDict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _dict_or_none(value: Any) -> JSONDict | None:
    return value if isinstance(value, dict) else None


def _window_wait(sends: deque[float], now: float, window: float, limit: int) -> int:
    """Seconds (rounded up, >= 1) until a sliding-window limit admits one more send."""
    while sends and sends[0] <= now - window:
        sends.popleft()
    if len(sends) < limit:
        return 0
    return max(1, math.ceil(sends[0] + window - now))


async def _read_params(request: web.Request) -> JSONDict:
    """Query string plus a form-urlencoded, multipart or JSON body, decoded."""
    raw: list[tuple[str, Any]] = list(request.query.items())
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON encoded request body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            raw.extend(body.items())
        elif request.content_type in ("application/x-www-form-urlencoded",
                                      "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    value = Upload(value.filename, value.content_type, value.file.read())
                raw.append((name, value))
    return {name: decode_param(name, value) for name, value in raw}


def _parse_markup(params: JSONDict) -> JSONDict | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard markup JSON object")
    for row in rows:
        for button in row:
            _validate_inline_button(button)
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not str(button.get("text") or "").strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if not _BUTTON_ACTIONS & button.keys():
        raise bad_request("can't parse inline keyboard button: "
                          "Text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


def _poll_options(raw: Any) -> list[str]:
    """Options as plain strings; PTB 22.8 sends ``InputPollOption`` objects."""
    if not isinstance(raw, list):
        raise bad_request("poll options must be an array")
    texts = [str(option.get("text", "")) if isinstance(option, dict) else str(option)
             for option in raw]
    if not texts:
        raise bad_request("poll must have at least 1 option")
    if len(texts) > MAX_POLL_OPTIONS:
        raise bad_request(f"poll can't have more than {MAX_POLL_OPTIONS} options")
    if any(not 1 <= len(text) <= 100 for text in texts):
        raise bad_request("poll options length must not exceed 100")
    return texts


def _correct_options(params: JSONDict) -> list[int]:
    if isinstance(params.get("correct_option_ids"), list):
        return [int(index) for index in params["correct_option_ids"]]
    single = _int_param(params, "correct_option_id")
    return [] if single is None else [single]


def _validated_command(command: Any) -> JSONDict:
    if not isinstance(command, dict):
        raise bad_request("can't parse BotCommand JSON object")
    name = str(command.get("command", ""))
    description = str(command.get("description", ""))
    if not _COMMAND_NAME.fullmatch(name):
        raise bad_request("BOT_COMMAND_INVALID")
    if not 1 <= len(description) <= 256:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": name, "description": description}
