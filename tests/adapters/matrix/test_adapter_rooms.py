"""The Matrix adapter in rooms: invites, commands (plain and encrypted), facilitators,
what came before the bot joined, hostile text, being kicked."""

from __future__ import annotations

import nio
import pytest

from tests.adapters.matrix.harness import (
    BotFactory,
    MatrixBot,
    bot_events,
    from_bot,
    set_power_level,
    settle,
)
from tests.adapters.matrix.helpers import (
    ClientFactory,
    checked,
    create_room,
    send_event,
    send_text,
    sync_until,
    wait_for_event,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
HELLO = "Ciao! Sono piazzabot"
BOUND = "Questa chat ora è la chat del territorio Milano"


async def room_with_bot(owner: nio.AsyncClient, bot: MatrixBot, *others: nio.AsyncClient,
                        **create: object) -> str:
    """`owner` makes a room and invites the bot (and `others`); returns once the bot has said
    hello."""
    invite = [bot.user_id, *(o.user_id for o in others)]
    room_id = await create_room(owner, invite=invite, **create)
    await wait_for_event(owner, room_id, from_bot(bot, where=lambda e: HELLO in e.body),
                         what="the bot's hello")
    return room_id


def replies_to(event: nio.Event) -> str | None:
    relation = event.source["content"].get("m.relates_to", {})
    return relation.get("m.in_reply_to", {}).get("event_id")


async def test_invited_from_an_allowed_server_it_joins_and_answers_commands(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna = await matrix_client("anna")
    room_id = await room_with_bot(anna, bot, name="Piazza Milano")

    command_id = await send_text(anna, room_id, "!territorio Milano")
    reply = await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: BOUND in e.body))
    assert replies_to(reply) == command_id
    assert reply.format == "org.matrix.custom.html"
    assert "<strong>Milano</strong>" in reply.formatted_body

    await send_text(anna, room_id, "!aiuto")
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: "!territorio" in e.body))
    chat = await bot.chat(room_id)
    assert chat is not None and chat.title == "Piazza Milano" and not chat.is_private


async def test_an_invite_from_a_server_not_allowed_is_declined(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False, allowed_servers=["example.org"])
    anna = await matrix_client("anna")
    room_id = await create_room(anna, invite=[bot.user_id])
    declined = await wait_for_event(anna, room_id, lambda e: (
        isinstance(e, nio.RoomMemberEvent) and e.state_key == bot.user_id
        and e.membership == "leave"), what="the invite declined")
    assert declined.content.get("reason") == (
        "Entro nelle stanze solo se invitato da un server della cooperativa.")
    assert await bot.chat(room_id) is None


async def test_a_command_in_an_encrypted_room(matrix_client: ClientFactory,
                                              matrix_bot: BotFactory) -> None:
    bot = await matrix_bot()
    anna = await matrix_client("anna")
    room_id = await room_with_bot(anna, bot, initial_state=[ENCRYPTION_STATE])
    assert anna.rooms[room_id].encrypted

    command_id = await send_text(anna, room_id, "!territorio Milano")
    reply = await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: BOUND in e.body))
    assert reply.decrypted and replies_to(reply) == command_id
    assert reply.source["type"] == "m.room.message"  # decrypted: it was m.room.encrypted


async def test_what_was_said_before_the_bot_joined_is_ignored(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna = await matrix_client("anna")
    room_id = await create_room(anna)
    await send_text(anna, room_id, "!aiuto")
    await send_text(anna, room_id, "!chi")
    checked(await anna.room_invite(room_id, bot.user_id))
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: HELLO in e.body))

    await send_text(anna, room_id, "!territorio Milano")
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: BOUND in e.body))
    await settle(anna)
    said = [e.body for e in bot_events(anna, room_id, bot)]
    assert len(said) == 2 and HELLO in said[0] and BOUND in said[1]


