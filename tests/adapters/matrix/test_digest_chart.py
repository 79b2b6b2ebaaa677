"""The weekly staff digest on Matrix (the test Synapse): its text, then its chart as an
`m.image` in the encrypted staff room, which a member downloads and decrypts to the PNG the
core drew."""

from __future__ import annotations

import nio
import pytest
from nio.crypto.attachments import decrypt_attachment
from sqlalchemy import select

from bot.digests.engine import plans, send
from bot.messages import message_from_json
from bot.outbox import Outbox
from storage.models import Chat, OutboxMessage
from tests.adapters.matrix.harness import BotFactory, MatrixBot, bind_to_milano, from_bot, room_with
from tests.adapters.matrix.helpers import ClientFactory, checked, send_text, wait_for_event
from tests.adapters.matrix.test_adapter_messages import ENCRYPTION_STATE

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def send_weekly_digest(bot: MatrixBot, room_id: str) -> bytes:
    """What the scheduler does on Monday morning for this staff room (its weekly digest,
    claimed and written to the outbox); returns the chart the core drew."""
    services = bot.app.services
    async with bot.app.db.transaction() as session:
        chat = await session.scalar(select(Chat).where(Chat.platform == "matrix",
                                                       Chat.external_id == room_id))
        assert chat is not None and chat.kind == "staff"
        [weekly] = [p for p in await plans(session, services, [chat.id])
                    if p.kind == "staff_weekly"]
        outbox = Outbox(session, bot.app.clock, services.platforms, "Europe/Rome")
        now = bot.app.clock.now()
        assert await send(session, services, outbox, weekly, now, now)
        await session.flush()
        rows = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat.id).order_by(OutboxMessage.id))
        charts = [m.attachment for m in map(message_from_json, (r.payload for r in rows))
                  if m.attachment is not None]
    bot.app.delivery.wake()
    assert len(charts) == 1 and charts[0].is_image
    return charts[0].data


async def test_the_weekly_staff_chart_is_an_image_a_member_downloads(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    pytest.importorskip("matplotlib")
    anna = await matrix_client("anna")
    bot = await matrix_bot()
    bot.app.services.staff.add("matrix", anna.user_id)
    office = await room_with(anna, bot, initial_state=[ENCRYPTION_STATE])
    await send_text(anna, office, "!staff")
    await wait_for_event(anna, office, from_bot(bot, where=lambda e: "staff" in e.body))
    milano = await room_with(anna, bot)
    await bind_to_milano(bot, anna, milano)
    await send_text(anna, milano, "!idea Un orto condiviso nel cortile della sede")
    await wait_for_event(anna, milano, from_bot(bot, where=lambda e: "Idea #1" in e.body))

    drawn = await send_weekly_digest(bot, office)
    text = await wait_for_event(anna, office, from_bot(
        bot, where=lambda e: "Riepilogo settimanale per lo staff" in e.body))
    assert "Milano — Idee proposte: 1 · Soci attivi: 1" in text.body
    image = await wait_for_event(anna, office, from_bot(bot, nio.RoomEncryptedImage))
    info = image.source["content"]["info"]
    assert info["mimetype"] == "image/png" and info["size"] == len(drawn) < 100_000
    assert info["w"] > info["h"] > 100
    assert image.body.startswith("Soci che hanno partecipato in ogni territorio")
    ciphertext = checked(await anna.download(mxc=image.url)).body
    png = decrypt_attachment(ciphertext, image.key["k"], image.hashes["sha256"], image.iv)
    assert png == drawn and png.startswith(PNG_MAGIC)
