"""One territory, a Telegram group (PTB against the Bot API emulator) and a Matrix room (the
test Synapse), one running bot: a meetup proposed on Telegram and an idea proposed on
Matrix reach both chats, and a button pressed on Telegram and a reaction on Matrix count
together on both cards — the Telegram message edited in place, the Matrix event replaced."""

from __future__ import annotations

import nio
import pytest

from tests.adapters.crossplatform import (
    ADA,
    BRUNO,
    GROUP,
    bind_both_to_milano,
    both_platforms,
    press,
    telegram_group,
    telegram_message,
)
from tests.adapters.matrix.harness import (
    BotFactory,
    MatrixBot,
    an_edit_of,
    from_bot,
    localpart,
    posted,
    react,
    room_with,
)
from tests.adapters.matrix.helpers import ClientFactory, send_text, wait_for_event
from tests.adapters.telegram.emulator import BotAPIEmulator, StoredMessage

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def cards(emu: BotAPIEmulator, bot: MatrixBot, member: nio.AsyncClient, room_id: str,
                start: str, key: str) -> tuple[StoredMessage, nio.RoomMessageText]:
    """The card starting with `start` in the Telegram group and in the Matrix room (as
    `member` sees it), once the bot knows where the Matrix one went."""
    on_telegram = await telegram_message(emu, lambda text: text.startswith(start))
    on_matrix = await wait_for_event(member, room_id, from_bot(
        bot, where=lambda e: e.body.startswith(start)), what=f"the card {key}")
    await bot.wait_until(posted(bot, "matrix", key), f"the card {key} recorded")
    return on_telegram, on_matrix


async def both_show(emu: BotAPIEmulator, bot: MatrixBot, member: nio.AsyncClient,
                    room_id: str, telegram: StoredMessage, matrix: nio.RoomMessageText,
                    text: str) -> None:
    """Both cards show `text`: the Telegram message edited in place, the Matrix event
    replaced."""
    await wait_for_event(member, room_id, an_edit_of(matrix.event_id, text),
                         what=f"the Matrix card with {text!r}")
    edited = await telegram_message(emu, lambda shown: text in shown)
    assert edited.key == telegram.key and edited.edit_date is not None


async def test_a_meetup_and_an_idea_answered_from_telegram_and_matrix_count_together(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    async with telegram_group() as emu:
        bot = await both_platforms(matrix_bot, emu)
        anna, carla = await matrix_client("anna"), await matrix_client("carla")
        room_id = await room_with(anna, bot, carla)
        await bind_both_to_milano(emu, bot, anna, room_id)
        in_group = len(emu.sent_messages(GROUP))

        # A meetup proposed on Telegram is in the Matrix room too; its organiser goes.
        emu.inject_message(GROUP, ADA, "/incontro Cena sociale | sabato alle 19 | "
                                       "Trattoria da Mario")
        tg_meetup, mx_meetup = await cards(emu, bot, carla, room_id, "📅 Cena sociale",
                                           "meetup:1")
        assert "Ci sono (1): Ada" in (tg_meetup.text or "") and "Ci sono (1): Ada" in (
            mx_meetup.body)
        assert await press(emu, BRUNO, tg_meetup, "Ci sono") == (
            "Segnato: ci sei. Ci vediamo lì!")
        await both_show(emu, bot, carla, room_id, tg_meetup, mx_meetup,
                        "Ci sono (2): Ada, Bruno")
        await react(carla, room_id, mx_meetup.event_id, "✅")
        await both_show(emu, bot, carla, room_id, tg_meetup, mx_meetup,
                        f"Ci sono (3): Ada, Bruno, {localpart(carla)}")

        # An idea proposed on Matrix is in the Telegram group too; supports add up.
        await send_text(anna, room_id, "!idea Creare uno spazio di coworking per i soci #spazi")
        tg_idea, mx_idea = await cards(emu, bot, carla, room_id, "💡 Idea #1 · Milano", "idea:1")
        assert "0 sostenitori" in (tg_idea.text or "") and "0 sostenitori" in mx_idea.body
        assert await press(emu, BRUNO, tg_idea, "Sostengo 👍") == "Grazie: sostieni l'idea #1."
        await both_show(emu, bot, carla, room_id, tg_idea, mx_idea, "nuova · 1 sostenitore")
        await react(carla, room_id, mx_idea.event_id, "👍")
        await both_show(emu, bot, carla, room_id, tg_idea, mx_idea, "nuova · 2 sostenitori")

        # Besides the two cards, the group got only the answer to the meetup's creation.
        assert len(emu.sent_messages(GROUP)) == in_group + 3
        await matrix_bot.stop(bot)
