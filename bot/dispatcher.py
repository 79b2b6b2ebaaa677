"""From an inbound event to its effects, in one transaction.

1. The event's platform id is recorded; a redelivered event stops here.
2. Chat, sender and territory are loaded (created on first sight).
3. The use case runs inside a savepoint: a `UserError` or a bug rolls back its changes,
   and the sender gets the explanation (or a short apology) instead.
4. The cards the event changed (a meetup's answers, a poll's votes) are shown again.
5. The messages it posted, held until now, are written with one statement.
6. Everything commits together — the event mark, the changes, the outbox rows — and the
   delivery loop is woken.

Events that arrive together (a batch of Telegram updates) share one transaction, each
still in its own savepoint: `handle_many`. Their cards are shown again after the last of
them, once each (`Context.refresh_card`), and all their messages written together
(`outbox.hold_posts`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot import metrics
from bot.chat_moves import move_chat
from bot.commands import MAX_ARGS
from bot.context import Context, Services, UserError, load_context, prefetch_contexts
from bot.events import (
    ActionEvent,
    ActionOutcome,
    ChatMovedEvent,
    CommandEvent,
    Event,
    MembershipEvent,
    PollAnswerEvent,
    TextEvent,
)
from bot.messages import plain_inlines
from bot.outbox import hold_posts, slot_of_message, write_held
from bot.ratelimit import CommandLimiter, Verdict
from bot.sanitize import clean_event
from storage import core
from storage.db import Database, insert_or_skip
from storage.models import ActionToken, Chat, Conversation, ProcessedEvent
from storage.savepoints import Savepoint, event_savepoint

log = logging.getLogger(__name__)
# The cards a batch's events changed: (kind, id) → the parts that changed, and the context
# of the last event that changed it (`Context.refresh_card`).
CardsDue = dict[tuple[str, int], tuple[frozenset[int], Context]]

PollAnswerHandler = Callable[[Context, PollAnswerEvent], Any]


class Dispatcher:
    def __init__(self, db: Database, services: Services, on_commit: Callable[[], None]) -> None:
        self.db = db
        self.services = services
        self.on_commit = on_commit
        self.poll_answer_handler: PollAnswerHandler | None = (
            services.registry.poll_answer_handler)
        self.limiter = CommandLimiter(services.config.limits.commands_per_minute)
        self._claim = _claim_statement(db.dialect)

    async def handle(self, event: Event) -> ActionOutcome | None:
        """Process `event` once. For an action, returns the toast to show the sender.
        Cancelling the caller (an adapter stopping) never cuts the event's transaction."""
        (outcome,) = await self.handle_many([event])
        return outcome

    async def handle_many(self, events: Sequence[Event]) -> list[ActionOutcome | None]:
        """Process `events` (those that arrived together, in order) in one transaction:
        each one's use case in a savepoint of its own, as for a single event; one commit
        instead of one each. Returns the outcomes in the same order.

        If the batch fails as a whole (a database error, a race with another connection),
        nothing of it stays and the events are processed again one at a time, each in its
        own transaction; an error of one of them is then raised as `handle` would."""
        if not events:
            return []
        platform, started = events[0].platform, time.perf_counter()
        cleaned = [clean_event(event) for event in events]
        try:
            outcomes = await self.db.uncut(self._handle_together(cleaned))
        except Exception:
            if len(cleaned) == 1:
                raise
            log.warning("a batch of %d events failed; processing them one at a time",
                        len(cleaned), exc_info=True, extra={"platform": platform})
            outcomes = [await self.db.uncut(self._handle_together([event]))
                        for event in cleaned]
        share = (time.perf_counter() - started) / len(events)
        handling = metrics.HANDLING.labels(platform)
        for _ in events:
            handling.observe(share)
        return outcomes

    async def _handle_together(self, events: Sequence[Event]) -> list[ActionOutcome | None]:
        try:
            async with self.db.transaction(posting=True) as session:
                fresh = await self._claim_all(session, events)
                await prefetch_contexts(session, list(compress(events, fresh)))
                # One event alone takes the ORM's savepoint, which survives a failed flush;
                # a batch the lighter one, and is taken again one event at a time if the
                # transaction fails (`storage.savepoints`).
                batch = _Batch(core.savepoint if sum(fresh) < 2 else event_savepoint,
                               hold_posts(session))
                outcomes = [await self._process(session, event, batch) if new else None
                            for event, new in zip(events, fresh, strict=True)]
                await self._refresh_cards(batch)
                await write_held(session)
        except IntegrityError:
            if len(events) > 1:
                raise  # which event raced is unknown: one at a time tells
            # The same event raced in through a second connection and won: nothing to do.
            event = events[0]
            log.info("event %s/%s already being processed", event.platform, event.event_id,
                     extra={"platform": event.platform, "event_id": event.event_id})
            return [None]
        self.on_commit()
        return outcomes

    async def _claim_all(self, session: AsyncSession, events: Sequence[Event]) -> list[bool]:
        """Record the events as processed, in one statement; for each, whether it is new
        (not processed before, and not an earlier event of the same batch)."""
        now = self.services.clock.now()
        claimed = {tuple(row) for row in await core.rows(session, self._claim, [
            {"platform": event.platform, "event_id": event.event_id, "processed_at": now}
            for event in events])}
        fresh = []
        for event in events:
            key = (event.platform, event.event_id)
            fresh.append(key in claimed)
            claimed.discard(key)
            if not fresh[-1]:
                log.debug("duplicate event %s/%s skipped", event.platform, event.event_id)
                metrics.DUPLICATES.labels(event.platform).inc()
        return fresh

    async def _process(self, session: AsyncSession, event: Event,
                       batch: _Batch) -> ActionOutcome | None:
        metrics.EVENTS.labels(event.platform, type(event).__name__).inc()
        if isinstance(event, ChatMovedEvent):
            await write_held(session)  # the move takes the chat's pending rows along
            await session.run_sync(_move_chat, event)
            return None
        if isinstance(event, MembershipEvent):
            # Its greeting is in the outbox too: on_commit must wake delivery.
            await self._membership(session, event)
            return None
        ctx = await load_context(session, self.services, event)
        return await self._run(ctx, batch)

    async def _run(self, ctx: Context, batch: _Batch) -> ActionOutcome | None:
        """The event's use case in a savepoint; the cards it changed join the batch's if
        what it did is kept."""
        try:
            with _kept_if_done(batch.held):
                async with batch.savepoint(ctx.session):
                    outcome = await self._route(ctx)
        except UserError as refusal:
            await ctx.reply(refusal.text)
            return ActionOutcome(refusal.text.plain(), ok=False)
        except Exception:
            event = ctx.event  # not ctx.chat: it may be expired after the rollback
            log.exception("error while handling %s event %s", type(event).__name__,
                          event.event_id, extra={
                              "platform": event.platform, "event_type": type(event).__name__,
                              "event_id": event.event_id,
                              "platform_chat_id": event.chat.external_id})
            text = ctx.t._("Sorry, something went wrong. Nothing was changed; please try again.")
            await ctx.reply(text)
            return ActionOutcome(plain_inlines(text), ok=False)
        cards = batch.cards
        for key, parts in ctx.cards_due.items():
            cards[key] = (cards[key][0] | parts if key in cards else parts, ctx)
        return outcome

    async def _refresh_cards(self, batch: _Batch) -> None:
        """Show each card the events changed once, in the state the last one left
        (`Context.refresh_card`), each in a savepoint: a card that fails is logged and
        left as it was, and the answers that changed it are kept."""
        for (kind, ident), (parts, ctx) in batch.cards.items():
            try:
                with _kept_if_done(batch.held):
                    async with batch.savepoint(ctx.session):
                        await self.services.registry.cards[kind](ctx, ident, parts)
            except Exception:
                log.exception("could not show %s card %s again", kind, ident,
                              extra={"platform": ctx.event.platform})

    async def _route(self, ctx: Context) -> ActionOutcome | None:
        match ctx.event:
            case CommandEvent() as event:
                await self._command(ctx, event)
            case ActionEvent() as event:
                return await self._action(ctx, event)
            case TextEvent() as event:
                await self._text(ctx, event)
            case PollAnswerEvent() as event:
                if self.poll_answer_handler:
                    await self.poll_answer_handler(ctx, event)
        return None

    async def _command(self, ctx: Context, event: CommandEvent) -> None:
        verdict = self.limiter.check(ctx.member.id, ctx.now)
        if verdict is Verdict.DROP:
            return
        if verdict is Verdict.WARN:
            ctx.fail("You are sending many commands: I will take yours again in a minute.")
        spec = self.services.registry.find(event.name)
        if spec is None:
            ctx.fail("I don't know the command <b>{command}</b>. Send <b>{help}</b> for the list.",
                     command=ctx.cmd(event.name), help=ctx.cmd("aiuto"))
        if len(event.args) > MAX_ARGS:
            ctx.fail("That is too long for me ({limit} characters at most).", limit=MAX_ARGS)
        if spec.group_only and ctx.chat.is_private:
            ctx.fail("<b>{command}</b> works in a group chat, not here.",
                     command=ctx.cmd(spec.name_for(ctx.t.locale)))
        await spec.handler(ctx, event.args)

    async def _text(self, ctx: Context, event: TextEvent) -> None:
        conversation = await ctx.session.get(Conversation, (ctx.chat.id, ctx.member.id))
        if conversation is None:
            return
        handler = self.services.registry.conversations.get(conversation.kind)
        if handler is None:
            await ctx.session.delete(conversation)
            return
        await handler(ctx, dict(conversation.state), event.text[:MAX_ARGS])

    async def _action(self, ctx: Context, event: ActionEvent) -> ActionOutcome:
        token = await self._resolve_token(ctx, event)
        invalid = ActionOutcome(ctx.t.p_("This button is no longer valid."), ok=False)
        if token is None:
            return invalid
        expired = token.expires_at is not None and token.expires_at <= ctx.now
        foreign_chat = token.chat_id is not None and token.chat_id != ctx.chat.id
        someone_else = token.member_id is not None and token.member_id != ctx.member.id
        handler = self.services.registry.actions.get(token.kind)
        if expired or foreign_chat or handler is None:
            return invalid
        if someone_else:
            return ActionOutcome(ctx.t.p_("This button is meant for someone else."), ok=False)
        return ActionOutcome(await handler(ctx, dict(token.payload), event.undo))

    async def _resolve_token(self, ctx: Context, event: ActionEvent) -> ActionToken | None:
        if event.token is not None:
            if len(event.token) > 64:
                return None
            return await ctx.session.get(ActionToken, event.token)
        if event.message_id is None or event.key is None:
            return None
        # A reaction: find which keyed message it is under, then the token of that emoji.
        slot = await slot_of_message(ctx.session, event.platform, ctx.chat.external_id,
                                     event.message_id)
        mine = (f"c{ctx.chat.id}:", f"i{ctx.identity.id}:")  # this chat, or the sender's DMs
        if slot is None or not slot.startswith(mine):
            return None
        return await ctx.session.scalar(
            select(ActionToken).where(ActionToken.slot == slot, ActionToken.emoji == event.key))

    async def _membership(self, session: AsyncSession, event: MembershipEvent) -> None:
        if not event.joined:
            chat = await session.scalar(select(Chat).where(
                Chat.platform == event.platform, Chat.external_id == event.chat.external_id))
            if chat is not None:
                chat.active = False
            return
        ctx = await load_context(session, self.services, event)
        await ctx.reply(ctx.t._(
            "Hello! I am piazzabot: I help the members of a territory meet, choose dates "
            "and propose ideas. An administrator can bind this chat to its territory with "
            "<b>{example}</b>; <b>{help}</b> lists what I can do.",
            example=ctx.cmd("territorio Milano"), help=ctx.cmd("aiuto")))


