"""Rooms as the bot needs them: who may invite it, who counts as a room's facilitator, and
the direct-message room it keeps with each member.

Power: a member whose power level reaches `facilitator_power_level` administers the room.
From room version 12 the room's creators (the `m.room.create` sender and its
`additional_creators`) have unlimited power and are absent from `m.room.power_levels`
(nio reports 0 for them), so they are read from the create event.

Direct messages: the bot creates a `trusted_private_chat` room with `is_direct`, remembers
it (`dm:<user>` and `direct:<room>` in the adapter's memory) and reuses it while the member
is in it (joined or still invited, asked from the server before each message); after the
member left it, the bot leaves too and makes a new one. Rooms a member invites the bot to
with `is_direct` are their DM with the bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import nio
from nio.api import Api

from adapters.base import RetryLater
from adapters.matrix.errors import TRANSPORT_ERRORS, delivery_error
from adapters.matrix.state import AdapterMemory

log = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "",
                    "content": {"algorithm": MEGOLM}}
UNSTABLE_PRIVILEGED_CREATORS = frozenset({"org.matrix.hydra.11"})


class RoomWaiter(Protocol):
    def __call__(self, room_id: str, *,
                 complete: Callable[[nio.MatrixRoom], bool] | None = None) -> Awaitable[bool]: ...


def server_of(user_id: str) -> str:
    """The homeserver part of a user id (`@anna:example.org` → `example.org`)."""
    return user_id.partition(":")[2].lower()


def invite_allowed(inviter: str, allowed_servers: Iterable[str], own_user_id: str) -> bool:
    """Invites are accepted from the allowed servers; with none configured, from the bot's
    own homeserver only."""
    allowed = {s.strip().lower() for s in allowed_servers if s.strip()}
    return server_of(inviter) in (allowed or {server_of(own_user_id)})


def creators_have_unlimited_power(room_version: str) -> bool:
    """Room version 12 and later (MSC4289): creators outrank every power level."""
    if room_version in UNSTABLE_PRIVILEGED_CREATORS:
        return True
    return room_version.isdecimal() and int(room_version) >= 12


def creators_of(create_event: dict[str, Any]) -> frozenset[str]:
    content = create_event.get("content")
    extra = content.get("additional_creators") if isinstance(content, dict) else None
    names = [create_event.get("sender"), *(extra if isinstance(extra, list) else [])]
    return frozenset(n for n in names if isinstance(n, str))


async def raw_request(client: nio.AsyncClient, method: str, path: list[str],
                      body: dict[str, Any]) -> int:
    """A client-server API call nio has no method for; returns the HTTP status."""
    headers = {"Content-Type": "application/json",
               "Authorization": f"Bearer {client.access_token}"}
    response = await client.send(method, Api._build_path(path), json.dumps(body), headers)
    status = response.status
    response.release()
    return status


class Rooms:
    def __init__(self, client: nio.AsyncClient, memory: AdapterMemory, *,
                 facilitator_power_level: int, encryption: bool) -> None:
        self.client = client
        self.memory = memory
        self.facilitator_power_level = facilitator_power_level
        self.encryption = encryption
        self._creators: dict[str, frozenset[str]] = {}
        self._direct: dict[str, bool] = {}
        self._dm_lock = asyncio.Lock()

    # --- power -------------------------------------------------------------------------

    def note_create_event(self, room_id: str, event: nio.Event) -> None:
        """Remember a room's creators from its `m.room.create` event, seen in a sync."""
        if isinstance(event, nio.RoomCreateEvent):
            self._creators[room_id] = creators_of(event.source)

    async def creators(self, room_id: str) -> frozenset[str]:
        if room_id not in self._creators:
            response = await self.client.room_get_state(room_id)
            if isinstance(response, nio.RoomGetStateError):
                log.warning("cannot read the state of %s: %s", room_id, response.message)
                return frozenset()
            create = next((e for e in response.events if e.get("type") == "m.room.create"), {})
            self._creators[room_id] = creators_of(create)
        return self._creators[room_id]

    async def administers(self, room: nio.MatrixRoom, user_id: str) -> bool:
        """Whether `user_id` counts as an administrator of `room` (a facilitator)."""
        unlimited = creators_have_unlimited_power(room.room_version)
        if unlimited and user_id in await self.creators(room.room_id):
            return True
        return room.power_levels.get_user_level(user_id) >= self.facilitator_power_level

    # --- direct messages ---------------------------------------------------------------

    async def is_direct(self, room_id: str) -> bool:
        """A DM room: made as one (by the bot, or invited with `is_direct`) and still just the
        member and the bot — a third person in it makes it a group, whatever it was."""
        if room_id not in self._direct:
            self._direct[room_id] = await self.memory.get("direct", room_id) is not None
        room = self.client.rooms.get(room_id)
        return self._direct[room_id] and (room is None or room.member_count <= 2)

    async def remember_direct(self, room_id: str, user_id: str) -> None:
        await self.memory.set("dm", user_id, room_id)
        await self.memory.set("direct", room_id, user_id)
        self._direct[room_id] = True

    async def forget_room(self, room_id: str) -> None:
        """The bot left `room_id`: it is no one's DM room any more."""
        user_id = await self.memory.get("direct", room_id)
        if user_id is None:
            return
        if await self.memory.get("dm", user_id) == room_id:
            await self.memory.forget("dm", user_id)
        await self.memory.forget("direct", room_id)
        self._direct[room_id] = False

    async def dm_room(self, user_id: str, wait_for_room: RoomWaiter) -> str:
        """The DM room with `user_id`, made if needed. `wait_for_room` waits until the sync
        loop has seen the room whole (up to the member's invite): nio sends to an encrypted
        room only once it knows it, and encrypts only once it knows it is."""
        async with self._dm_lock:
            room_id = await self.memory.get("dm", user_id)
            if room_id is not None and not await self.is_direct(room_id):
                await self.forget_room(room_id)  # others joined: a group now, not left
                room_id = None
            if room_id is not None and not await self._still_there(room_id, user_id):
                await self._abandon(room_id)
                room_id = None
            if room_id is None:
                room_id = await self._create_dm(user_id)

        def complete(room: nio.MatrixRoom) -> bool:
            # The invite is the last event of a room's creation, after m.room.encryption.
            return user_id in room.users

        if not await wait_for_room(room_id, complete=complete):
            raise RetryLater(f"the new DM room {room_id} is not synced yet")
        return room_id

    async def _still_there(self, room_id: str, user_id: str) -> bool:
        """Whether `user_id` is joined to (or still invited in) the room, as the server says
        now: nio's view lags by a sync, and a reminder sent to a room its member just left
        would be lost."""
        response = await self.client.room_get_state_event(room_id, "m.room.member", user_id)
        if isinstance(response, nio.RoomGetStateEventError):
            status = getattr(response.transport_response, "status", None)
            if status is None or status >= 500 or response.status_code == "M_LIMIT_EXCEEDED":
                room = self.client.rooms.get(room_id)  # the server cannot say: nio's view
                return room is not None and user_id in room.users
            return False  # no membership (404), or the bot itself is out (403)
        return response.content.get("membership") in ("join", "invite")

    async def _create_dm(self, user_id: str) -> str:
        response = await self.client.room_create(
            is_direct=True, invite=[user_id], preset=nio.RoomPreset.trusted_private_chat,
            initial_state=[ENCRYPTION_STATE] if self.encryption else [])
        if isinstance(response, nio.RoomCreateError):
            raise delivery_error(response, still_in_room=False)
        room_id = str(response.room_id)
        await self.remember_direct(room_id, user_id)
        await self._mark_direct(user_id, room_id)
        log.info("direct-message room %s made for %s", room_id, user_id,
                 extra={"platform": "matrix", "room_id": room_id})
        return room_id

    async def _abandon(self, room_id: str) -> None:
        """Leave a DM room the member left (best effort) and forget it."""
        await self.forget_room(room_id)
        try:
            await self.client.room_leave(room_id)
        except TRANSPORT_ERRORS as exc:
            log.info("could not leave old DM room %s: %s", room_id, exc)

    async def _mark_direct(self, user_id: str, room_id: str) -> None:
        """Add the room to the bot's `m.direct` account data, as clients do (best effort)."""
        try:
            current = await self.client.list_direct_rooms()
            rooms: dict[str, list[str]] = (
                dict(current.rooms) if isinstance(current, nio.DirectRoomsResponse) else {})
            rooms[user_id] = [*rooms.get(user_id, []), room_id][-10:]
            status = await raw_request(self.client, "PUT",
                                       ["user", self.client.user_id, "account_data", "m.direct"],
                                       rooms)
            if status != 200:
                log.info("m.direct not updated (HTTP %s)", status)
        except TRANSPORT_ERRORS as exc:
            log.info("m.direct not updated: %s", exc)

    # --- invites -----------------------------------------------------------------------

    async def decline(self, room_id: str, reason: str) -> None:
        """Reject an invite, saying why (the spec's `reason` on leave)."""
        status = await raw_request(self.client, "POST", ["rooms", room_id, "leave"],
                                   {"reason": reason})
        if status != 200:
            log.warning("declining the invite to %s failed (HTTP %s)", room_id, status)

