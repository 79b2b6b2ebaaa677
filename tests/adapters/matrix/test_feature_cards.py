"""The meetup card and the idea card on Matrix, end to end: the real features, the real
adapter against the test Synapse. A card arrives with the bot's reactions under it and the
text forms of its buttons; a member's reaction edits it (`m.replace`) with their name or
their support, and redacting the reaction edits it back."""

from __future__ import annotations

import nio
import pytest

from tests.adapters.matrix.harness import (
    BotFactory,
    MatrixBot,
    an_edit_of,
    bind_to_milano,
    from_bot,
    localpart,
    posted,
    react,
    room_with,
    seeded,
)
from tests.adapters.matrix.helpers import ClientFactory, checked, send_text, wait_for_event

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def card_in_milano(bot: MatrixBot, admin: nio.AsyncClient, member: nio.AsyncClient,
                         room_id: str, command: str, start: str, key: str) -> nio.RoomMessageText:
    """`admin` binds the room to Milano and sends `command`; the card it brings (starting
    with `start`, keyed `key`) as `member` sees it, once the bot knows where it went."""
    await bind_to_milano(bot, admin, room_id)
    await send_text(admin, room_id, command)
    card = await wait_for_event(member, room_id, from_bot(
        bot, where=lambda e: e.body.startswith(start)), what="the card")
    await bot.wait_until(posted(bot, "matrix", key), "the card recorded")
    return card


async def test_a_meetup_card_answered_with_a_reaction_and_taken_back(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna, bruno = await matrix_client("anna"), await matrix_client("bruno")
    room_id = await room_with(anna, bot, bruno)
    card = await card_in_milano(bot, anna, bruno, room_id,
                                "!incontro Cena sociale | sabato alle 19 | Trattoria da Mario",
                                "📅 Cena sociale", "meetup:1")
    going = f"Ci sono (1): {localpart(anna)}"
    assert going in card.body
    assert card.body.endswith("✅ Ci sono — !partecipo 1 sì\n🤔 Forse — !partecipo 1 forse\n"
                              "❌ Non vengo — !partecipo 1 no\n📅 Calendario — !calendario 1")
    await seeded(bruno, room_id, bot, card.event_id, "✅", "🤔", "❌", "📅")

    reaction = await react(bruno, room_id, card.event_id, "✅")
    both = f"Ci sono (2): {localpart(anna)}, {localpart(bruno)}"
    edit = await wait_for_event(bruno, room_id, an_edit_of(card.event_id, both),
                                what="the card with bruno going")
    assert edit.sender == bot.user_id
    assert (f"<strong>Ci sono (2):</strong> {localpart(anna)}, {localpart(bruno)}"
            in edit.source["content"]["m.new_content"]["formatted_body"])

    checked(await bruno.room_redact(room_id, reaction))
    back = await wait_for_event(bruno, room_id, an_edit_of(card.event_id, going),
                                what="the card as it was")
    assert localpart(bruno) not in back.source["content"]["m.new_content"]["body"]


async def test_an_idea_card_supported_with_a_reaction_and_withdrawn(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot(encryption=False)
    anna, bruno = await matrix_client("anna"), await matrix_client("bruno")
    room_id = await room_with(anna, bot, bruno)
    card = await card_in_milano(bot, anna, bruno, room_id,
                                "!idea Creare uno spazio di coworking per i soci #spazi",
                                "💡 Idea #1 · Milano", "idea:1")
    assert "Stato: nuova · 0 sostenitori" in card.body
    # The label shows its reaction already: not "👍 Sostengo 👍".
    assert card.body.endswith("Sostengo 👍 — !sostengo 1\nRitiro il sostegno — !ritiro 1")
    assert "👍 Sostengo" not in card.body
    await seeded(bruno, room_id, bot, card.event_id, "👍")

    reaction = await react(bruno, room_id, card.event_id, "👍")
    await wait_for_event(bruno, room_id, an_edit_of(card.event_id, "nuova · 1 sostenitore"),
                         what="the card with one supporter")
    checked(await bruno.room_redact(room_id, reaction))
    await wait_for_event(bruno, room_id, an_edit_of(card.event_id, "nuova · 0 sostenitori"),
                         what="the card without supporters")
