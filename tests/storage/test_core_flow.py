"""The core's guarantees, on SQLite and PostgreSQL: events once, the outbox, tokens, rollback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from adapters.base import Delivered, Outgoing, Rejected, RetryLater, Unreachable
from bot.commands import CommandSpec, split_command
from bot.context import Context
from bot.delivery import _due_query
from bot.events import ActionEvent, ChatMovedEvent, ChatRef, CommandEvent, Event
from bot.messages import OutMessage, rich
from storage.models import ActionToken, Chat, OutboxMessage, ProcessedEvent, Territory
from tests.support import Bot


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    yield bot
    await bot.stop()


async def half_then_crash(ctx: Context, args: str) -> None:
    """A use case that writes a territory, then fails."""
    ctx.session.add(Territory(name="Rotta", slug="rotta", timezone="UTC", created_at=ctx.now))
    await ctx.session.flush()
    raise RuntimeError("bug")


async def rename_then_crash(ctx: Context, args: str) -> None:
    """A use case that renames its sender, then fails."""
    ctx.member.display_name = "Rinominato"
    await ctx.session.flush()
    raise RuntimeError("bug")


async def test_a_redelivered_event_is_processed_once(bot: Bot) -> None:
    first = await bot.send("giulia", "milano", "/territorio Milano", event_id="u1")
    again = await bot.send("giulia", "milano", "/territorio Milano", event_id="u1")
    assert first == ["Questa chat ora è la chat del territorio Milano. È un territorio nuovo: "
                     "benvenuti!"]
    assert again == []
    assert await bot.count(ProcessedEvent) == 1


async def test_a_crash_between_commit_and_delivery_still_delivers(database_url: str) -> None:
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano", deliver=False)
    await bot.stop()  # the process dies: the reply was committed but never sent
    assert bot.adapter.sent == []

    revived = await Bot.started(database_url)
    await revived.app.delivery.drain()
    assert revived.adapter.texts("milano") == [
        "Questa chat ora è la chat del territorio Milano. È un territorio nuovo: benvenuti!"]
    await revived.app.delivery.drain()
    assert len(revived.adapter.sent) == 1  # and never twice
    await revived.stop()


async def test_a_refusal_rolls_back_what_the_use_case_wrote(bot: Bot) -> None:
    async def half_then_refuse(ctx: Context, args: str) -> None:
        ctx.session.add(Territory(name="Mezza", slug="mezza", timezone="UTC", created_at=ctx.now))
        await ctx.session.flush()
        ctx.fail("That is too long for me ({limit} characters at most).", limit=1)

    bot.app.services.registry.command(CommandSpec(("mezza",), half_then_refuse, "test"))
    bot.app.services.registry.command(CommandSpec(("rotta",), half_then_crash, "test"))
    assert await bot.send("giulia", "milano", "/mezza") == [
        "È troppo lungo per me (al massimo 1 caratteri)."]
    assert await bot.send("giulia", "milano", "/rotta") == [
        "Scusa, qualcosa è andato storto. Non ho cambiato nulla: riprova."]
    assert await bot.count(Territory) == 0
    assert await bot.count(ProcessedEvent) == 2  # both events are done with, all the same


async def post(bot: Bot, text: str, *, key: str | None = None, chat: str = "milano") -> None:
    """Write a message to the outbox the way a use case does."""
    async with bot.app.db.transaction() as session:
        row = await session.scalar(select(Chat).where(Chat.external_id == chat))
        from bot.outbox import Outbox

        outbox = Outbox(session, bot.clock, bot.app.services.platforms, "Europe/Rome")
        await outbox.post(outbox.chat_target(row), OutMessage(rich(text), key=key))


def hold_the_platform(bot: Bot) -> asyncio.Event:
    """Make the platform accept nothing until the returned event is set."""
    accepting, platform = asyncio.Event(), bot.adapter.deliver

    async def held(item: Outgoing) -> Delivered:
        await accepting.wait()
        return await platform(item)

    bot.adapter.deliver = held  # type: ignore[method-assign]
    return accepting


def command(bot: Bot, user: str, chat: str, text: str, **fields: object) -> CommandEvent:
    name, args = split_command(text, prefixes="/") or ("", "")
    return CommandEvent(**bot.event(user, chat, **fields), name=name, args=args)


async def test_events_that_arrive_together_share_one_transaction(bot: Bot) -> None:
    """Each keeps its own savepoint: a refusal or a bug undoes only its own work; a
    repeated event is skipped; everything else commits once, with its replies."""
    bot.app.services.registry.command(CommandSpec(("rotta",), half_then_crash, "test"))
    began = []
    event.listen(bot.app.db.engine.sync_engine, "begin", lambda _conn: began.append(1))
    outcomes = await bot.app.dispatcher.handle_many([
        command(bot, "giulia", "milano", "/territorio Milano", event_id="b1"),
        command(bot, "marco", "milano", "/rotta", event_id="b2"),
        command(bot, "giulia", "milano", "/territorio Milano", event_id="b1"),
        command(bot, "marco", "roma", "/territorio Roma", event_id="b3"),
        ActionEvent(**bot.event("marco", "milano", event_id="b4"), token="forged"),
    ])
    assert len(began) == 1
    texts = [(o.text, o.ok) if o else None for o in outcomes]
    assert texts[0] is None and texts[2] is None  # done; and the repeat skipped
    assert texts[1] == ("Scusa, qualcosa è andato storto. Non ho cambiato nulla: riprova.",
                        False)
    assert texts[4] == ("Questo pulsante non è più valido.", False)
    await bot.app.delivery.drain()
    assert bot.adapter.texts("milano") == [
        "Questa chat ora è la chat del territorio Milano. È un territorio nuovo: benvenuti!",
        "Scusa, qualcosa è andato storto. Non ho cambiato nulla: riprova."]
    assert bot.adapter.texts("roma") == [
        "Solo gli amministratori della chat, i facilitatori e lo staff possono collegare una "
        "chat a un territorio."]
    assert [t.name for t in await bot.rows(Territory)] == ["Milano"]
    assert await bot.count(ProcessedEvent) == 4


async def test_a_batchs_later_events_see_what_its_earlier_ones_changed(bot: Bot) -> None:
    """The chats and senders of a batch are loaded together, before its first event; an
    event that binds the chat elsewhere, changes its language, or fails after changing the
    sender (its savepoint rolled back) leaves the next events a context that is still true."""
    from storage.models import Member

    bot.app.services.registry.command(CommandSpec(("rinomina",), rename_then_crash, "test"))
    bot.admins.add(("giulia", "roma"))
    await bot.send("giulia", "roma", "/territorio Roma")
    await bot.send("marco", "milano", "/chi")
    bot.adapter.sent.clear()
    await bot.app.dispatcher.handle_many([
        command(bot, "giulia", "milano", "/territorio Roma"),
        command(bot, "marco", "milano", "/rinomina"),
        command(bot, "marco", "milano", "/chi"),
        command(bot, "giulia", "milano", "/lingua en"),
        command(bot, "marco", "milano", "/chi"),
    ])
    await bot.app.delivery.drain()
    assert bot.adapter.texts("milano") == [
        "Questa chat ora è la chat del territorio Roma.",
        "Scusa, qualcosa è andato storto. Non ho cambiato nulla: riprova.",
        "Sei marco (memory).\n\nRuoli: socio.\n\nTerritorio: Roma.",
        "From now on I speak English here.",
        "You are marco (memory).\n\nRoles: member.\n\nTerritory: Roma."]
    assert "Rinominato" not in [m.display_name for m in await bot.rows(Member)]


async def test_the_cards_a_batch_changed_are_shown_once_after_it(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """A card is shown again once, after the batch's last event, for every event that kept
    what it did and asked; not for one rolled back. A card that cannot be shown is logged,
    and the events that asked for it keep what they did."""
    shown: list[tuple[str, int, frozenset[int]]] = []

    async def show(ctx: Context, ident: int, parts: frozenset[int]) -> None:
        shown.append(("card", ident, parts))

    async def broken(ctx: Context, ident: int, parts: frozenset[int]) -> None:
        raise RuntimeError("card bug")

    async def ask(ctx: Context, args: str) -> None:
        kind, ident, *parts = args.split()
        ctx.refresh_card(kind, int(ident), map(int, parts))
        if kind == "refused":
            ctx.fail("Already noted.")
        await ctx.reply(rich(f"asked {args}"))

    registry = bot.app.services.registry
    registry.command(CommandSpec(("chiedi",), ask, "test"))
    registry.card("card", show)
    registry.card("refused", show)
    registry.card("broken", broken)
    await bot.app.dispatcher.handle_many([
        command(bot, "giulia", "milano", "/chiedi card 1 0"),
        command(bot, "giulia", "milano", "/chiedi refused 2"),
        command(bot, "giulia", "milano", "/chiedi card 3"),
        command(bot, "giulia", "milano", "/chiedi broken 4"),
        command(bot, "giulia", "milano", "/chiedi card 1 2"),
    ])
    assert shown == [("card", 1, frozenset({0, 2})), ("card", 3, frozenset())]
    assert "could not show broken card 4 again" in caplog.text
    await bot.app.delivery.drain()
    assert bot.adapter.texts("milano") == [
        "asked card 1 0", "Era già segnato.", "asked card 3", "asked broken 4",
        "asked card 1 2"]


async def test_a_card_is_shown_from_the_database_after_a_later_event_rolled_back(
        bot: Bot) -> None:
    """A later event of the batch that changed rows and failed expires what the session
    holds; the meetup's card is then read again, not shown from stale objects."""
    bot.app.services.registry.command(CommandSpec(("rinomina",), rename_then_crash, "test"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/incontro Cena | domani alle 20 | Piazza Duomo")
    await bot.app.dispatcher.handle_many([
        command(bot, "marco", "milano", "/partecipo 1 sì"),
        command(bot, "marco", "milano", "/rinomina"),
    ])
    await bot.app.delivery.drain()
    card = [s.text for s in bot.adapter.sent if s.item.message.key == "meetup:1"][-1]
    assert "Ci sono (2): giulia, marco" in card


async def test_a_batchs_messages_are_written_together_and_go_with_a_failed_event(
        bot: Bot) -> None:
    """What the events of a batch post is written with one statement after the last of
    them, in order; what an event posted before it failed goes with what it did, and a
    person forgotten in the batch is not written to, as if the rows had been written."""
    async def post_then_crash(ctx: Context, args: str) -> None:
        await ctx.reply(rich("non deve partire"))
        raise RuntimeError("bug")

    async def notify_me(ctx: Context, args: str) -> None:
        await ctx.outbox.post(ctx.outbox.person_target(ctx.identity, "it"),
                              OutMessage(rich("avviso privato")))

    bot.app.services.registry.command(CommandSpec(("rompi",), post_then_crash, "test"))
    bot.app.services.registry.command(CommandSpec(("avvisami",), notify_me, "test"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("marco", "dm-marco", "/chi")
    await bot.send("luca", "dm-luca", "/chi")
    inserts: list[str] = []
    engine = bot.app.db.engine.sync_engine

    def count_inserts(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if sql.startswith("INSERT INTO outbox "):
            inserts.append(sql)

    event.listen(engine, "before_cursor_execute", count_inserts)
    bot.adapter.sent.clear()
    await bot.app.dispatcher.handle_many([
        command(bot, "giulia", "milano", "/chi"),
        command(bot, "marco", "milano", "/rompi"),
        command(bot, "luca", "milano", "/avvisami"),
        command(bot, "marco", "milano", "/avvisami"),
        command(bot, "marco", "milano", "/dimenticami conferma"),
        command(bot, "giulia", "milano", "/chi"),
    ])
    event.remove(engine, "before_cursor_execute", count_inserts)
    assert len(inserts) == 1
    await bot.app.delivery.drain()
    milano = bot.adapter.texts("milano")
    assert milano[0].startswith("Sei giulia") and milano[-1].startswith("Sei giulia")
    assert "Scusa, qualcosa è andato storto. Non ho cambiato nulla: riprova." in milano
    assert "non deve partire" not in milano
    told = [(s.item.destination.user_id, s.text) for s in bot.adapter.sent
            if s.item.destination.user_id]
    assert told == [("luca", "avviso privato")]


async def test_a_move_within_a_batch_takes_the_messages_posted_before_it(bot: Bot) -> None:
    """A reply to an event of the batch before the chat's move goes to its new id."""
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("marco", "milano-super", "/chi")
    bot.adapter.sent.clear()
    await bot.app.dispatcher.handle_many([
        command(bot, "giulia", "milano", "/chi"),
        ChatMovedEvent(**bot.event("giulia", "milano"), new_external_id="milano-super"),
    ])
    await bot.app.delivery.drain()
    assert bot.adapter.texts("milano") == []
    assert [text[:9] for text in bot.adapter.texts("milano-super")] == ["Sei giuli"]


async def test_a_batch_that_fails_as_a_whole_is_taken_one_event_at_a_time(
        bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error outside every savepoint (here: loading one event's chat) leaves nothing of
    the batch; the events are processed again one by one, the failing one raising."""
    from bot import dispatcher

    load = dispatcher.load_context

    async def broken_for_roma(session: object, services: object, event: Event) -> Context:
        if event.chat.external_id == "roma":
            raise OperationalError("SELECT", {}, Exception("disk I/O error"))
        return await load(session, services, event)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatcher, "load_context", broken_for_roma)
    with pytest.raises(OperationalError):
        await bot.app.dispatcher.handle_many([
            command(bot, "giulia", "milano", "/territorio Milano", event_id="c1"),
            command(bot, "giulia", "roma", "/chi", event_id="c2"),
            command(bot, "giulia", "milano", "/chi", event_id="c3"),
        ])
    assert [e.event_id for e in await bot.rows(ProcessedEvent)] == ["c1"]
    monkeypatch.setattr(dispatcher, "load_context", load)
    await bot.app.dispatcher.handle_many([
        command(bot, "giulia", "milano", "/territorio Milano", event_id="c1"),
        command(bot, "giulia", "roma", "/chi", event_id="c2"),
        command(bot, "giulia", "milano", "/chi", event_id="c3"),
    ])
    await bot.app.delivery.drain()
    assert len(bot.adapter.texts("milano")) == 2
    assert len(bot.adapter.texts("roma")) == 1
    assert await bot.count(ProcessedEvent) == 3


async def test_a_chat_that_moves_keeps_its_territory_and_its_waiting_messages(
        bot: Bot) -> None:
    """A new id for a chat (a Telegram group upgraded): told after someone already wrote
    under the new id, the new row takes the territory and the messages still waiting."""
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("marco", "milano-super", "/chi")
    await post(bot, "in attesa")
    moved = ChatMovedEvent(**bot.event("giulia", "milano"), new_external_id="milano-super")
    await bot.app.dispatcher.handle(moved)
    await bot.app.dispatcher.handle(moved)  # told twice (both chats announce it): once
    chats = {c.external_id: c for c in await bot.rows(Chat)}
    milano = await bot.rows(Territory)
    assert (chats["milano"].active, chats["milano-super"].active) == (False, True)
    assert chats["milano-super"].territory_id == milano[0].id
    assert chats["milano-super"].kind == "territory"
    bot.adapter.sent.clear()
    await bot.app.delivery.drain()
    assert bot.adapter.texts("milano-super") == ["in attesa"]


async def test_a_move_within_a_batch_is_seen_by_the_batchs_later_events(bot: Bot) -> None:
    """The chats of a batch are loaded before its first event and kept by the session; a
    move rewrites their rows under it, so the events after the move see the new binding."""
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/lingua en")
    bot.adapter.sent.clear()
    await bot.app.dispatcher.handle_many([
        command(bot, "marco", "milano-super", "/chi"),
        ChatMovedEvent(**bot.event("giulia", "milano"), new_external_id="milano-super"),
        command(bot, "marco", "milano-super", "/chi"),
    ])
    await bot.app.delivery.drain()
    before, after = bot.adapter.texts("milano-super")
    assert before.startswith("Sei marco") and "Milano" not in before
    assert after == "You are marco (memory).\n\nRoles: member.\n\nTerritory: Milano."


async def test_delivery_waits_keeps_order_and_retries(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/chi")
    await bot.send("giulia", "roma", "/chi")
    bot.adapter.sent.clear()
    bot.adapter.fail_next(RetryLater("502 Bad Gateway"))
    await post(bot, "primo")
    await post(bot, "secondo")
    await post(bot, "altrove", chat="roma")
    await bot.app.delivery.drain()
    assert bot.adapter.texts() == ["altrove"]  # milano waits; roma does not wait for it
    bot.clock.advance(timedelta(seconds=2))
    await bot.app.delivery.drain()
    assert bot.adapter.texts() == ["altrove", "primo", "secondo"]
    assert await bot.count(OutboxMessage, OutboxMessage.state == "pending") == 0


async def test_retry_after_is_respected(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/chi")
    bot.adapter.sent.clear()
    bot.adapter.fail_next(RetryLater("429", retry_after=30))
    await post(bot, "dopo")
    await bot.app.delivery.drain()
    bot.clock.advance(timedelta(seconds=29))
    await bot.app.delivery.drain()
    assert bot.adapter.texts() == []
    bot.clock.advance(timedelta(seconds=1))
    await bot.app.delivery.drain()
    assert bot.adapter.texts() == ["dopo"]


async def test_refused_and_unreachable(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/chi")
    bot.adapter.sent.clear()
    bot.adapter.fail_next(Rejected("400 Bad Request"))
    await post(bot, "rifiutato")
    await post(bot, "passa")
    await bot.app.delivery.drain()
    assert bot.adapter.texts() == ["passa"]
    bot.adapter.fail_next(Unreachable("403 bot was kicked"))
    await post(bot, "cacciato")
    await bot.app.delivery.drain()
    assert await bot.count(Chat, Chat.external_id == "milano", Chat.active.is_(False)) == 1
    assert await bot.count(OutboxMessage, OutboxMessage.state == "failed") == 2


async def test_keyed_messages_edit_in_place_and_only_the_latest_goes(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/chi")
    bot.adapter.sent.clear()
    await post(bot, "scheda v1", key="card:1")
    await bot.app.delivery.drain()
    await post(bot, "scheda v2", key="card:1")
    await post(bot, "scheda v3", key="card:1")
    await bot.app.delivery.drain()
    first, latest = bot.adapter.sent
    assert (first.text, first.item.edit_of) == ("scheda v1", None)
    assert (latest.text, latest.item.edit_of) == ("scheda v3", first.message_id)
    assert await bot.count(OutboxMessage, OutboxMessage.state == "superseded") == 1


async def test_a_pass_reading_while_a_destination_finishes_sends_nothing_twice(
        bot: Bot) -> None:
    """The background loop: a pass that began while a destination was being served leaves
    it to its task, even if the task ends while the pass reads the outbox (the rows it has
    just sent may still read as pending)."""
    await bot.send("giulia", "milano", "/chi")
    bot.adapter.sent.clear()
    delivery, accepting = bot.app.delivery, hold_the_platform(bot)
    await post(bot, "una volta")
    await delivery._pass()  # milano's task starts, and waits for the platform
    read = delivery._due_rows

    async def read_while_the_task_ends(**kwargs: object) -> list:
        rows = await read(**kwargs)
        accepting.set()
        await asyncio.gather(*delivery._serving.values())
        return rows

    delivery._due_rows = read_while_the_task_ends  # type: ignore[method-assign]
    await delivery._pass()
    await asyncio.gather(*delivery._serving.values())
    assert bot.adapter.texts() == ["una volta"]


async def test_a_person_being_served_is_left_to_their_task_when_no_chat_is(bot: Bot) -> None:
    """The background loop: private messages have no chat, and a pass that skips a person
    being served must skip their rows even when no chat is being served (SQL's `NULL NOT
    IN ()` is true): else a second task serves them too, and sends their messages twice."""
    from bot.outbox import Outbox
    from storage.models import Identity

    await bot.send("giulia", "milano", "/chi")
    bot.adapter.sent.clear()
    delivery, accepting = bot.app.delivery, hold_the_platform(bot)

    async def tell_giulia(text: str) -> None:
        async with bot.app.db.transaction() as session:
            identity = await session.scalar(select(Identity).where(Identity.user_id == "giulia"))
            outbox = Outbox(session, bot.clock, bot.app.services.platforms, "Europe/Rome")
            await outbox.post(outbox.person_target(identity, "it"), OutMessage(rich(text)))

    await tell_giulia("primo")
    await delivery._pass()  # giulia's task starts, and waits for the platform
    assert len(delivery._serving) == 1
    await tell_giulia("secondo")
    await delivery._pass()
    assert len(delivery._serving) == 1  # still only hers
    accepting.set()
    while delivery._serving:
        await asyncio.gather(*delivery._serving.values())
        await delivery._pass()
    assert bot.adapter.texts() == ["primo", "secondo"]


async def test_what_a_person_is_told_waits_behind_their_private_chats_answers(
        bot: Bot) -> None:
    """Where a platform gives a person's private chat the person's own id (Telegram does),
    a message to the person (a reminder, a notice) and the answers in that chat are one
    destination: in the order written, whichever way each is addressed. (A SIGKILL run saw a
    reminder overtake an older answer held back in that chat.)"""
    from bot.outbox import Outbox
    from storage.models import Identity

    private = ChatRef("memory", "giulia", is_private=True)  # the chat's id is giulia's
    await bot.app.dispatcher.handle(CommandEvent(
        **{**bot.event("giulia", "giulia"), "chat": private}, name="chi", args=""))
    delivery, platform, accepting = bot.app.delivery, bot.adapter.deliver, asyncio.Event()

    async def chat_held(item: Outgoing) -> Delivered:
        if item.destination.chat_id == "giulia":
            await accepting.wait()
        return await platform(item)

    bot.adapter.deliver = chat_held  # type: ignore[method-assign]
    await delivery._pass()  # the answer in her private chat waits for the platform
    async with bot.app.db.transaction() as session:
        identity = await session.scalar(select(Identity).where(Identity.user_id == "giulia"))
        outbox = Outbox(session, bot.clock, bot.app.services.platforms, "Europe/Rome")
        await outbox.post(outbox.person_target(identity, "it"), OutMessage(rich("avviso")))
    await delivery._pass()
    assert len(delivery._serving) == 1  # the notice is that chat's task's, after the answer
    accepting.set()
    while delivery._serving:
        await asyncio.gather(*delivery._serving.values())
        await delivery._pass()
    answer, notice = bot.adapter.sent
    assert (answer.item.destination.chat_id, notice.item.destination.user_id) == (
        "giulia", "giulia")
    assert notice.text == "avviso"


async def test_a_backlog_longer_than_a_batch_keeps_no_other_chat_waiting(
        bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background loop: the rows of a destination being served are its task's; a pass
    reads past them, so another chat's message is not stuck behind a batch of them."""
    monkeypatch.setattr("bot.delivery.BATCH", 5)
    await bot.send("giulia", "milano", "/chi")
    await bot.send("giulia", "roma", "/chi")
    bot.adapter.sent.clear()
    delivery, platform = bot.app.delivery, bot.adapter.deliver
    delivery._due_query = _due_query([bot.adapter.platform])  # with the smaller batch
    accepting = asyncio.Event()

    async def milano_held(item: Outgoing) -> Delivered:
        if item.destination.chat_id == "milano":
            await accepting.wait()
        return await platform(item)

    bot.adapter.deliver = milano_held  # type: ignore[method-assign]
    for n in range(8):
        await post(bot, f"milano {n}")
    await delivery._pass()  # milano's task takes its first batch, and waits for the platform
    await post(bot, "roma", chat="roma")
    await delivery._pass()
    await asyncio.wait_for(delivery._serving[("c", 2)], 5)
    assert bot.adapter.texts() == ["roma"]
    accepting.set()
    while delivery._serving or await bot.count(OutboxMessage, OutboxMessage.state == "pending"):
        await asyncio.gather(*delivery._serving.values())
        await delivery._pass()
    assert bot.adapter.texts() == ["roma"] + [f"milano {n}" for n in range(8)]


async def test_an_accepted_message_is_marked_sent_even_if_the_database_refuses_at_first(
        bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's write lock out of reach for longer than its busy timeout: the mark is tried
    again, and the message is not sent a second time."""
    await bot.send("giulia", "milano", "/chi")
    bot.adapter.sent.clear()
    delivery, settle = bot.app.delivery, bot.app.delivery._settle
    refusals = [OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))]

    async def locked_once(*args: object, **kwargs: object) -> None:
        if refusals:
            raise refusals.pop()
        await settle(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delivery, "_settle", locked_once)
    monkeypatch.setattr("bot.delivery.MARK_RETRY", 0.01)
    await post(bot, "una volta")
    await delivery.drain()
    await delivery.drain()
    assert bot.adapter.texts() == ["una volta"]
    assert await bot.count(OutboxMessage, OutboxMessage.state == "pending") == 0


class TestActions:
    """Buttons and reactions are checked against the server's records and the sender."""

    @pytest.fixture
    async def counter(self, bot: Bot) -> list[str]:
        pressed: list[str] = []

        async def handler(ctx: Context, payload: dict, undo: bool) -> str:
            pressed.append(f"{ctx.identity.user_id}:{payload['n']}:{undo}")
            return "ok"

        bot.app.services.registry.action("test.count", handler)
        await bot.send("giulia", "milano", "/chi")
        await bot.send("giulia", "roma", "/chi")
        return pressed

    async def token(self, bot: Bot, *, chat: str = "milano", member: bool = False,
                    ttl: timedelta | None = None, key: str | None = "card:1") -> str:
        from bot.outbox import Outbox

        async with bot.app.db.transaction() as session:
            row = await session.scalar(select(Chat).where(Chat.external_id == chat))
            outbox = Outbox(session, bot.clock, bot.app.services.platforms, "Europe/Rome")
            target = outbox.chat_target(row)
            member_id = 1 if member else None
            action = await outbox.action(target, "test.count", {"n": 1}, label="+1", emoji="👍",
                                         key=key, member_id=member_id, ttl=ttl)
            await outbox.post(target, OutMessage(rich("scheda"), actions=((action,),), key=key))
        await bot.app.delivery.drain()
        return action.token

    async def test_a_valid_press_acts(self, bot: Bot, counter: list[str]) -> None:
        token = await self.token(bot)
        assert await bot.press("marco", "milano", token) == "ok"
        assert counter == ["marco:1:False"]

    async def test_forged_expired_foreign_and_personal_buttons(self, bot: Bot,
                                                               counter: list[str]) -> None:
        invalid = "Questo pulsante non è più valido."
        assert await bot.press("marco", "milano", "forged-token") == invalid
        assert await bot.press("marco", "milano", "x" * 5000) == invalid
        expiring = await self.token(bot, ttl=timedelta(minutes=5), key=None)
        bot.clock.advance(timedelta(minutes=6))
        assert await bot.press("marco", "milano", expiring) == invalid
        foreign = await self.token(bot, chat="roma")
        assert await bot.press("marco", "milano", foreign) == invalid
        personal = await self.token(bot, member=True, key="card:2")  # member 1 is giulia
        assert await bot.press("marco", "milano", personal) == (
            "Questo pulsante è per un'altra persona.")
        assert counter == []
        assert await bot.press("giulia", "milano", personal) == "ok"

    async def test_the_same_action_on_a_card_reuses_its_token(self, bot: Bot,
                                                              counter: list[str]) -> None:
        assert await self.token(bot) == await self.token(bot)
        assert await bot.count(ActionToken) == 1

    async def test_a_reaction_resolves_to_its_token(self, bot: Bot, counter: list[str]) -> None:
        await self.token(bot)
        message_id = bot.adapter.sent[-1].message_id
        for key, undo in (("👍", False), ("👍", True), ("🎉", False)):
            event = ActionEvent(**bot.event("marco", "milano"), message_id=message_id, key=key,
                                undo=undo)
            await bot.app.dispatcher.handle(event)
        foreign = ActionEvent(**bot.event("marco", "roma"), message_id=message_id, key="👍")
        await bot.app.dispatcher.handle(foreign)
        assert counter == ["marco:1:False", "marco:1:True"]


async def test_retention_forgets_old_marks(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/chi")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=29))
    assert await bot.count(ProcessedEvent) == 1
    await bot.app.scheduler.advance(bot.clock, timedelta(days=2))
    assert await bot.count(ProcessedEvent) == 0
    assert await bot.count(OutboxMessage) == 0


async def test_one_member_cannot_flood_a_chat(database_url: str) -> None:
    bot = await Bot.started(database_url, limits={"commands_per_minute": 3})
    replies = [await bot.send("marco", "milano", "/chi") for _ in range(6)]
    assert [len(r) for r in replies] == [1, 1, 1, 1, 0, 0]
    assert replies[3] == ["Stai mandando molti comandi: riprendo i tuoi tra un minuto."]
    assert len(await bot.send("giulia", "milano", "/chi")) == 1  # others are not held back
    bot.clock.advance(timedelta(minutes=1))
    assert len(await bot.send("marco", "milano", "/chi")) == 1
    await bot.stop()
