"""The Synapse test infrastructure works, and the Matrix facts the bot's adapter relies on hold.

Each test registers its own users and rooms on the one session-wide server. The
assertions record how Synapse 1.163 and matrix-nio 0.26 (vodozemac) behave:

- invites arrive as ``nio.InviteMemberEvent`` (in ``client.invited_rooms``), with
  ``content["is_direct"] is True`` for ``room_create(is_direct=True)``; nio puts a room in
  ``client.rooms`` only after a sync (not on ``room_create``/``join`` responses);
- text arrives as ``RoomMessageText`` (``.body``, ``.format``, ``.formatted_body``); an
  ``m.replace`` edit is a plain ``RoomMessageText`` whose ``.source["content"]`` holds
  ``m.new_content`` and ``m.relates_to``;
- ``m.reaction`` arrives as ``nio.ReactionEvent`` (``.reacts_to``, ``.key``); its redaction as
  ``nio.RedactionEvent`` with ``.redacts`` = the reaction's event id;
- every poll event (``m.poll.start``, ``m.poll.response``,
  ``org.matrix.msc3381.poll.response``, ``m.poll.end``) arrives as ``nio.UnknownEvent``:
  ``.type`` is the event type, the content is in ``.source["content"]``;
- power levels: ``client.rooms[id].power_levels.get_user_level(user)`` / ``.users``; in
  room version 12 (Synapse's default) nio reports 0 for the creator, see `test_power_levels`;
- media: ``upload`` returns ``(UploadResponse, None)``, ``.content_uri`` is ``mxc://localhost/…``;
  ``download(mxc=…)`` returns ``MemoryDownloadResponse`` (``.body`` bytes, ``.content_type``,
  ``.filename``), through the authenticated ``/_matrix/client/v1/media`` endpoint;
- E2E: see the sequence in `helpers`; a restored device (same store, ``restore_login``)
  still decrypts; ``store_sync_tokens`` makes ``loaded_sync_token`` resume where it stopped;
- rate limits: nio sleeps and retries M_LIMIT_EXCEEDED by itself unless
  ``AsyncClientConfig(max_limit_exceeded=0)``, which returns the ``RoomSendError``.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import nio
import pytest

from tests.adapters.matrix.helpers import (
    ClientFactory,
    checked,
    create_room,
    event_log,
    has_id,
    join_after_invite,
    send_event,
    send_text,
    shared_room,
    start_or_skip,
    sync_until,
    text_content,
    wait_for_event,
    wait_for_invite,
)
from tests.adapters.matrix.synapse import SynapseServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

MEGOLM = "m.megolm.v1.aes-sha2"


def reference_to(event_id: str) -> dict[str, str]:
    return {"rel_type": "m.reference", "event_id": event_id}


# ------------------------------------------------------------ server and config


async def test_server_answers_and_registers_users(synapse: SynapseServer) -> None:
    assert synapse.base_url.startswith("http://127.0.0.1:")
    assert synapse.server_name == "localhost"
    user = await synapse.register("fixture-check", admin=True)
    assert user.user_id == "@fixture-check:localhost"
    client = nio.AsyncClient(synapse.base_url, user.user_id)
    client.restore_login(user.user_id, user.device_id, user.access_token)
    try:
        whoami = checked(await client.whoami())
        assert (whoami.user_id, whoami.device_id) == (user.user_id, user.device_id)
    finally:
        await client.close()


async def test_strict_rc_message_through_extra_config(tmp_path: Path) -> None:
    """A second, short-lived server with a strict ``rc_message``, as a test of the bot's
    M_LIMIT_EXCEEDED handling needs; records how nio reports and retries the limit.

    Room creation spends the same ``rc_message`` budget, hence loops rather than counts.
    """
    strict_messages = {"rc_message": {"per_second": 5, "burst_count": 1}}
    server = await start_or_skip(SynapseServer(extra_config=strict_messages))
    no_retry = ClientFactory(server, tmp_path / "no-retry", {"max_limit_exceeded": 0})
    default = ClientFactory(server, tmp_path / "default")
    try:
        impatient = await no_retry("impatient")
        room_id = await create_room(impatient)
        responses = [
            await impatient.room_send(room_id, "m.room.message", text_content(f"n. {n}"))
            for n in range(3)
        ]
        refused = next(r for r in responses if isinstance(r, nio.RoomSendError))
        assert refused.status_code == "M_LIMIT_EXCEEDED"
        # Synapse rounds the wait down to whole milliseconds: 0 when the budget is due now.
        assert refused.retry_after_ms is not None and refused.retry_after_ms >= 0

        patient = await default("patient")
        limited: list[nio.RoomSendError] = []
        patient.add_response_callback(limited.append, nio.RoomSendError)  # type: ignore[arg-type]
        room_id = await create_room(patient)
        for n in range(3):  # each succeeds: nio sleeps retry_after_ms and retries by itself
            await send_text(patient, room_id, f"n. {n}")
        assert limited and limited[0].status_code == "M_LIMIT_EXCEEDED"
    finally:
        await no_retry.aclose()
        await default.aclose()
        await server.stop()


# ------------------------------------------------------------- rooms and messages


async def test_invite_join_and_formatted_message(matrix_client: ClientFactory) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await create_room(alice, name="Piazza", invite=[bob.user_id])

    invite = await wait_for_invite(bob, room_id)
    assert invite.sender == alice.user_id
    assert room_id in bob.invited_rooms
    checked(await bob.join(room_id))

    event_id = await send_text(alice, room_id, "hello *bob*", html="hello <b>bob</b>")
    message = await wait_for_event(bob, room_id, has_id(event_id))
    assert isinstance(message, nio.RoomMessageText)
    assert (message.sender, message.body) == (alice.user_id, "hello *bob*")
    assert (message.format, message.formatted_body) == (
        "org.matrix.custom.html",
        "hello <b>bob</b>",
    )


async def test_reaction_and_its_redaction(matrix_client: ClientFactory) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob)
    message_id = await send_text(alice, room_id, "Shall we meet on Monday?")
    await wait_for_event(bob, room_id, has_id(message_id))

    reaction_id = await send_event(
        bob,
        room_id,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": message_id, "key": "✅"}},
    )
    reaction = await wait_for_event(alice, room_id, has_id(reaction_id))
    assert isinstance(reaction, nio.ReactionEvent)  # not an UnknownEvent in nio 0.26
    assert (reaction.reacts_to, reaction.key, reaction.sender) == (message_id, "✅", bob.user_id)

    checked(await bob.room_redact(room_id, reaction_id, reason="changed my mind"))
    redaction = await wait_for_event(
        alice, room_id, lambda e: isinstance(e, nio.RedactionEvent) and e.redacts == reaction_id
    )
    assert redaction.sender == bob.user_id


async def test_edit_with_m_replace(matrix_client: ClientFactory) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob)
    original_id = await send_text(alice, room_id, "Meeting at 18:00")

    edit_id = await send_event(
        alice,
        room_id,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "* Meeting at 19:00",
            "m.new_content": {"msgtype": "m.text", "body": "Meeting at 19:00"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original_id},
        },
    )
    edit = await wait_for_event(bob, room_id, has_id(edit_id))
    assert isinstance(edit, nio.RoomMessageText)  # an edit is an ordinary text message to nio
    content = edit.source["content"]
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": original_id}
    assert content["m.new_content"]["body"] == "Meeting at 19:00"


# -------------------------------------------------------------------------- polls


def poll_start_content(question: str, answers: dict[str, str]) -> dict[str, Any]:
    """An MSC3381 poll start carrying the stable and the unstable (Element) fields."""
    fallback = "\n".join([question, *(f"{n}. {a}" for n, a in enumerate(answers.values(), 1))])
    return {
        "m.poll.start": {
            "question": {"m.text": question},
            "kind": "m.poll.disclosed",
            "max_selections": 1,
            "answers": [{"id": key, "m.text": text} for key, text in answers.items()],
        },
        "org.matrix.msc3381.poll.start": {
            "question": {"org.matrix.msc1767.text": question},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [
                {"id": key, "org.matrix.msc1767.text": text} for key, text in answers.items()
            ],
        },
        "m.text": fallback,
        "org.matrix.msc1767.text": fallback,
    }


async def test_poll_start_responses_and_end(matrix_client: ClientFactory) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob)
    start_content = poll_start_content("Which day?", {"mon": "Monday", "tue": "Tuesday"})
    start_id = await send_event(alice, room_id, "m.poll.start", start_content)

    start = await wait_for_event(bob, room_id, has_id(start_id))
    assert isinstance(start, nio.UnknownEvent)
    assert start.type == "m.poll.start"
    assert start.source["content"]["org.matrix.msc3381.poll.start"]["answers"][1]["id"] == "tue"

    responses = {
        "m.poll.response": "mon",
        "org.matrix.msc3381.poll.response": "tue",
    }
    sent = {}
    for event_type, answer in responses.items():
        content = {"m.relates_to": reference_to(start_id), event_type: {"answers": [answer]}}
        sent[event_type] = await send_event(bob, room_id, event_type, content)

    for event_type, event_id in sent.items():
        response = await wait_for_event(alice, room_id, has_id(event_id))
        assert isinstance(response, nio.UnknownEvent)
        assert response.type == event_type
        assert response.sender == bob.user_id
        assert response.source["content"]["m.relates_to"] == reference_to(start_id)
        assert response.source["content"][event_type]["answers"] == [responses[event_type]]

    end_content = {
        "m.relates_to": reference_to(start_id),
        "m.poll.end": {},
        "org.matrix.msc3381.poll.end": {},
        "m.text": "The poll has ended.",
        "org.matrix.msc1767.text": "The poll has ended.",
    }
    end_id = await send_event(alice, room_id, "m.poll.end", end_content)
    end = await wait_for_event(bob, room_id, has_id(end_id))
    assert isinstance(end, nio.UnknownEvent)
    assert end.type == "m.poll.end"


# ------------------------------------------------------------------- power levels


async def raise_power_level(
    client: nio.AsyncClient, room_id: str, user_id: str, level: int
) -> None:
    """Read-modify-write the room's ``m.room.power_levels`` state."""
    current = checked(await client.room_get_state_event(room_id, "m.room.power_levels"))
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    checked(await client.room_put_state(room_id, "m.room.power_levels", content))


