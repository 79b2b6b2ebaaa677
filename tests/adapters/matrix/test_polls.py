"""Polls on Matrix against the test Synapse, with the real polls feature: a native MSC3381
poll (disclosed, one selection per option) answered, changed and taken back, then ended
with m.poll.end; and one territory with a Telegram group (the Bot API emulator) and a
Matrix room, where answers from both platforms add up in one poll."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import nio
import pytest
from sqlalchemy import select

from storage.models.polls import PollOption, PollVote
from tests.adapters.crossplatform import (
    ADA,
    BRUNO,
    GROUP,
    bind_both_to_milano,
    both_platforms,
    telegram_group,
)
from tests.adapters.matrix.harness import (
    BotFactory,
    MatrixBot,
    bind_to_milano,
    from_bot,
    posted,
    react,
    room_with,
    seeded,
)
from tests.adapters.matrix.helpers import ClientFactory, send_event, send_text, wait_for_event

pytestmark = pytest.mark.asyncio(loop_scope="session")

def poll_start(bot: MatrixBot) -> Any:
    return from_bot(bot, nio.UnknownEvent, lambda e: e.type == "m.poll.start")


def response(start_id: str, answers: list[str]) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
            "m.poll.response": {"answers": answers}}


async def counted(bot: MatrixBot) -> list[tuple[int, int]]:
    """(option number, how many chose it), from the database."""
    async with bot.app.db.transaction() as session:
        rows = await session.execute(
            select(PollOption.position, PollVote.member_id)
            .join(PollVote, PollVote.option_id == PollOption.id))
        found: dict[int, int] = {}
        for position, _member in rows:
            found[position + 1] = found.get(position + 1, 0) + 1
        return sorted(found.items())


def counts_are(bot: MatrixBot, expected: list[tuple[int, int]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await counted(bot) == expected
    return check


async def test_a_native_matrix_poll_answered_and_ended(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna, bruno, carla = [await matrix_client(n) for n in ("anna", "bruno", "carla")]
    room_id = await room_with(anna, bot, bruno, carla)
    await bind_to_milano(bot, anna, room_id)

    await send_text(anna, room_id, "!sondaggio Quando? | sabato 12 dicembre alle 19 | "
                                   "domenica 13 dicembre alle 18")
    start = await wait_for_event(bruno, room_id, poll_start(bot))
    block = start.source["content"]["m.poll.start"]
    assert block["kind"] == "m.poll.disclosed" and block["max_selections"] == 2
    assert [a["m.text"] for a in block["answers"]] == ["sabato 12 dicembre 2026, ore 19:00",
                                                       "domenica 13 dicembre 2026, ore 18:00"]
    ids = [a["id"] for a in block["answers"]]
    await bot.wait_until(posted(bot, "matrix", "poll:1"), "the poll recorded")
    card = await wait_for_event(bruno, room_id, from_bot(
        bot, where=lambda e: e.body.startswith("📊 Quando?")))
    assert "!vota 1 1 2" in card.body

    await send_event(bruno, room_id, "m.poll.response", response(start.event_id, [ids[0]]))
    await send_event(carla, room_id, "org.matrix.msc3381.poll.response", {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id},
        "org.matrix.msc3381.poll.response": {"answers": ids}})
    await bot.wait_until(counts_are(bot, [(1, 2), (2, 1)]), "two answers")
    await send_event(bruno, room_id, "m.poll.response", response(start.event_id, [ids[1]]))
    await send_event(carla, room_id, "m.poll.response", response(start.event_id, []))
    await bot.wait_until(counts_are(bot, [(2, 1)]), "changed and taken back")
    # The card is edited in place with the counts.
    await wait_for_event(bruno, room_id, lambda e: (
        isinstance(e, nio.RoomMessageText) and e.sender == bot.user_id
        and e.source["content"].get("m.relates_to", {}).get("event_id") == card.event_id
        and "2. domenica 13 dicembre 2026, ore 18:00 — 1" in e.body))

    await send_text(anna, room_id, "!chiudi 1")
    end = await wait_for_event(bruno, room_id, from_bot(
        bot, nio.UnknownEvent, lambda e: e.type == "m.poll.end"))
    assert end.source["content"]["m.relates_to"]["event_id"] == start.event_id
    result = await wait_for_event(bruno, room_id, from_bot(
        bot, where=lambda e: e.body.startswith("🗳️ Il sondaggio n. 1 è chiuso")))
    assert "🏆 Vince domenica 13 dicembre 2026, ore 18:00, con 1 voto." in result.body
    assert "📅 Crea incontro" in result.body  # the action's reaction, shown in words too


async def test_one_territory_on_telegram_and_matrix_counts_answers_together(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    async with telegram_group() as emu:
        bot = await both_platforms(matrix_bot, emu)
        anna, carla = await matrix_client("anna"), await matrix_client("carla")
        room_id = await room_with(anna, bot, carla)
        await bind_both_to_milano(emu, bot, anna, room_id)

        emu.inject_message(GROUP, ADA, "/sondaggio Pizza? | margherita | marinara")
        await emu.wait_for(lambda: bool(emu.polls), timeout=10)
        [telegram_poll] = emu.polls.values()
        start = await wait_for_event(carla, room_id, poll_start(bot), what="the poll")
        ids = [a["id"] for a in start.source["content"]["m.poll.start"]["answers"]]

        # Delivery records where the poll went right after Telegram accepted it; a member
        # is never that quick, the test is.
        for platform in ("telegram", "matrix"):
            await bot.wait_until(posted(bot, platform, "poll:1"), f"the {platform} poll recorded")
        emu.inject_poll_answer(telegram_poll.id, BRUNO, [0])
        await send_event(carla, room_id, "m.poll.response", response(start.event_id, ids))
        await bot.wait_until(counts_are(bot, [(1, 2), (2, 1)]),
                             "answers from both platforms", within=15)
        # Both cards show the sum: Bruno on Telegram, Carla on Matrix.
        await emu.wait_for(lambda: any("1. margherita — 2" in (m.text or "")
                                       for m in emu.sent_messages(GROUP)), timeout=10)
        await wait_for_event(carla, room_id, lambda e: (
            isinstance(e, nio.RoomMessageText) and e.sender == bot.user_id
            and "1. margherita — 2" in e.body), what="the card with both answers")

        await send_text(anna, room_id, "!chiudi 1")
        await emu.wait_for(lambda: telegram_poll.is_closed, timeout=10)
        await wait_for_event(carla, room_id, from_bot(
            bot, nio.UnknownEvent, lambda e: e.type == "m.poll.end"), what="the poll's end")
        result = await wait_for_event(carla, room_id, from_bot(
            bot, where=lambda e: e.body.startswith("🗳️")), what="the result")
        assert "1. margherita — 2 (Bruno, " in result.body
        await emu.wait_for(lambda: any((m.text or "").startswith("🗳️")
                                       for m in emu.sent_messages(GROUP)), timeout=10)
        await matrix_bot.stop(bot)


async def test_yes_maybe_no_on_matrix_is_one_message_per_option_with_reactions(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna, bruno = await matrix_client("anna"), await matrix_client("bruno")
    room_id = await room_with(anna, bot, bruno)
    await bind_to_milano(bot, anna, room_id)
    await send_text(anna, room_id, "!sondaggio Dove? | piazza | circolo | modo: sì-forse-no")
    first = await wait_for_event(bruno, room_id, from_bot(
        bot, where=lambda e: e.body.startswith("1. piazza")), what="option 1")
    assert first.body.startswith("1. piazza — ✅ 0 · 🤔 0 · ❌ 0")
    await seeded(bruno, room_id, bot, first.event_id, "✅", "🤔", "❌")

    reaction = await react(bruno, room_id, first.event_id, "🤔")
    await wait_for_event(bruno, room_id, lambda e: (
        isinstance(e, nio.RoomMessageText) and e.sender == bot.user_id
        and e.source["content"].get("m.relates_to", {}).get("event_id") == first.event_id
        and "🤔 1" in e.body), what="option 1 edited")
    assert await counted(bot) == [(1, 1)]
    await bruno.room_redact(room_id, reaction)
    await bot.wait_until(counts_are(bot, []), "the answer taken back")
