"""The Matrix adapter's messages as members see them: reactions as buttons and their
removal, edits in place, native polls (both response types) and their end, files and
images (plain and encrypted), direct messages."""

from __future__ import annotations

from typing import Any

import nio
import pytest
from nio.crypto.attachments import decrypt_attachment

from bot.app import App
from bot.commands import CommandSpec
from bot.context import Context
from bot.events import PollAnswerEvent
from bot.messages import Attachment, OutMessage, PollSpec, rich
from tests.adapters.matrix.harness import (
    BotFactory,
    an_edit_of,
    bot_events,
    from_bot,
    react,
    relates,
    room_with,
    seeded,
    settle,
)
from tests.adapters.matrix.helpers import (
    ClientFactory,
    checked,
    send_event,
    send_text,
    sync_until,
    wait_for_event,
    wait_for_invite,
)
from tests.adapters.matrix.test_synapse_fixture import ICS, tiny_png

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
CARD = "card:1"


# ---------------------------------------------------------------- reactions as buttons


class Card:
    """A test feature: `!provascheda` posts a card whose actions are reactions; each reaction
    is recorded and re-renders the card (an edit)."""

    def __init__(self) -> None:
        self.pressed: list[tuple[str, str, bool]] = []

    def setup(self, app: App) -> None:
        app.services.registry.action("test.rsvp", self.rsvp)
        app.services.registry.command(CommandSpec(("provascheda",), self.show, "test"))

    async def show(self, ctx: Context, args: str) -> None:
        await self.post(ctx, "nessuna risposta")

    async def rsvp(self, ctx: Context, payload: dict[str, Any], undo: bool) -> str:
        self.pressed.append((ctx.identity.user_id, payload["v"], undo))
        await self.post(ctx, f"{len(self.pressed)} risposte")
        return "ok"

    async def post(self, ctx: Context, note: str) -> None:
        outbox = ctx.outbox
        yes = await outbox.action(ctx.here, "test.rsvp", {"v": "yes"}, label="Ci sono",
                                  command="partecipo 1 sì", emoji="✅", key=CARD)
        no = await outbox.action(ctx.here, "test.rsvp", {"v": "no"}, label="Non ci sono",
                                 command="partecipo 1 no", emoji="❌", key=CARD)
        maybe = await outbox.action(ctx.here, "test.rsvp", {"v": "maybe"}, label="Forse",
                                    command="partecipo 1 forse", key=CARD)
        await outbox.post(ctx.here, OutMessage(rich("Assemblea di quartiere", note),
                                               actions=((yes, no, maybe),), key=CARD))