@pytest.mark.parametrize(
    ("room_version", "creator_level_in_nio"),
    [
        ("11", 100),
        # Synapse 1.163 creates version 12 rooms by default. There the creators
        # (m.room.create's sender and content.additional_creators) have unlimited power
        # and are absent from m.room.power_levels; nio 0.26 knows nothing of it and
        # reports users_default (0) for them, so the adapter must read m.room.create.
        ("12", 0),
    ],
)
async def test_power_levels(
    matrix_client: ClientFactory, room_version: str, creator_level_in_nio: int
) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob, room_version=room_version)
    room = alice.rooms[room_id]
    assert room.room_version == room_version
    assert room.power_levels.get_user_level(alice.user_id) == creator_level_in_nio
    assert room.power_levels.get_user_level(bob.user_id) == 0
    state = checked(await alice.room_get_state(room_id)).events  # raw event dicts
    create = next(event for event in state if event["type"] == "m.room.create")
    assert create["sender"] == alice.user_id  # how to find the creator in any room version

    await raise_power_level(alice, room_id, bob.user_id, 50)
    await sync_until(
        bob,
        lambda: bob.rooms[room_id].power_levels.get_user_level(bob.user_id) == 50,
        what="bob at power level 50",
    )
    assert bob.rooms[room_id].power_levels.users[bob.user_id] == 50


