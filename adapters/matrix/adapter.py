"""The Matrix adapter: lifecycle, and delivery of the core's messages as Matrix events.

Delivery, by what the message holds:
- text: `m.text` (`m.notice` when silent) with HTML and a plain body, the actions' text
  forms under it; a reply to `reply_to`, in the thread it came from;
- `edit_of`: an `m.replace` edit; the message keeps its event id;
- actions with an emoji: the bot seeds one reaction per emoji under the message (on an
  edit, only the ones missing, and it takes back those no longer offered);
- `poll`: an `m.poll.start`, remembered so that responses to it are understood;
  `close_poll`: an `m.poll.end` referring to it;
- `attachment`: uploaded (encrypted in encrypted rooms), then `m.file` or `m.image`;
- a person (`Destination.user_id`): their DM room, made on first use.

Errors become `RetryLater` / `Unreachable` / `Rejected` (see `errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import re
from pathlib import PurePosixPath
from typing import Any

import nio
from nio.api import RelationshipType

from adapters.base import (
    Adapter,
    Capabilities,
    CoreHandle,
    Delivered,
    Outgoing,
    Rejected,
    RetryLater,
    Unreachable,
)
from adapters.matrix import polls
from adapters.matrix.content import (
    edit_content,
    file_content,
    reaction_content,
    relate,
    text_content,
)
from adapters.matrix.errors import TRANSPORT_ERRORS, delivery_error
from adapters.matrix.media import file_info, upload
from adapters.matrix.render import Rendered, render, render_message, split_blocks
from adapters.matrix.rooms import Rooms
from adapters.matrix.session import LoginFailed, login, make_client
from adapters.matrix.state import AdapterMemory
from adapters.matrix.sync import Receiver
from bot.config import MatrixConfig
from bot.i18n import translator
from bot.messages import Action, OutMessage, message_to_json

log = logging.getLogger(__name__)

_delivery_key: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "matrix_delivery_key", default=None)

PLATFORM = "matrix"
# A Matrix event is at most 64 KiB of JSON, in which nio writes every accented letter as
# six bytes (\u00e8). An edit carries the text three times (the plain fallback, and body
# and HTML in the new content) and encryption adds a third (base64): 6,000 characters of
# Italian text with markup stay well under the limit (see test_adapter_units).
MAX_TEXT = 6_000
READY_WAIT = 2.0  # at start; longer would hold up the delivery pass of every platform
STOP_GRACE = 10.0  # seconds the sync being handled may take to finish when the bot stops
SEED_RETRIES = 3
MAX_SEED_WAIT = 5.0
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_filename(name: str) -> str:
    cleaned = _UNSAFE_NAME.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip()
    return cleaned[:200] if cleaned.strip(".") else "file"


def action_emojis(actions: tuple[tuple[Action, ...], ...]) -> list[str]:
    return list(dict.fromkeys(a.emoji for row in actions for a in row if a.emoji))


def flat(actions: tuple[tuple[Action, ...], ...]) -> list[Action]:
    return [action for row in actions for action in row]


class MatrixAdapter(Adapter):
    platform = PLATFORM
    capabilities = Capabilities(buttons=False, reactions=True, edits=True, native_polls=True,
                                files=True, images=True, direct_messages=True,
                                max_text=MAX_TEXT)

    def __init__(self, config: MatrixConfig, *, default_locale: str = "it") -> None:
        self.config = config
        self.locale = default_locale  # for what the bot says before any chat has a language
        self.client: nio.AsyncClient | None = None
        self.memory: AdapterMemory | None = None
        self.rooms: Rooms | None = None
        self.receiver: Receiver | None = None
        self._task: asyncio.Task[None] | None = None

    def command_hint(self, command: str) -> str:
        return f"!{command}"

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, core: CoreHandle) -> None:
        """Log in and sync in the background: a homeserver that is down delays Matrix only."""
        self.memory = AdapterMemory(core.state)
        self.client = make_client(self.config)
        self.rooms = Rooms(self.client, self.memory,
                           facilitator_power_level=self.config.facilitator_power_level,
                           encryption=self.config.encryption)
        reason = translator(self.locale).p_(
            "I only join rooms when invited from the cooperative's servers.")
        self.receiver = Receiver(self.client, core, self.memory, self.rooms,
                                 allowed_servers=self.config.allowed_servers,
                                 decline_reason=reason)
        self._task = asyncio.create_task(self._run(), name="matrix-sync")

    async def _run(self) -> None:
        assert self.client and self.memory and self.receiver
        failures = 0
        while True:
            try:
                await login(self.client, self.config, self.memory)
                break
            except LoginFailed as exc:
                log.error("Matrix login failed, Matrix stays off: %s", exc)
                return
            except TRANSPORT_ERRORS as exc:
                failures += 1
                log.warning("homeserver unreachable (%r); trying again", exc)
                await asyncio.sleep(min(2.0 ** failures, 60.0))
            except Exception:  # the crypto store cannot be opened, and the like
                log.exception("Matrix could not start, Matrix stays off")
                return
        await self.receiver.run()

    @property
    def ready(self) -> asyncio.Event:
        """Set once the first sync was handled: nio then knows the bot's rooms."""
        assert self.receiver is not None
        return self.receiver.ready

    def healthy(self) -> bool:
        return self.receiver is not None and self.receiver.healthy()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.receiver is not None:
            await self.receiver.finish_step(STOP_GRACE)
        if self.client is not None:
            await self.client.close()

    # --- delivery ----------------------------------------------------------------------

    async def deliver(self, item: Outgoing) -> Delivered:
        if self.receiver is None or self.client is None:
            raise RetryLater("the Matrix adapter is not started")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(READY_WAIT):
                await self.receiver.ready.wait()
        if not self.receiver.ready.is_set():
            raise RetryLater("not synced with the homeserver yet")
        _delivery_key.set(item.idempotency_key)  # this task's: deliveries run side by side
        try:
            return await self._deliver(item)
        except TRANSPORT_ERRORS as exc:
            raise RetryLater(f"network: {exc!r}") from None
        except nio.LocalProtocolError as exc:
            raise RetryLater(f"room not ready: {exc}") from None

    async def _deliver(self, item: Outgoing) -> Delivered:
        message = item.message
        room_id = await self._room_for(item)
        if message.close_poll:
            return await self._close_poll(room_id, item)
        if message.poll:
            event_id = await self._send_poll(room_id, item)
        elif message.attachment:
            event_id = await self._send_file(room_id, item)
        elif item.edit_of:
            event_id = await self._edit(room_id, item.edit_of, message)
        else:
            event_id = await self._send_text(room_id, item)
        await self._seed(room_id, event_id, message.actions, edited=item.edit_of == event_id)
        return Delivered(message_id=event_id, chat_id=room_id)

    async def _room_for(self, item: Outgoing) -> str:
        assert self.rooms and self.receiver
        if item.edit_of and item.edit_chat_id:
            return item.edit_chat_id
        destination = item.destination
        if destination.chat_id:
            return destination.chat_id
        if destination.user_id:
            return await self.rooms.dm_room(destination.user_id, self.receiver.wait_for_room)
        raise Rejected("no destination")

    async def _send(self, room_id: str, event_type: str, content: dict[str, Any],
                    part: str) -> str:
        """Send one event (encrypted if the room is); its event id. `part` names the event
        within the delivery: with the delivery's key it makes the transaction id, the same
        at every attempt, so that the homeserver takes a resend after a crash as the event
        it already has (the Matrix spec's idempotent sends)."""
        client = self.client
        assert client is not None and self.receiver is not None
        room = client.rooms.get(room_id)
        if room is None and client.olm is not None:
            if not await self._in_room(room_id):
                raise Unreachable(f"the bot is not in {room_id}")
            if not await self.receiver.wait_for_room(room_id, 5.0):
                raise RetryLater(f"{room_id} not synced yet")
            room = client.rooms[room_id]
        if room is not None and room.encrypted:
            await self.receiver.query_keys()
        key = _delivery_key.get()
        response = await client.room_send(room_id, event_type, content,
                                          tx_id=f"pzb.{key}.{part}" if key else None,
                                          ignore_unverified_devices=True)
        if isinstance(response, nio.RoomSendError):
            in_room = response.status_code != "M_FORBIDDEN" or await self._in_room(room_id)
            raise delivery_error(response, still_in_room=in_room)
        return str(response.event_id)

    async def _in_room(self, room_id: str) -> bool:
        """Whether the bot is joined to `room_id` (True when the server cannot say)."""
        assert self.client is not None
        response = await self.client.joined_rooms()
        if isinstance(response, nio.JoinedRoomsError):
            return True
        return room_id in response.rooms

    def _encrypted(self, room_id: str) -> bool:
        assert self.client is not None
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted and self.client.olm is not None)

    # --- kinds of messages -------------------------------------------------------------

    async def _send_text(self, room_id: str, item: Outgoing) -> str:
        """One message, or — longer than `MAX_TEXT` — several, cut between paragraphs, the
        actions under the last. How far a cut message got is remembered until it is all
        sent, so that a retry after a failure in the middle sends no part twice."""
        assert self.memory is not None
        message = item.message
        parts = split_blocks(message.text, MAX_TEXT)
        progress = hashlib.sha256(json.dumps(
            [room_id, message_to_json(message)], sort_keys=True).encode()).hexdigest()
        sent: list[str] = (await self.memory.get_json("parts", progress) or []
                           if len(parts) > 1 else [])
        for index, part in enumerate(parts[len(sent):], start=len(sent)):
            last = index == len(parts) - 1
            rendered = render_message(part, flat(message.actions) if last else ())
            content = text_content(rendered, notice=message.silent)
            relate(content, reply_to=message.reply_to if index == 0 else None,
                   thread_id=item.destination.thread_id)
            sent.append(await self._send(room_id, "m.room.message", content, f"text{index}"))
            if len(parts) > 1 and not last:
                await self.memory.set_json("parts", progress, sent)
        if len(parts) > 1:
            await self.memory.forget("parts", progress)
        return sent[-1]

    async def _edit(self, room_id: str, original_id: str, message: OutMessage) -> str:
        parts = split_blocks(message.text, MAX_TEXT)
        if len(parts) > 1:
            log.warning("an edit longer than %s characters was cut", MAX_TEXT)
        rendered = render_message(parts[0], flat(message.actions))
        content = edit_content(text_content(rendered, notice=message.silent), original_id)
        await self._send(room_id, "m.room.message", content, "edit")
        return original_id  # the message keeps its id: reactions and later edits refer to it

    async def _send_poll(self, room_id: str, item: Outgoing) -> str:
        assert self.memory is not None
        message = item.message
        assert message.poll is not None
        intro = render_message(message.text, flat(message.actions))
        content = polls.start_content(message.poll, intro)
        relate(content, thread_id=item.destination.thread_id)
        event_id = await self._send(room_id, polls.START, content, "poll")
        await self.memory.set_json("poll", event_id, {
            "room": room_id, "options": len(message.poll.options),
            "max": polls.max_selections(message.poll), "question": message.poll.question[:200]})
        return event_id

    async def _close_poll(self, room_id: str, item: Outgoing) -> Delivered:
        assert self.memory is not None and item.edit_of is not None
        start_id = item.edit_of
        known = await self.memory.get_json("poll", start_id)
        text = render(item.message.text).body
        if not text and isinstance(known, dict):
            text = str(known.get("question", ""))
        await self._send(room_id, polls.END, polls.end_content(start_id, text), "end")
        if isinstance(known, dict):
            await self.memory.set_json("poll", start_id, {**known, "closed": True})
        return Delivered(message_id=start_id, chat_id=room_id)

    async def _send_file(self, room_id: str, item: Outgoing) -> str:
        assert self.client is not None
        message = item.message
        attachment = message.attachment
        assert attachment is not None
        filename = safe_filename(attachment.filename)
        source = await upload(self.client, attachment, filename,
                              encrypt=self._encrypted(room_id))
        caption: Rendered | None = None
        if message.text.blocks or message.actions:
            caption = render_message(message.text, flat(message.actions))
        content = file_content(
            msgtype="m.image" if attachment.is_image else "m.file",
            filename=filename, info=file_info(attachment),
            source=source, caption=caption)
        relate(content, reply_to=message.reply_to, thread_id=item.destination.thread_id)
        return await self._send(room_id, "m.room.message", content, "file")

    # --- reactions as buttons ----------------------------------------------------------

    async def _seed(self, room_id: str, event_id: str,
                    actions: tuple[tuple[Action, ...], ...], *, edited: bool) -> None:
        """Put one reaction per action emoji under the message; on an edit, add the missing
        ones and take back those no longer offered. Best effort: the message was accepted,
        and every action also has a text form."""
        wanted = action_emojis(actions)
        if not wanted and not edited:
            return
        try:
            mine = await self._own_reactions(room_id, event_id) if edited else {}
            for key in wanted:
                if key not in mine:
                    await self._react(room_id, event_id, key)
            for key, reaction_id in mine.items():
                if key not in wanted:
                    await self.client.room_redact(room_id, reaction_id)  # type: ignore[union-attr]
        except Exception as exc:  # never fail a delivery the platform accepted
            log.warning("reactions under %s not (all) seeded: %r", event_id, exc)

    async def _own_reactions(self, room_id: str, event_id: str) -> dict[str, str]:
        """The reactions the bot itself has under a message: key → reaction event id."""
        assert self.client is not None
        mine: dict[str, str] = {}
        async for event in self.client.room_get_event_relations(
                room_id, event_id, RelationshipType.annotation, "m.reaction"):
            if isinstance(event, nio.ReactionEvent) and event.sender == self.client.user_id:
                mine[event.key] = event.event_id
        return mine

    async def _react(self, room_id: str, event_id: str, key: str) -> None:
        for _attempt in range(SEED_RETRIES):
            try:
                await self._send(room_id, "m.reaction", reaction_content(event_id, key),
                                 f"react.{key.encode().hex()}")
                return
            except RetryLater as exc:
                await asyncio.sleep(min(exc.retry_after or 1.0, MAX_SEED_WAIT))
        log.warning("reaction %s under %s not seeded", key, event_id)

