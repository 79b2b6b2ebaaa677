"""The sync loop: receive from the homeserver, hand events to the core, then store the token.

Each sync's `next_batch` is stored (adapter memory `sync:token`) only after every event of
that sync was handled; the core records each event id as processed. So a restart resumes
from the last handled sync: nothing sent while the bot was down is missed, nothing is acted
on twice. A timeline cut short by the server (`limited`) is filled from `/messages` back to
the stored token, so a long downtime misses nothing either.

The first sync of a run asks for the full state, so that nio knows every joined room (its
members, power levels, encryption) before the bot sends anything. The very first sync of a
new bot (no token yet) only looks: the rooms' history is not news. In such a run, events
older than the start are skipped as well: Synapse may answer an initial sync from its
response cache for a while, with a `next_batch` from before events the bot must not replay.

Events from before the bot joined a room are ignored: in the sync that brings the bot's own
join, only what comes after it is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import nio

from adapters.base import CoreHandle
from adapters.matrix.errors import TRANSPORT_ERRORS, describe, is_rate_limited, retry_after
from adapters.matrix.inbound import Inbound
from adapters.matrix.rooms import Rooms, invite_allowed
from adapters.matrix.state import AdapterMemory

log = logging.getLogger(__name__)
T = TypeVar("T")

SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
GAP_MAX_EVENTS = 5_000
MAX_BACKOFF = 60.0


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """Timelines and state; no presence, receipts, typing or account data."""
    nothing = {"not_types": ["*"]}
    return {
        "presence": nothing,
        "account_data": nothing,
        "room": {"timeline": {"limit": timeline_limit}, "ephemeral": nothing,
                 "account_data": nothing},
    }


def is_own_join(event: Any, user_id: str) -> bool:
    return (isinstance(event, nio.RoomMemberEvent) and event.state_key == user_id
            and event.membership == "join" and event.prev_membership != "join")


def last_own_join(events: list[Any], user_id: str) -> int | None:
    """Index of the bot's latest join in `events` (a join, not a profile change)."""
    for index in range(len(events) - 1, -1, -1):
        if is_own_join(events[index], user_id):
            return index
    return None


class Retry(Exception):
    """Handling a sync must be tried again (the homeserver or the database is not ready)."""


