"""One territory, chats on two platforms: one poll posted in both, answers adding up.

`alpha` is a platform like Telegram (buttons, native polls); `beta` one like Matrix
(reactions instead of buttons, native polls). Both are in-memory adapters driven with the
core's own events, as the real adapters produce them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count

import pytest
from sqlalchemy import select

from adapters.base import Capabilities
from adapters.memory import MemoryAdapter, Sent
from bot.app import App
from bot.clock import FakeClock
from bot.events import ActionEvent, ChatRef, CommandEvent, PollAnswerEvent, Sender
from bot.roles import StaffList
from storage.models import OutboxMessage
from storage.models.polls import PollPost, PollVote
from tests.support import DEFAULT_NOW, make_config

MATRIX_LIKE = Capabilities(reactions=True, edits=True, native_polls=True, direct_messages=True)


class BangAdapter(MemoryAdapter):
    """Commands written `!cmd`, as on Matrix."""

    def command_hint(self, command: str) -> str:
        return f"!{command}"


@dataclass
class TwoPlatforms:
    app: App
    alpha: MemoryAdapter
    beta: MemoryAdapter
    ids: count

    def adapter(self, platform: str) -> MemoryAdapter:
        return self.alpha if platform == "alpha" else self.beta

    def base(self, platform: str, user: str, chat: str) -> dict[str, object]:
        return {"platform": platform, "event_id": str(next(self.ids)),
                "chat": ChatRef(platform, chat, title=chat),
                "sender": Sender(user, user.capitalize(), is_chat_admin=user == "admin")}

    async def say(self, platform: str, user: str, chat: str, command: str) -> list[str]:
        name, _, args = command.lstrip("/!").partition(" ")
        before = len(self.adapter(platform).sent)
        await self.app.dispatcher.handle(CommandEvent(**self.base(platform, user, chat),
                                                      name=name, args=args))
        await self.app.delivery.drain()
        return [s.text for s in self.adapter(platform).sent[before:]]

    async def answer(self, platform: str, user: str, chat: str, message_id: str,
                     options: tuple[int, ...]) -> None:
        await self.app.dispatcher.handle(PollAnswerEvent(
            **self.base(platform, user, chat), poll_id="x", options=options,
            message_id=message_id))
        await self.app.delivery.drain()

    async def react(self, user: str, chat: str, message_id: str, emoji: str,
                    undo: bool = False) -> str | None:
        outcome = await self.app.dispatcher.handle(ActionEvent(
            **self.base("beta", user, chat), message_id=message_id, key=emoji, undo=undo))
        await self.app.delivery.drain()
        return outcome.text if outcome else None


def keyed(adapter: MemoryAdapter, key: str) -> list[Sent]:
    return [s for s in adapter.sent if s.item.message.key == key]


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[TwoPlatforms]:
    alpha = MemoryAdapter(platform="alpha")
    beta = BangAdapter(platform="beta", capabilities=MATRIX_LIKE)
    app = App(make_config(database_url), [alpha, beta], clock=FakeClock(DEFAULT_NOW),
              staff=StaffList({}), background=False)
    await app.start()
    both = TwoPlatforms(app, alpha, beta, count(1))
    await both.say("alpha", "admin", "piazza", "/territorio Milano")
    await both.say("beta", "admin", "!room", "!territorio Milano")
    yield both
    await app.stop()


async def votes(two: TwoPlatforms) -> list[tuple[int, str]]:
    async with two.app.db.transaction() as session:
        return [(v.option_id, v.answer) for v in await session.scalars(
            select(PollVote).order_by(PollVote.option_id, PollVote.member_id))]


async def card_rows(two: TwoPlatforms) -> int:
    """Versions of poll 1's card ever written to the outbox, in every chat."""
    async with two.app.db.transaction() as session:
        return len(list(await session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.key == "poll:1:card"))))


async def test_one_poll_in_both_chats_native_answers_add_up(two: TwoPlatforms) -> None:
    await two.say("alpha", "admin", "piazza", "/sondaggio Quando? | sabato alle 19 | "
                                              "domenica alle 18")
    [alpha_poll] = keyed(two.alpha, "poll:1")
    [beta_poll] = keyed(two.beta, "poll:1")
    assert alpha_poll.item.message.poll == beta_poll.item.message.poll
    assert "Rispondi nel sondaggio qui sotto, oppure scrivi !vota 1 1 2" in \
        keyed(two.beta, "poll:1:card")[0].text  # each platform's own command prefix
    await two.answer("alpha", "bruno", "piazza", alpha_poll.message_id, (0,))
    await two.answer("beta", "carla", "!room", beta_poll.message_id, (0, 1))
    await two.say("beta", "dario", "!room", "!vota 1 2")
    for adapter in (two.alpha, two.beta):
        card = keyed(adapter, "poll:1:card")[-1].text
        assert "1. sabato 5 dicembre 2026, ore 19:00 — 2" in card
        assert "2. domenica 6 dicembre 2026, ore 18:00 — 2" in card
        assert "Hanno risposto 3 persone." in card
    # An answer naming a message the records do not know is dropped.
    await two.answer("beta", "elena", "!room", "999", (1,))
    assert len(await votes(two)) == 4

    await two.say("beta", "admin", "!room", "!chiudi 1")
    for adapter in (two.alpha, two.beta):
        [close] = [s for s in adapter.sent if s.item.message.close_poll]
        assert close.item.edit_of == keyed(adapter, "poll:1")[0].message_id
        [result] = keyed(adapter, "poll:1:result")
        assert "🤝 Parità tra sabato 5 dicembre 2026, ore 19:00 e domenica 6 dicembre 2026, " \
               "ore 18:00: 2 voti ciascuna." in result.text
        assert "(Bruno, Carla)" in result.text and "(Carla, Dario)" in result.text