@dataclass
class _Batch:
    """What the events of one transaction share."""

    savepoint: Savepoint  # each event's, and each card's
    held: list[dict[str, Any]]  # their posts, written together at the end (`hold_posts`)
    cards: CardsDue = field(default_factory=dict)  # to show again after the last event


@contextmanager
def _kept_if_done(held: list[dict[str, Any]]) -> Iterator[None]:
    """What is posted inside the block goes if the block fails — its savepoint included,
    which may fail as it ends — as what it wrote goes when the savepoint is rolled back
    (held posts are not in the database yet)."""
    kept = held.copy()
    try:
        yield
    except BaseException:
        held[:] = kept
        raise


def _move_chat(session: Session, event: ChatMovedEvent) -> None:
    """Move the chat; the move rewrites chats' rows under the session, which keeps the
    chats its batch loaded (`storage.db.TransactionSession`): those are read again."""
    if move_chat(session.connection(), event.platform, event.chat.external_id,
                 event.new_external_id):
        for chat in [item for item in session.identity_map.values() if isinstance(item, Chat)]:
            session.expire(chat)


def _claim_statement(dialect: str) -> core.Statement:
    """Record events as processed, unless they already are, returning those it recorded:
    one statement for a batch. On PostgreSQL a concurrent transaction claiming the same
    event makes this one wait for its outcome, then skip."""
    table = ProcessedEvent.__table__
    return core.Statement(insert_or_skip(dialect, table).on_conflict_do_nothing(
        index_elements=[table.c.platform, table.c.event_id]).returning(
        table.c.platform, table.c.event_id))
