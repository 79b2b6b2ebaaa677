"""The Telegram adapter under test: the real PTB against the Bot API emulator, the real core.

`emu` is a Telegram with a supergroup (Ada administers it; Bruno and Carla are members), a
second group, a forum supergroup with a topic, people who started the bot and one who
never did. `tg` is the bot running on it: the real `App` with the `TelegramAdapter`
polling the emulator, a fake clock, and the delivery loop driven by the test (`settle()`
waits until the adapter has handled what was injected, then delivers what the core wrote).
`start_bot()` starts another one on the same database (a restart).

`Feature` adds a few test commands that use the port the way features do: a counter card
with a button (edited in place), a long echo, a native poll and its closing, a document, a
photo and a private message.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.telegram.adapter import TelegramAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.commands import CommandSpec, Registry
from bot.context import Context
from bot.events import CommandEvent, PollAnswerEvent
from bot.messages import Attachment, OutMessage, PollSpec, rich
from storage.models import Chat, OutboxMessage
from tests.adapters.telegram.emulator import BotAPIEmulator, StoredMessage
from tests.adapters.telegram.test_emulator import png_bytes
from tests.support import DEFAULT_NOW, make_config

TOKEN = "123:ABC"
ADA, BRUNO, CARLA, STRANGER, STAFF = 42, 43, 44, 45, 50
GROUP, OTHER_GROUP, FORUM = -1001000000001, -1001000000003, -1001000000002
TOPIC = 7
ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//piazzabot//test//IT\r\nBEGIN:VEVENT\r\n"
       b"UID:1@piazzabot\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261205T180000Z\r\n"
       b"SUMMARY:Cena\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
PNG = png_bytes(8, 6)


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB's future time periods (`retry_after` as a timedelta), as in test_emulator.py; the
    adapter reads both forms (tests/adapters/telegram/test_adapter_units.py)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(token=TOKEN, bot_username="PiazzaBot") as emulator:
        emulator.add_user(ADA, "Ada", username="ada")
        emulator.add_user(BRUNO, "Bruno")
        emulator.add_user(CARLA, "Carla", username="carla")
        emulator.add_user(STAFF, "Stefania")
        emulator.add_user(STRANGER, "Sconosciuto", started_bot=False)
        emulator.add_chat(GROUP, "supergroup", "Piazza Milano", creator=ADA,
                          members=[BRUNO, CARLA, STRANGER])
        emulator.add_chat(OTHER_GROUP, "supergroup", "Piazza Roma", creator=BRUNO,
                          members=[ADA, CARLA])
        emulator.add_chat(FORUM, "supergroup", "Forum Bologna", is_forum=True, creator=ADA,
                          members=[BRUNO])
        emulator.add_topic(FORUM, "Incontri", TOPIC)
        yield emulator


# --- a small feature, written against the core's API as real features are ---------------------

@dataclass
class Feature:
    counts: dict[str, int] = field(default_factory=dict)
    poll_answers: list[PollAnswerEvent] = field(default_factory=list)
    pointed: list[CommandEvent] = field(default_factory=list)

    def register(self, registry: Registry) -> None:
        for name, handler in (("test_conta", self.count_card), ("test_lungo", self.long),
                              ("test_sondaggio", self.poll), ("test_chiudi", self.close),
                              ("test_file", self.document), ("test_grafico", self.photo),
                              ("test_avvisami", self.private), ("test_punta", self.point)):
            registry.command(CommandSpec((name,), handler, "test"))
        registry.action("test.count", self.press)

    async def card(self, ctx: Context, *, ttl: timedelta | None = None) -> None:
        key = "conta-breve" if ttl else "conta"
        action = await ctx.outbox.action(ctx.here, "test.count", {"key": key}, label="+1",
                                         key=key, ttl=ttl)
        count = self.counts.get(ctx.chat.external_id, 0)
        await ctx.reply(OutMessage(rich(f"Conteggio: {count}"), actions=((action,),), key=key))

    async def count_card(self, ctx: Context, args: str) -> None:
        await self.card(ctx, ttl=timedelta(minutes=5) if args == "breve" else None)

    async def press(self, ctx: Context, payload: dict[str, Any], undo: bool) -> str:
        chat = ctx.chat.external_id
        self.counts[chat] = self.counts.get(chat, 0) + 1
        await self.card(ctx, ttl=timedelta(minutes=5) if payload["key"] == "conta-breve"
                        else None)
        return "Contato!"

    async def long(self, ctx: Context, args: str) -> None:
        """The member's words, repeated past 5,000 characters, as one paragraph."""
        times = math.ceil(5000 / (len(args) + 1))
        await ctx.reply(rich(" ".join([args] * times)))

    async def poll(self, ctx: Context, args: str) -> None:
        spec = PollSpec("Quando ci vediamo?", ("lunedì", "martedì", "mercoledì"))
        await ctx.reply(OutMessage(poll=spec, key="sondaggio"))

    async def close(self, ctx: Context, args: str) -> None:
        await ctx.reply(OutMessage(close_poll=True, key="sondaggio"))

    async def document(self, ctx: Context, args: str) -> None:
        await ctx.reply(OutMessage(rich("L'incontro nel tuo calendario"),
                                   attachment=Attachment("incontro.ics", "text/calendar", ICS)))

    async def photo(self, ctx: Context, args: str) -> None:
        await ctx.reply(OutMessage(rich("Partecipazione del mese"), attachment=Attachment(
            "grafico.png", "image/png", PNG, is_image=True)))

    async def point(self, ctx: Context, args: str) -> None:
        assert isinstance(ctx.event, CommandEvent)
        self.pointed.append(ctx.event)

    async def private(self, ctx: Context, args: str) -> None:
        target = ctx.outbox.person_target(ctx.identity, ctx.t.locale)
        await ctx.outbox.post(target, OutMessage(rich("Un promemoria solo per te.")))