async def test_reactions_act_as_buttons_and_removing_one_undoes_it(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    card = Card()
    bot = await matrix_bot(encryption=False, setup=card.setup)
    anna, bruno = await matrix_client("anna"), await matrix_client("bruno")
    room_id = await room_with(anna, bot, bruno)

    await send_text(anna, room_id, "!provascheda")
    shown = await wait_for_event(bruno, room_id, from_bot(
        bot, where=lambda e: e.body.startswith("Assemblea")))
    assert shown.body.endswith("✅ Ci sono — !partecipo 1 sì\n❌ Non ci sono — !partecipo 1 no\n"
                               "Forse — !partecipo 1 forse")
    assert "✅ Ci sono — <code>!partecipo 1 sì</code><br>" in shown.formatted_body
    await seeded(bruno, room_id, bot, shown.event_id, "✅", "❌")

    reaction_id = await react(bruno, room_id, shown.event_id, "✅")
    edit = await wait_for_event(bruno, room_id, an_edit_of(shown.event_id, "1 risposte"))
    assert edit.sender == bot.user_id and edit.body.startswith("* Assemblea")
    new = edit.source["content"]["m.new_content"]
    assert new["format"] == "org.matrix.custom.html" and "1 risposte" in new["formatted_body"]

    checked(await bruno.room_redact(room_id, reaction_id))
    await wait_for_event(bruno, room_id, an_edit_of(shown.event_id, "2 risposte"))
    assert card.pressed == [(bruno.user_id, "yes", False), (bruno.user_id, "yes", True)]

    await settle(bruno)  # the edits did not seed the reactions again; the seeds never counted
    seeds = bot_events(bruno, room_id, bot, nio.ReactionEvent)
    assert sorted(e.key for e in seeds) == ["✅", "❌"]
    assert len(card.pressed) == 2


# -------------------------------------------------------------------------------- polls


class Poll:
    """A test feature: `!provasondaggio` posts a native poll, `!provachiudi` closes it."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, tuple[int, ...]]] = []

    def setup(self, app: App) -> None:
        app.services.registry.command(CommandSpec(("provasondaggio",), self.start, "test"))
        app.services.registry.command(CommandSpec(("provachiudi",), self.close, "test"))
        app.dispatcher.poll_answer_handler = self.answer

    async def start(self, ctx: Context, args: str) -> None:
        spec = PollSpec("Quando ci vediamo?", ("lunedì", "martedì", "mercoledì"))
        await ctx.outbox.post(ctx.here, OutMessage(rich("Vota anche con !vota 1 N"), poll=spec,
                                                   key="poll:1"))

    async def close(self, ctx: Context, args: str) -> None:
        await ctx.outbox.post(ctx.here, OutMessage(rich("Sondaggio chiuso: vince martedì"),
                                                   close_poll=True, key="poll:1"))

    async def answer(self, ctx: Context, event: PollAnswerEvent) -> None:
        assert event.message_id == event.poll_id  # the poll's message is its start event
        self.answers.append((event.sender.user_id, event.poll_id, event.options))


def response(event_type: str, start_id: str, answers: list[str]) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
            event_type: {"answers": answers}}


async def test_a_native_poll_answered_by_two_members_and_closed(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    poll = Poll()
    bot = await matrix_bot(setup=poll.setup)
    anna, bruno, carla = [await matrix_client(n) for n in ("anna", "bruno", "carla")]
    room_id = await room_with(anna, bot, bruno, carla, initial_state=[ENCRYPTION_STATE])

    await send_text(anna, room_id, "!provasondaggio")
    start = await wait_for_event(bruno, room_id, from_bot(
        bot, nio.UnknownEvent, lambda e: e.type == "m.poll.start"))
    content = start.source["content"]
    stable, unstable = content["m.poll.start"], content["org.matrix.msc3381.poll.start"]
    assert stable["question"] == {"m.text": "Quando ci vediamo?"}
    assert [a["m.text"] for a in stable["answers"]] == ["lunedì", "martedì", "mercoledì"]
    assert [a["org.matrix.msc1767.text"] for a in unstable["answers"]] == [
        "lunedì", "martedì", "mercoledì"]
    assert stable["max_selections"] == unstable["max_selections"] == 3
    assert unstable["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert content["m.text"].endswith("Quando ci vediamo?\n1. lunedì\n2. martedì\n3. mercoledì")
    assert content["m.text"].startswith("Vota anche con !vota 1 N")
    ids = [a["id"] for a in stable["answers"]]

    await send_event(bruno, room_id, "m.poll.response",
                     response("m.poll.response", start.event_id, [ids[1]]))
    await send_event(carla, room_id, "org.matrix.msc3381.poll.response",
                     response("org.matrix.msc3381.poll.response", start.event_id,
                              [ids[0], ids[2]]))
    await send_event(bruno, room_id, "m.poll.response",  # changed their mind: latest wins
                     response("m.poll.response", start.event_id, [ids[2]]))
    await send_event(carla, room_id, "m.poll.response",  # an unknown answer spoils the vote
                     response("m.poll.response", start.event_id, [ids[0], "nope"]))
    own = await send_event(bruno, room_id, "m.poll.start", dict(content))  # not the bot's poll
    await send_event(carla, room_id, "m.poll.response",
                     response("m.poll.response", own, [ids[0]]))
    await bot.wait_until(lambda: len(poll.answers) >= 4, "four poll answers")

    await send_text(anna, room_id, "!provachiudi")
    end = await wait_for_event(bruno, room_id, from_bot(
        bot, nio.UnknownEvent, lambda e: e.type == "m.poll.end"))
    assert relates(end) == {"rel_type": "m.reference", "event_id": start.event_id}
    assert end.source["content"]["m.text"] == "Sondaggio chiuso: vince martedì"
    assert "org.matrix.msc3381.poll.end" in end.source["content"]
    assert poll.answers == [
        (bruno.user_id, start.event_id, (1,)),
        (carla.user_id, start.event_id, (0, 2)),
        (bruno.user_id, start.event_id, (2,)),
        (carla.user_id, start.event_id, ()),
    ]


# ------------------------------------------------------------------------------- files


async def test_a_file_and_an_image_in_plain_and_encrypted_rooms(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot()
    anna = await matrix_client("anna")
    plain = await room_with(anna, bot)
    secret = await room_with(anna, bot, initial_state=[ENCRYPTION_STATE])
    png = tiny_png(3, 2)

    await bot.post(OutMessage(rich("Il calendario"),
                              attachment=Attachment("../assemblea.ics", "text/calendar", ICS)),
                   room_id=plain)
    file = await wait_for_event(anna, plain, from_bot(bot, nio.RoomMessageFile))
    assert file.source["content"]["filename"] == "assemblea.ics"
    assert file.body == "Il calendario"  # the caption; the name is in `filename`
    download = checked(await anna.download(mxc=file.url))
    assert download.body == ICS

    await bot.post(OutMessage(attachment=Attachment("grafico.png", "image/png", png,
                                                    is_image=True)), room_id=secret)
    image = await wait_for_event(anna, secret, from_bot(bot, nio.RoomEncryptedImage))
    info = image.source["content"]["info"]
    assert (info["mimetype"], info["size"], info["w"], info["h"]) == ("image/png", len(png), 3, 2)
    ciphertext = checked(await anna.download(mxc=image.url)).body
    assert ciphertext != png
    assert decrypt_attachment(ciphertext, image.key["k"], image.hashes["sha256"],
                              image.iv) == png


# ---------------------------------------------------------------------- direct messages


async def test_a_direct_message_room_is_made_reused_and_replaced(
        matrix_client: ClientFactory, matrix_bot: BotFactory) -> None:
    bot = await matrix_bot()
    anna = await matrix_client("anna")
    room_id = await room_with(anna, bot)
    await send_text(anna, room_id, "!chi")  # the bot now knows anna
    await wait_for_event(anna, room_id, from_bot(bot, where=lambda e: "Sei " in e.body))

    await bot.post(OutMessage(rich("Promemoria: assemblea domani")), person=anna.user_id)
    dm = await sync_until(anna, lambda: next(iter(anna.invited_rooms), None), what="a DM invite")
    invite = await wait_for_invite(anna, dm)
    assert invite.sender == bot.user_id and invite.content.get("is_direct") is True
    checked(await anna.join(dm))
    first = await wait_for_event(anna, dm, from_bot(bot, where=lambda e: "Promemoria" in e.body))
    assert first.decrypted  # a DM is encrypted, and readable after joining

    await bot.post(OutMessage(rich("Secondo promemoria")), person=anna.user_id)
    await wait_for_event(anna, dm, from_bot(bot, where=lambda e: "Secondo" in e.body))
    assert not anna.invited_rooms  # the same room again

    checked(await anna.room_leave(dm))
    await bot.post(OutMessage(rich("Terzo promemoria")), person=anna.user_id)
    again = await sync_until(anna, lambda: next((r for r in anna.invited_rooms if r != dm), None),
                             what="a new DM invite")
    checked(await anna.join(again))
    await wait_for_event(anna, again, from_bot(bot, where=lambda e: "Terzo" in e.body))