async def test_reactions_stand_for_buttons_one_message_per_option(two: TwoPlatforms) -> None:
    await two.say("alpha", "admin", "piazza", "/sondaggio Dove? | piazza | circolo | "
                                              "modo: sì-forse-no")
    async with two.app.db.transaction() as session:
        layouts = {p.chat_id: p.layout for p in await session.scalars(select(PollPost))}
    assert sorted(layouts.values()) == ["buttons", "reactions"]
    [first] = keyed(two.beta, "poll:1:o1")
    [second] = keyed(two.beta, "poll:1:o2")
    assert [a.emoji for row in first.item.message.actions for a in row] == ["✅", "🤔", "❌"]
    assert await two.react("carla", "!room", second.message_id, "🤔") == "circolo: forse"
    assert await two.react("carla", "!room", first.message_id, "✅") == "piazza: sì"
    assert await votes(two) == [(1, "yes"), (2, "maybe")]
    # Only the message whose counts changed is edited, and the card with the total.
    assert keyed(two.beta, "poll:1:o1")[-1].text == "1. piazza — ✅ 1 · 🤔 0 · ❌ 0"
    assert len(keyed(two.beta, "poll:1:o2")) == 2
    # Taking a reaction back withdraws that answer; another emoji than the answer given
    # changes nothing.
    assert await two.react("carla", "!room", first.message_id, "❌", undo=True) == \
        "Era già segnato."
    assert await two.react("carla", "!room", first.message_id, "✅", undo=True) == \
        "Ritirato: piazza"
    assert await votes(two) == [(2, "maybe")]
    # The Telegram-like chat shows the same counts on its card.
    assert "2. circolo — ✅ 0 · 🤔 1 · ❌ 0" in keyed(two.alpha, "poll:1:card")[-1].text


async def test_reactions_that_arrive_together_edit_each_changed_option_once(
        two: TwoPlatforms) -> None:
    """Answers of one batch show the poll once, in its final state: the card, and every
    option message an answer of the batch changed (and only those)."""
    await two.say("alpha", "admin", "piazza", "/sondaggio Dove? | piazza | circolo | parco | "
                                              "modo: sì-forse-no")
    messages = {n: keyed(two.beta, f"poll:1:o{n}")[0].message_id for n in (1, 2, 3)}
    before = {key: len(keyed(two.beta, key)) for key in
              ("poll:1:card", "poll:1:o1", "poll:1:o2", "poll:1:o3")}
    written = await card_rows(two)
    outcomes = await two.app.dispatcher.handle_many([
        ActionEvent(**two.base("beta", who, "!room"), message_id=messages[n], key=emoji)
        for who, n, emoji in [("carla", 1, "✅"), ("dario", 3, "🤔"), ("carla", 3, "❌")]])
    await two.app.delivery.drain()
    assert [o.text for o in outcomes if o] == ["piazza: sì", "parco: forse", "parco: no"]
    edits = {key: len(keyed(two.beta, key)) - count for key, count in before.items()}
    assert edits == {"poll:1:card": 1, "poll:1:o1": 1, "poll:1:o2": 0, "poll:1:o3": 1}
    assert await card_rows(two) == written + 2  # rendered once for each chat, not each answer
    assert keyed(two.beta, "poll:1:o3")[-1].text == "3. parco — ✅ 0 · 🤔 1 · ❌ 1"
    assert "Hanno risposto 2 persone." in keyed(two.alpha, "poll:1:card")[-1].text


async def test_anonymous_and_hidden_polls_use_no_reactions(two: TwoPlatforms) -> None:
    await two.say("alpha", "admin", "piazza", "/sondaggio Segreto? | sì | no | anonimo")
    await two.say("alpha", "admin", "piazza", "/sondaggio Nascosto? | a | b | "
                                              "risultati: alla chiusura")
    for key in ("poll:1:card", "poll:2:card"):
        [card] = keyed(two.beta, key)
        assert card.item.message.actions == ()
    assert not any(s.item.message.poll for s in two.beta.sent)
    assert "Per rispondere senza che nessuno veda, scrivimi in privato: !vota 1 1 2" in \
        keyed(two.beta, "poll:1:card")[0].text
    assert "Per rispondere, scrivi !vota 2 1 2." in keyed(two.beta, "poll:2:card")[0].text