# -------------------------------------------------------------------------- files


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG made with the standard library only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//piazzabot//tests//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:meeting-1@piazzabot\r\nDTSTAMP:20250101T120000Z\r\n"
    b"DTSTART:20250106T180000Z\r\nSUMMARY:Assemblea\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def upload(client: nio.AsyncClient, data: bytes, mimetype: str, name: str) -> str:
    """Upload `data` and return its mxc:// URI."""
    response, _keys = await client.upload(
        lambda *_retries: data, content_type=mimetype, filename=name, filesize=len(data)
    )
    return str(checked(response).content_uri)


@pytest.mark.parametrize(
    ("msgtype", "name", "mimetype", "data", "nio_class"),
    [
        ("m.file", "assemblea.ics", "text/calendar", ICS, nio.RoomMessageFile),
        ("m.image", "dot.png", "image/png", tiny_png(), nio.RoomMessageImage),
    ],
    ids=["ics-file", "png-image"],
)
async def test_upload_send_and_download(
    matrix_client: ClientFactory,
    msgtype: str,
    name: str,
    mimetype: str,
    data: bytes,
    nio_class: type[nio.Event],
) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob)
    mxc = await upload(alice, data, mimetype, name)
    assert mxc.startswith("mxc://localhost/")

    content = {
        "msgtype": msgtype,
        "body": name,
        "url": mxc,
        "info": {"mimetype": mimetype, "size": len(data)},
    }
    event_id = await send_event(alice, room_id, "m.room.message", content)
    message = await wait_for_event(bob, room_id, has_id(event_id))
    assert isinstance(message, nio_class)
    assert message.url == mxc

    download = checked(await bob.download(mxc=message.url))
    assert isinstance(download, nio.MemoryDownloadResponse)
    assert download.body == data
    assert download.content_type == mimetype
    assert download.filename == name