async def test_power_level_makes_a_facilitator_a_plain_member_is_refused(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False, facilitator_power_level=50)
    anna, bruno, carla = [await matrix_client(n) for n in ("anna", "bruno", "carla")]
    room_id = await room_with_bot(anna, bot, bruno, carla)
    assert anna.rooms[room_id].room_version == "12"  # anna, the creator, outranks everyone
    for member in (bruno, carla):
        checked(await member.join(room_id))
        await sync_until(member, lambda m=member: room_id in m.rooms)
    await set_power_level(anna, room_id, carla.user_id, 50)

    await send_text(bruno, room_id, "!territorio Milano")
    refusal = await wait_for_event(bruno, room_id, from_bot(
        bot, where=lambda e: "Solo gli amministratori della chat" in e.body))
    assert refusal.body.startswith("Solo gli amministratori")
    await send_text(carla, room_id, "!territorio Milano")
    await wait_for_event(carla, room_id, from_bot(bot, where=lambda e: BOUND in e.body))
    await send_text(anna, room_id, "!territorio Bologna")
    await wait_for_event(anna, room_id, from_bot(
        bot, where=lambda e: "territorio Bologna" in e.body))


async def test_hostile_html_in_user_text_is_escaped(matrix_client: ClientFactory,
                                                    matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna = await matrix_client("anna")
    checked(await anna.set_displayname('<img src=x onerror="alert(1)">Anna'))
    room_id = await room_with_bot(anna, bot)

    await send_text(anna, room_id, "!chi")
    who = await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: "Sei " in e.body))
    assert '<img src=x onerror="alert(1)">Anna' in who.body  # the plain body is plain text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Anna" in who.formatted_body
    assert "<img" not in who.formatted_body

    await send_text(anna, room_id, "!aiuto <script>alert(1)</script>")
    unknown = await wait_for_event(anna, room_id, from_bot(
        bot, where=lambda e: "Non conosco il comando" in e.body))
    assert "&lt;script&gt;" in unknown.formatted_body
    assert "<script" not in unknown.formatted_body


async def test_kicked_the_chat_goes_inactive_and_delivery_is_unreachable(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    from bot.messages import OutMessage, rich

    bot = await matrix_bot()
    anna = await matrix_client("anna")
    room_id = await room_with_bot(anna, bot)
    checked(await anna.room_kick(room_id, bot.user_id, reason="basta"))

    async def inactive() -> bool:
        chat = await bot.chat(room_id)
        return chat is not None and not chat.active

    await bot.wait_until(inactive, "chat marked inactive")
    await bot.post(OutMessage(rich("ci sono ancora?")), room_id=room_id)

    async def failed() -> bool:
        return (await bot.outbox())[-1][0] == "failed"

    await bot.wait_until(failed, "a failed delivery")
    _state, error = (await bot.outbox())[-1]
    assert error is not None and error.startswith("unreachable")


async def test_a_command_in_a_thread_is_answered_in_the_thread(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna = await matrix_client("anna")
    room_id = await room_with_bot(anna, bot)
    root = await send_text(anna, room_id, "Organizziamo?")
    asked = await send_event(anna, room_id, "m.room.message", {
        "msgtype": "m.text", "body": "!chi",
        "m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                         "m.in_reply_to": {"event_id": root}}})
    reply = await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: "Sei " in e.body))
    assert reply.source["content"]["m.relates_to"] == {
        "rel_type": "m.thread", "event_id": root, "is_falling_back": False,
        "m.in_reply_to": {"event_id": asked}}
    assert bot.adapter.healthy()


async def test_a_member_opens_a_direct_chat_with_the_bot(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot()
    anna = await matrix_client("anna")
    room_id = await create_room(anna, is_direct=True, invite=[bot.user_id],
                                initial_state=[ENCRYPTION_STATE])
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: HELLO in e.body))
    await send_text(anna, room_id, "!territorio Milano")
    answer = await wait_for_event(anna, room_id, from_bot(
        bot, where=lambda e: "territorio" in e.body and HELLO not in e.body))
    assert "Milano" in answer.body and replies_to(answer) is None  # private: no quoting
    chat = await bot.chat(room_id)
    assert chat is not None and chat.is_private