# --- the bot on the emulator -----------------------------------------------------------------

@dataclass
class TelegramBot:
    emu: BotAPIEmulator
    app: App
    adapter: TelegramAdapter
    clock: FakeClock
    feature: Feature

    async def settle(self, update: dict[str, Any] | None = None) -> None:
        """Wait until the adapter has handled `update` (default: every injected one), then
        deliver what the core wrote because of it."""
        last = update or (self.emu.updates[-1] if self.emu.updates else None)
        if last is not None:
            poller = self.adapter.poller
            assert poller is not None
            await self.emu.wait_for(lambda: poller.offset > last["update_id"])
        await self.app.delivery.drain()

    async def say(self, chat: int, user: int, text: str,
                  thread_id: int | None = None) -> list[StoredMessage]:
        """`user` writes `text` in `chat`; returns what the bot sent anywhere because of it."""
        before = len(self.emu.sent_messages())
        await self.settle(self.emu.inject_message(chat, user, text, thread_id=thread_id))
        return self.emu.sent_messages()[before:]

    async def press(self, chat: int, user: int, message_id: int, data: str) -> str | None:
        """`user` presses a button with `data` under `message_id`; returns the toast."""
        before = len(self.emu.callback_answers)
        await self.settle(self.emu.inject_callback(chat, user, message_id, data))
        answers = self.emu.callback_answers[before:]
        assert len(answers) == 1, answers  # every press is answered, once
        return answers[0].get("text")

    async def outbox(self, *states: str) -> list[OutboxMessage]:
        async with self.app.db.transaction() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if states:
                query = query.where(OutboxMessage.state.in_(states))
            return list(await session.scalars(query))

    async def chat(self, chat_id: int) -> Chat | None:
        async with self.app.db.transaction() as session:
            return await session.scalar(select(Chat).where(Chat.platform == "telegram",
                                                           Chat.external_id == str(chat_id)))

    async def stop(self) -> None:
        await self.app.stop()


StartBot = Callable[..., Awaitable[TelegramBot]]


@pytest.fixture
async def start_bot(emu: BotAPIEmulator, sqlite_url: str) -> AsyncIterator[StartBot]:
    """`await start_bot()` starts the bot on the test's database (again, after a stop)."""
    running: list[TelegramBot] = []

    async def start(**telegram: Any) -> TelegramBot:
        settings = {"enabled": True, "token": TOKEN, "base_url": emu.base_url,
                    "base_file_url": emu.base_file_url, **telegram}
        config = make_config(sqlite_url, telegram=settings, staff={"telegram": [str(STAFF)]})
        adapter = TelegramAdapter(config.telegram, default_locale=config.locale)
        clock = FakeClock(DEFAULT_NOW)
        app = App(config, [adapter], clock=clock, background=False)
        feature = Feature()
        app.dispatcher.poll_answer_handler = _recorder(feature)
        await app.start()
        feature.register(app.services.registry)  # after start: the command menu stays real
        bot = TelegramBot(emu, app, adapter, clock, feature)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        if bot.adapter.application is not None:
            await bot.stop()


def _recorder(feature: Feature) -> Callable[[Context, PollAnswerEvent], Awaitable[None]]:
    async def record(ctx: Context, event: PollAnswerEvent) -> None:
        feature.poll_answers.append(event)
    return record


@pytest.fixture
async def tg(start_bot: StartBot) -> TelegramBot:
    return await start_bot()