class Receiver:
    """Runs the sync loop and hands each event to the core."""

    timeline_limit = 50  # per room and sync; a longer gap is read from /messages

    def __init__(self, client: nio.AsyncClient, core: CoreHandle, memory: AdapterMemory,
                 rooms: Rooms, *, allowed_servers: Iterable[str], decline_reason: str) -> None:
        self.client = client
        self.core = core
        self.memory = memory
        self.rooms = rooms
        self.inbound = Inbound(client, rooms, memory)
        self.allowed_servers = list(allowed_servers)
        self.decline_reason = decline_reason
        self.ready = asyncio.Event()  # set once the first sync was handled
        self.keys_lock = asyncio.Lock()
        self._synced = asyncio.Condition()
        self._step: asyncio.Future[None] | None = None
        self._inviters: dict[str, str] = {}
        self.last_sync: float | None = None  # loop time of the last sync that went through
        self.history_before: int = 0  # ms since the epoch; older events are not news

    # --- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        since = await self._retrying("reading the sync token",
                                     lambda: self.memory.get("sync", "token"))
        log.info("sync starts from %s", since or "now (no stored token)")
        if since is None:
            self.history_before = int(time.time() * 1000)
        first = True
        failures = 0
        while True:
            response = await self._sync(since, first)
            if response is None:
                failures += 1
                await asyncio.sleep(min(2.0 ** failures, MAX_BACKOFF))
                continue
            failures = 0
            self.last_sync = asyncio.get_running_loop().time()
            # Stopping cancels this loop while it waits for the homeserver, never half-way
            # through a sync: a reaction handled but not remembered, its token not stored,
            # would come back redacted after the restart and its removal be lost.
            self._step = asyncio.ensure_future(self._handle_and_store(response, since))
            await asyncio.shield(self._step)
            since, first = response.next_batch, False
            self.ready.set()
            async with self._synced:
                self._synced.notify_all()
            await self._keys()

    async def _handle_and_store(self, response: nio.SyncResponse, since: str | None) -> None:
        await self._retrying("handling a sync", partial(self.handle, response, since))
        await self._retrying("storing the sync token",
                             partial(self.memory.set, "sync", "token", response.next_batch))

    async def finish_step(self, grace: float) -> None:
        """After the loop was cancelled: let the sync being handled finish (for at most
        `grace` seconds; then it is cancelled too, and handled again after a restart)."""
        step, self._step = self._step, None
        if step is None or step.done():
            return
        if not (await asyncio.wait({step}, timeout=grace))[0]:
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await step

    async def _retrying(self, what: str, step: Callable[[], Awaitable[T]]) -> T:
        """Run `step` until it goes through (the homeserver or the database may be away for a
        while; events already handled are skipped by the core when a sync is handled again)."""
        failures = 0
        while True:
            try:
                return await step()
            except (Retry, *TRANSPORT_ERRORS) as exc:
                log.warning("%s failed, will retry: %r", what, exc)
            except Exception:
                log.exception("%s failed, will retry", what)
            failures += 1
            await asyncio.sleep(min(2.0 ** failures, MAX_BACKOFF))

    async def _sync(self, since: str | None, first: bool) -> nio.SyncResponse | None:
        try:
            response = await self.client.sync(
                timeout=0 if first else SYNC_TIMEOUT_MS, since=since,
                sync_filter=sync_filter(self.timeline_limit), full_state=True if first else None)
        except TRANSPORT_ERRORS as exc:
            log.warning("sync failed: %r", exc)
            return None
        except Exception:
            log.exception("sync failed")
            return None
        if isinstance(response, nio.SyncError):
            log.warning("sync refused: %s", describe(response))
            if is_rate_limited(response) and (wait := retry_after(response)):
                await asyncio.sleep(wait)
            return None
        return response

    async def _keys(self) -> None:
        """What nio's own `sync_forever` does between syncs for end-to-end encryption."""
        if self.client.olm is None:
            return
        try:
            await self.query_keys()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()
        except (*TRANSPORT_ERRORS, nio.LocalProtocolError) as exc:
            log.warning("key exchange failed: %r", exc)
        except Exception:
            log.exception("key exchange failed")

    async def query_keys(self) -> None:
        """Upload our keys and query others' when nio says so; one at a time (nio refuses a
        query that another one has made unnecessary meanwhile)."""
        async with self.keys_lock:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()

    def healthy(self) -> bool:
        """Synced once, and a sync went through within two long-polls."""
        if not self.ready.is_set() or self.last_sync is None:
            return False
        age = asyncio.get_running_loop().time() - self.last_sync
        return age < 2 * SYNC_TIMEOUT_MS / 1000 + 30

    async def wait_for_room(self, room_id: str, within: float = 15.0,
                            complete: Callable[[nio.MatrixRoom], bool] | None = None) -> bool:
        """Wait until a sync has brought `room_id` (nio knows a room only after a sync) and,
        for a room just made, the state it was made with (`complete`): a sync may come
        between the room's first events and its `m.room.encryption`, and nio would then
        send in clear text."""

        def arrived() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and (complete is None or complete(room))

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within), self._synced:
                await self._synced.wait_for(arrived)
        return arrived()

    # --- one sync ----------------------------------------------------------------------

    async def handle(self, response: nio.SyncResponse, since: str | None) -> None:
        rooms = response.rooms
        log.debug("sync %s → %s: %d invited, %d joined, %d left rooms", since,
                  response.next_batch, len(rooms.invite), len(rooms.join), len(rooms.leave))
        for room_id, invited in response.rooms.invite.items():
            await self._invited(room_id, invited)
        for room_id, joined in response.rooms.join.items():
            await self._joined(room_id, joined, since)
        for room_id, left in response.rooms.leave.items():
            await self._left(room_id, left)

    async def _invited(self, room_id: str, info: nio.InviteInfo) -> None:
        me = self.client.user_id
        invite = next((e for e in info.invite_state if isinstance(e, nio.InviteMemberEvent)
                       and e.state_key == me and e.membership == "invite"), None)
        if invite is None:
            return
        if not invite_allowed(invite.sender, self.allowed_servers, me):
            log.info("invite to %s from %s declined: server not allowed", room_id, invite.sender,
                     extra={"platform": "matrix", "room_id": room_id})
            await self.rooms.decline(room_id, self.decline_reason)
            return
        response = await self.client.join(room_id)
        if isinstance(response, nio.JoinError):
            status = getattr(response.transport_response, "status", None)
            if is_rate_limited(response) or status is None or status >= 500:
                raise Retry(f"join {room_id}: {describe(response)}")
            log.warning("cannot join %s: %s", room_id, describe(response),
                        extra={"platform": "matrix", "room_id": room_id})
            return
        self._inviters[room_id] = invite.sender
        if invite.content.get("is_direct") is True:
            await self.rooms.remember_direct(room_id, invite.sender)
        log.info("joined %s, invited by %s", room_id, invite.sender,
                 extra={"platform": "matrix", "room_id": room_id})

    async def _joined(self, room_id: str, info: nio.RoomInfo, since: str | None) -> None:
        room = self.client.rooms.get(room_id)
        events = list(info.timeline.events)
        for event in [*info.state, *events]:
            self.rooms.note_create_event(room_id, event)
        if room is None or since is None:
            return  # a new bot's first look: history is not news
        if info.timeline.limited and info.timeline.prev_batch:
            events = [*await self._gap(room_id, info.timeline.prev_batch, since), *events]
        if self.history_before:
            events = [e for e in events
                      if getattr(e, "server_timestamp", 0) >= self.history_before]
        join = last_own_join(events, self.client.user_id)
        log.debug("%s: %d new events, own join at %s", room_id, len(events), join)
        if join is not None:
            joined = events[join]
            events = events[join + 1:]
            if self.client.user_id not in await self.rooms.creators(room_id):
                await self._greet(room, joined)
        for event in events:
            try:
                core_event = await self.inbound.translate(room, event)
            except (Retry, *TRANSPORT_ERRORS):
                raise
            except Exception:  # one odd event must not hold up the room forever
                log.exception("event %s in %s skipped", getattr(event, "event_id", "?"), room_id,
                              extra={"platform": "matrix", "room_id": room_id})
                continue
            if core_event is not None:
                outcome = await self.core.handle(core_event)
                await self.inbound.remember_reaction(room, core_event, outcome)

    async def _greet(self, room: nio.MatrixRoom, join: nio.RoomMemberEvent) -> None:
        """The bot joined a room someone invited it to: the core says hello there."""
        inviter = self._inviters.pop(room.room_id, None)
        if inviter is None:  # invited before a restart: the room's creator stands in
            creators = sorted(await self.rooms.creators(room.room_id))
            inviter = creators[0] if creators else join.sender
        await self.core.handle(await self.inbound.joined(room, join, inviter))

    async def _gap(self, room_id: str, prev_batch: str, since: str) -> list[Any]:
        """The events the sync left out, oldest first: back from `prev_batch` to `since`,
        stopping early at the bot's own join (nothing before it counts)."""
        collected: list[Any] = []
        token = prev_batch
        while len(collected) < GAP_MAX_EVENTS:
            response = await self.client.room_messages(
                room_id, start=token, end=since, direction=nio.MessageDirection.back,
                limit=GAP_PAGE)
            if isinstance(response, nio.RoomMessagesError):
                raise Retry(f"messages of {room_id}: {response.message}")
            collected.extend(response.chunk)
            if any(is_own_join(e, self.client.user_id) for e in response.chunk):
                break
            if not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        else:
            log.warning("gap in %s longer than %s events; older ones skipped", room_id,
                        GAP_MAX_EVENTS)
        return collected[::-1]

    async def _left(self, room_id: str, info: nio.RoomInfo) -> None:
        """The bot left, was kicked or banned (or declined an invite: nothing to say)."""
        me = self.client.user_id
        member = next((e for e in reversed([*info.state, *info.timeline.events])
                       if isinstance(e, nio.RoomMemberEvent) and e.state_key == me
                       and e.membership in ("leave", "ban")), None)
        self.client.rooms.pop(room_id, None)
        await self.rooms.forget_room(room_id)
        if member is None or member.prev_membership == "invite":
            return
        log.info("left %s (%s by %s)", room_id, member.membership, member.sender,
                 extra={"platform": "matrix", "room_id": room_id})
        await self.core.handle(await self.inbound.left(room_id, member.event_id, member.sender))
