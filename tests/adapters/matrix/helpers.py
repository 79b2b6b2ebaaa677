"""Helpers for tests that drive matrix-nio clients against the test Synapse.

The sequence that makes end-to-end encryption work reliably with nio 0.26 and
vodozemac is written down in `upload_keys_if_needed` and `send_text`:

1. right after login, upload the device keys (``keys_upload``) so that other
   users can query our device and claim one of its one-time keys;
2. before each send, query the keys of tracked users if nio says so
   (``should_query_keys``): ``room_send`` queries them itself only until it has
   fetched the room's member list once, so without this step a member who joins
   later never gets the room key and sees an undecryptable ``MegolmEvent``;
3. send with ``ignore_unverified_devices=True``: without it nio raises
   ``OlmUnverifiedDeviceError`` for every device that was not verified by hand
   (verifying every device with ``client.verify_device`` would work as well);
   ``share_group_session`` claims the one-time keys it needs by itself.

Receiving needs nothing special: nio decrypts the room key (to-device) and the
message in `sync`, in that order, and puts the decrypted event in the timeline.
"""

from __future__ import annotations

import importlib.util
import secrets
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nio
import pytest

from tests.adapters.matrix.synapse import SynapseError, SynapseServer
from tests.support import require_or_skip

T = TypeVar("T")

HTML_FORMAT = "org.matrix.custom.html"
DEFAULT_WAIT_SECONDS = 10.0
SYNC_POLL_MS = 500


# ----------------------------------------------------------------------- server


async def start_or_skip(server: SynapseServer) -> SynapseServer:
    """Start `server`; skip the test if Synapse is missing or does not start (fail on CI)."""
    if importlib.util.find_spec("synapse") is None:
        require_or_skip("matrix-synapse is not installed")
    try:
        await server.start()
    except (SynapseError, OSError) as error:
        require_or_skip(f"Synapse could not be started: {error}")
    return server


# ---------------------------------------------------------------------- clients


def client_config(**options: Any) -> nio.AsyncClientConfig:
    """E2E on, sync tokens kept in the store so that a restarted client resumes.

    `options` override any `nio.AsyncClientConfig` field, e.g. ``max_limit_exceeded=0``:
    by default nio silently sleeps and retries every M_LIMIT_EXCEEDED (429) answer.
    """
    return nio.AsyncClientConfig(
        **{"encryption_enabled": True, "store_sync_tokens": True, **options}
    )


async def upload_keys_if_needed(client: nio.AsyncClient) -> None:
    """Upload device and one-time keys, which a new device must do before anyone can
    encrypt for it (nio's `sync_forever` does it on its own; plain `sync` does not)."""
    if client.should_upload_keys:
        checked(await client.keys_upload())


@dataclass
class ClientFactory:
    """Makes logged-in nio clients for new users of `server`; closes them all in `aclose`.

    Each client gets its own store folder under `store_root`, so E2E state and
    sync tokens survive `restart`.
    """

    server: SynapseServer
    store_root: Path
    client_options: dict[str, Any] = field(default_factory=dict)
    """Passed to `client_config` for every client."""
    clients: list[nio.AsyncClient] = field(default_factory=list)

    async def __call__(self, localpart: str = "user") -> nio.AsyncClient:
        """Register ``<localpart>-<random>`` and return a client logged in with its password
        (a new device, as a bot would get), keys uploaded."""
        user = await self.server.register(f"{localpart}-{secrets.token_hex(3)}")
        store_path = self.store_root / user.user_id.strip("@").replace(":", "_")
        store_path.mkdir(parents=True)
        client = self._new_client(user.user_id, store_path)
        checked(await client.login(user.password, device_name=f"test {localpart}"))
        await upload_keys_if_needed(client)
        return client

    async def restart(self, client: nio.AsyncClient) -> nio.AsyncClient:
        """Close `client` and return a new one on the same store, device and access token,
        as a bot restarting from its saved credentials would."""
        user_id, device_id, token = client.user_id, client.device_id, client.access_token
        store_path = Path(client.store_path)
        await client.close()
        restarted = self._new_client(user_id, store_path)
        restarted.restore_login(user_id, device_id, token)  # also calls load_store()
        return restarted

    def _new_client(self, user_id: str, store_path: Path) -> nio.AsyncClient:
        client = nio.AsyncClient(
            self.server.base_url,
            user_id,
            store_path=str(store_path),
            config=client_config(**self.client_options),
        )
        event_log(client)  # record events from the very first sync
        self.clients.append(client)
        return client

    async def aclose(self) -> None:
        for client in self.clients:
            await client.close()
        self.clients.clear()


# ------------------------------------------------------------------- responses


def checked(response: Any) -> Any:
    """Return `response`, or fail the test with it if it is a nio error response."""
    if isinstance(response, nio.ErrorResponse):
        pytest.fail(f"Matrix request failed: {response}", pytrace=False)
    return response


# -------------------------------------------------------------- event recording