# ---------------------------------------------------------------- direct messages


async def test_direct_message_invite_carries_is_direct(matrix_client: ClientFactory) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await create_room(alice, is_direct=True, invite=[bob.user_id])
    invite = await wait_for_invite(bob, room_id)
    assert invite.content.get("is_direct") is True


# --------------------------------------------------------------------- encryption


ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}


async def test_encrypted_room_both_ways_and_after_restart(
    matrix_client: ClientFactory,
) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob, initial_state=[ENCRYPTION_STATE])
    assert alice.rooms[room_id].encrypted and bob.rooms[room_id].encrypted

    with pytest.raises(nio.OlmUnverifiedDeviceError):  # hence ignore_unverified_devices=True
        await alice.room_send(room_id, "m.room.message", text_content("unverified bob"))

    to_bob = await send_text(alice, room_id, "secret for bob", html="<i>secret</i> for bob")
    received = await wait_for_event(bob, room_id, has_id(to_bob))
    assert isinstance(received, nio.RoomMessageText)
    assert (received.body, received.formatted_body) == ("secret for bob", "<i>secret</i> for bob")
    assert received.decrypted

    to_alice = await send_text(bob, room_id, "secret for alice")
    received = await wait_for_event(alice, room_id, has_id(to_alice))
    assert isinstance(received, nio.RoomMessageText) and received.body == "secret for alice"

    device_id = alice.device_id
    alice = await matrix_client.restart(alice)
    assert alice.device_id == device_id and alice.olm is not None
    after_restart = await send_text(bob, room_id, "still readable?")
    received = await wait_for_event(alice, room_id, has_id(after_restart))
    assert isinstance(received, nio.RoomMessageText) and received.body == "still readable?"


async def test_encrypted_message_reaches_a_member_who_joined_later(
    matrix_client: ClientFactory,
) -> None:
    """Proves step 2 of the E2E sequence (see `helpers`): nio's own `room_send` would not
    query carol's keys, since it already fetched the member list for the first message."""
    alice, bob, carol = [await matrix_client(name) for name in ("alice", "bob", "carol")]
    room_id = await shared_room(alice, bob, initial_state=[ENCRYPTION_STATE])
    first = await send_text(alice, room_id, "before carol")
    await wait_for_event(bob, room_id, has_id(first))

    checked(await alice.room_invite(room_id, carol.user_id))
    await join_after_invite(carol, room_id)
    await sync_until(alice, lambda: carol.user_id in alice.rooms[room_id].users, what="carol")
    second = await send_text(alice, room_id, "welcome carol")
    received = await wait_for_event(carol, room_id, has_id(second))
    assert isinstance(received, nio.RoomMessageText) and received.body == "welcome carol"


# -------------------------------------------------------------------- sync tokens


async def test_restart_resumes_from_stored_sync_token(matrix_client: ClientFactory) -> None:
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    room_id = await shared_room(alice, bob)
    await sync_until(bob, lambda: bob.next_batch, what="a sync token")
    token = bob.next_batch

    bob = await matrix_client.restart(bob)
    assert bob.loaded_sync_token == token
    sent = [await send_text(alice, room_id, f"missed {n}") for n in range(3)]

    response = checked(await bob.sync(timeout=1000, since=token))
    timeline = response.rooms.join[room_id].timeline.events
    assert [event.event_id for event in timeline] == sent
    assert [event.event_id for event in event_log(bob).events(room_id)] == sent
