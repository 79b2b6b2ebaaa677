"""Matrix room events as `bot.events`.

- a text message (`m.text`) is a `CommandEvent` if it starts with `!` (Matrix clients keep
  `/` for themselves), else a `TextEvent`; edits of messages and the reply fallback quoted
  at the top of old-style replies are left out;
- a reaction (`m.reaction`) is an `ActionEvent` naming the message reacted to and the key;
  its redaction is the same action with `undo`. A redaction names only the reaction's event
  id, so the adapter remembers (`reaction:<event id>` in its memory) what each reaction
  that acted on something was — and a restart still understands a later redaction;
- a poll response (both event types) to one of the bot's polls is a `PollAnswerEvent` with
  `poll_id` and `message_id` = the poll's start event id (what the bot's delivery returned);
- the bot's own events never count (its seeded reactions among them).

What arrives is untrusted: shapes are checked, lengths cut, nothing is parsed as markup.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import nio

from adapters.matrix import polls
from adapters.matrix.render import USER_ID
from adapters.matrix.rooms import Rooms
from adapters.matrix.state import AdapterMemory
from bot.commands import split_command
from bot.events import (
    ActionEvent,
    ActionOutcome,
    ChatRef,
    CommandEvent,
    Event,
    MembershipEvent,
    PollAnswerEvent,
    Sender,
    TextEvent,
)

log = logging.getLogger(__name__)

PLATFORM = "matrix"
MAX_NAME = 200
MAX_KEY = 64  # a reaction key longer than any emoji sequence is nobody's button
MAX_MENTIONS = 20
_PILL = re.compile(r"""href=["']https://matrix\.to/#/((?:@|%40)[^"'?/]+)""")


def relation(content: Any) -> Mapping[str, Any]:
    value = content.get("m.relates_to") if isinstance(content, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted text` lines old clients put before a reply's own text."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


def clip(text: str | None, limit: int = MAX_NAME) -> str | None:
    return text[:limit] if text else None


def mentioned_users(content: Mapping[str, Any]) -> tuple[str, ...]:
    """Who a message mentions: its `m.mentions` (intentional mentions), else the pills in
    its HTML (clients before Matrix 1.7)."""
    listed = content.get("m.mentions")
    ids = listed.get("user_ids") if isinstance(listed, Mapping) else None
    if not isinstance(ids, list):
        html = content.get("formatted_body")
        ids = [unquote(m) for m in _PILL.findall(html)] if isinstance(html, str) else []
    valid = (i for i in ids if isinstance(i, str) and USER_ID.match(i))
    return tuple(dict.fromkeys(valid))[:MAX_MENTIONS]


class Inbound:
    """Translates timeline events into core events (None for what the bot ignores)."""

    def __init__(self, client: nio.AsyncClient, rooms: Rooms, memory: AdapterMemory) -> None:
        self.client = client
        self.rooms = rooms
        self.memory = memory

    # --- who and where -----------------------------------------------------------------

    async def chat(self, room: nio.MatrixRoom, thread_id: str | None = None) -> ChatRef:
        private = await self.rooms.is_direct(room.room_id)
        title = None if private else clip(room.name or room.canonical_alias)
        return ChatRef(PLATFORM, room.room_id, is_private=private, title=title,
                       thread_id=thread_id)

    async def sender(self, room: nio.MatrixRoom, user_id: str) -> Sender:
        """`username` is the localpart (`@giulia:example.org` → `giulia`), so that members
        can name each other as they would on Telegram. In a DM room the member's power
        (100 there) administers nothing."""
        localpart = user_id.partition(":")[0].lstrip("@")
        name = room.user_name(user_id) or localpart or user_id
        private = await self.rooms.is_direct(room.room_id)
        admin = not private and await self.rooms.administers(room, user_id)
        return Sender(user_id=user_id, display_name=clip(name) or user_id,
                      username=clip(localpart.lower()), is_chat_admin=admin)

    async def _base(self, room: nio.MatrixRoom, event: nio.Event, *, user_id: str | None = None,
                    thread_id: str | None = None) -> dict[str, Any]:
        return {"platform": PLATFORM, "event_id": event.event_id,
                "chat": await self.chat(room, thread_id),
                "sender": await self.sender(room, user_id or event.sender)}

    # --- events ------------------------------------------------------------------------

    async def translate(self, room: nio.MatrixRoom, event: nio.Event) -> Event | None:
        """The core event for a timeline event, or None for what the bot ignores."""
        if event.sender == self.client.user_id:
            return None
        match event:
            case nio.RoomMessageText():
                return await self._text(room, event)
            case nio.ReactionEvent():
                return await self._reaction(room, event)
            case nio.RedactionEvent():
                return await self._redaction(room, event)
            case nio.UnknownEvent() if event.type in polls.RESPONSE_TYPES:
                return await self._poll_response(room, event)
            case nio.MegolmEvent():
                log.warning("cannot decrypt event %s in %s (session %s)", event.event_id,
                            room.room_id, event.session_id,
                            extra={"platform": "matrix", "room_id": room.room_id})
        return None

    async def joined(self, room: nio.MatrixRoom, event: nio.Event, by: str) -> MembershipEvent:
        """The bot's join of `room`, on behalf of `by` (who invited it, when known)."""
        return MembershipEvent(**await self._base(room, event, user_id=by), joined=True)

    async def left(self, room_id: str, event_id: str, kicker: str) -> MembershipEvent:
        chat = ChatRef(PLATFORM, room_id, title=None)
        return MembershipEvent(PLATFORM, event_id, chat, Sender(kicker, kicker), joined=False)

    async def _text(self, room: nio.MatrixRoom, event: nio.RoomMessageText) -> Event | None:
        related = relation(event.source.get("content"))
        if related.get("rel_type") == "m.replace":
            return None  # an edited message is not a new command
        thread = related.get("event_id") if related.get("rel_type") == "m.thread" else None
        body = strip_reply_fallback(event.body if isinstance(event.body, str) else "")
        base = await self._base(room, event, thread_id=thread if isinstance(thread, str) else None)
        command = split_command(body, prefixes="!")
        if command:
            content = event.source.get("content") or {}
            mentions = tuple(u for u in mentioned_users(content) if u != self.client.user_id)
            return CommandEvent(**base, name=command[0], args=command[1],
                                message_id=event.event_id, mentions=mentions,
                                reply_to_user=await self._author_of_reply(room, related))
        return TextEvent(**base, text=body, message_id=event.event_id)

    async def _author_of_reply(self, room: nio.MatrixRoom,
                               related: Mapping[str, Any]) -> str | None:
        """The author of the message a command answers (asked from the server)."""
        if related.get("is_falling_back") is True:
            return None  # a thread's fallback, not a real reply
        reply = related.get("m.in_reply_to")
        event_id = reply.get("event_id") if isinstance(reply, Mapping) else None
        if not isinstance(event_id, str) or not event_id:
            return None
        response = await self.client.room_get_event(room.room_id, event_id)
        if isinstance(response, nio.RoomGetEventError):
            return None
        author = response.event.sender
        return author if author != self.client.user_id else None

    async def _reaction(self, room: nio.MatrixRoom, event: nio.ReactionEvent) -> Event | None:
        if not event.key or len(event.key) > MAX_KEY or not event.reacts_to:
            return None
        return ActionEvent(**await self._base(room, event), message_id=event.reacts_to,
                           key=event.key)

    async def remember_reaction(self, room: nio.MatrixRoom, event: Event,
                                outcome: ActionOutcome | None) -> None:
        """After the core handled a reaction: remember it if it acted on something (or was
        handled before, when the outcome is unknown), so that its redaction can undo it."""
        if not isinstance(event, ActionEvent) or event.undo or event.message_id is None:
            return
        if outcome is not None and not outcome.ok:
            return
        await self.memory.set_json("reaction", event.event_id, {
            "room": room.room_id, "message": event.message_id, "key": event.key,
            "sender": event.sender.user_id})

    async def _redaction(self, room: nio.MatrixRoom, event: nio.RedactionEvent) -> Event | None:
        known = await self.memory.get_json("reaction", event.redacts or "")
        if not isinstance(known, dict) or known.get("room") != room.room_id:
            return None
        await self.memory.forget("reaction", event.redacts)
        # The action undone is the reactor's, whoever removed the reaction (a moderator may).
        return ActionEvent(**await self._base(room, event, user_id=known["sender"]),
                           message_id=known["message"], key=known["key"], undo=True)

    async def _poll_response(self, room: nio.MatrixRoom, event: nio.UnknownEvent) -> Event | None:
        content = event.source.get("content")
        if not isinstance(content, Mapping):
            return None
        poll_id = polls.responded_poll(content)
        known = await self.memory.get_json("poll", poll_id) if poll_id else None
        if not isinstance(known, dict) or known.get("room") != room.room_id:
            return None  # not one of the bot's polls
        if known.get("closed"):
            return None  # MSC3381: responses after the end do not count
        chosen = polls.chosen_options(event.type, content, int(known["options"]),
                                      int(known["max"]))
        if chosen is None:
            return None
        # The poll's start event is both the poll's id and its message (posted_messages).
        return PollAnswerEvent(**await self._base(room, event), poll_id=poll_id or "",
                               options=chosen, message_id=poll_id)