@dataclass
class EventLog:
    """Every room event (and invite-state event) a client has handled, in order.

    Filled by a nio event callback, so a wait never misses an event that came in
    the same sync batch as the one an earlier wait was looking for.
    """

    client: nio.AsyncClient
    entries: list[tuple[str, Any]] = field(default_factory=list)

    def record(self, room: nio.MatrixRoom, event: Any) -> None:
        self.entries.append((room.room_id, event))

    def events(self, room_id: str) -> list[Any]:
        """The room's events, megolm ones decrypted if their key has arrived since."""
        self._retry_decryption()
        return [event for entry_room, event in self.entries if entry_room == room_id]

    def find(self, room_id: str, match: Callable[[Any], bool]) -> Any | None:
        return next((event for event in self.events(room_id) if match(event)), None)

    def _retry_decryption(self) -> None:
        for index, (room_id, event) in enumerate(self.entries):
            if isinstance(event, nio.MegolmEvent):
                try:
                    self.entries[index] = (room_id, self.client.decrypt_event(event))
                except nio.EncryptionError:
                    continue


_event_logs: weakref.WeakKeyDictionary[nio.AsyncClient, EventLog] = weakref.WeakKeyDictionary()


def event_log(client: nio.AsyncClient) -> EventLog:
    """The client's `EventLog`, created (and hooked into nio) on first use."""
    log = _event_logs.get(client)
    if log is None:
        log = _event_logs[client] = EventLog(client)
        # A None filter matches every event, invite-state events included.
        client.add_event_callback(log.record, None)  # type: ignore[arg-type]
    return log


# ---------------------------------------------------------------------- waiting


async def sync_until(
    client: nio.AsyncClient,
    predicate: Callable[[], T | None],
    within: float = DEFAULT_WAIT_SECONDS,
    what: str = "condition",
) -> T:
    """Sync `client` (long-polling, no fixed sleeps) until `predicate()` is truthy; return it.

    Fails the test after `within` seconds.
    """
    event_log(client)  # record from the first sync on
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"{client.user_id}: no {what} within {within}s", pytrace=False)
        poll_ms = max(1, min(SYNC_POLL_MS, int(remaining * 1000)))
        checked(await client.sync(timeout=poll_ms))


async def wait_for_event(
    client: nio.AsyncClient,
    room_id: str,
    match: Callable[[Any], bool],
    within: float = DEFAULT_WAIT_SECONDS,
    what: str = "matching event",
) -> Any:
    """Sync until an event of `room_id` satisfies `match`; return that event."""
    log = event_log(client)
    return await sync_until(client, lambda: log.find(room_id, match), within, what)


def has_id(event_id: str) -> Callable[[Any], bool]:
    """Match for `wait_for_event`: the event with this id (after decryption, if any)."""
    return lambda event: getattr(event, "event_id", None) == event_id


async def wait_for_invite(
    client: nio.AsyncClient, room_id: str, within: float = DEFAULT_WAIT_SECONDS
) -> nio.InviteMemberEvent:
    """Sync until the client's own invite to `room_id` shows up; return the member event."""

    def is_my_invite(event: Any) -> bool:
        return (
            isinstance(event, nio.InviteMemberEvent)
            and event.state_key == client.user_id
            and event.membership == "invite"
        )

    return await wait_for_event(client, room_id, is_my_invite, within, "invite")


# ---------------------------------------------------------------------- actions


async def known_room(client: nio.AsyncClient, room_id: str) -> nio.MatrixRoom:
    """The client's `MatrixRoom`, syncing until nio has it: ``room_create`` and ``join``
    do not add it, and with E2E on ``room_send`` refuses a room nio does not know."""
    await sync_until(client, lambda: room_id in client.rooms, what=f"room {room_id}")
    return client.rooms[room_id]


async def create_room(client: nio.AsyncClient, **kwargs: Any) -> str:
    """Create a room (`nio.AsyncClient.room_create` arguments), sync it; return its id."""
    response = checked(await client.room_create(**kwargs))
    await known_room(client, response.room_id)
    return str(response.room_id)


async def join_after_invite(client: nio.AsyncClient, room_id: str) -> None:
    """Wait for the invite to `room_id`, join, and sync until nio knows the joined room."""
    await wait_for_invite(client, room_id)
    checked(await client.join(room_id))
    await known_room(client, room_id)


async def shared_room(owner: nio.AsyncClient, guest: nio.AsyncClient, **create_kwargs: Any) -> str:
    """`owner` creates a room inviting `guest`, who joins; both clients know it afterwards."""
    room_id = await create_room(owner, invite=[guest.user_id], **create_kwargs)
    await join_after_invite(guest, room_id)
    await sync_until(
        owner,
        lambda: room_id in owner.rooms and guest.user_id in owner.rooms[room_id].users,
        what=f"{guest.user_id} joined",
    )
    return room_id


async def send_event(
    client: nio.AsyncClient, room_id: str, event_type: str, content: dict[str, Any]
) -> str:
    """Send any room event (encrypted if the room is, see the module docstring); return its id."""
    room = await known_room(client, room_id)
    if room.encrypted:
        await upload_keys_if_needed(client)
        if client.should_query_keys:
            checked(await client.keys_query())
    response = checked(
        await client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
    )
    return str(response.event_id)


def text_content(body: str, html: str | None = None) -> dict[str, Any]:
    """``m.text`` content; with `html`, also the ``org.matrix.custom.html`` formatted body."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if html is not None:
        content |= {"format": HTML_FORMAT, "formatted_body": html}
    return content


async def send_text(
    client: nio.AsyncClient, room_id: str, body: str, html: str | None = None
) -> str:
    """Send a text message (encrypted if the room is); return its event id."""
    return await send_event(client, room_id, "m.room.message", text_content(body, html))
