"""The context a use case runs in: who, where, in which language, and how to answer.

A `Context` lives for one inbound event and one transaction. Feature code uses it to read
the sender's member, chat and territory, check rights, and write replies to the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import instance_state

from bot.clock import Clock
from bot.commands import Registry
from bot.config import Config
from bot.events import CommandEvent, Event, TextEvent
from bot.i18n import Translator, translator
from bot.messages import Inline, OutMessage, RichText, rich
from bot.outbox import Outbox, Platforms, Target
from bot.roles import StaffList, granted_territories
from storage.models import Chat, Identity, Member, Territory


@dataclass
class Services:
    """What every use case may reach: shared for the life of the process."""

    config: Config
    clock: Clock
    platforms: Platforms
    registry: Registry
    staff: StaffList


class UserError(Exception):
    """Stops a use case: its changes are rolled back and `text` is the reply."""

    def __init__(self, text: tuple[Inline, ...] | RichText) -> None:
        super().__init__("user error")
        self.text = text if isinstance(text, RichText) else rich(text)


class Context:
    def __init__(self, session: AsyncSession, services: Services, event: Event, chat: Chat,
                 identity: Identity, member: Member, territory: Territory | None) -> None:
        self.session = session
        self.services = services
        self.event = event
        self.chat = chat
        self.identity = identity
        self.member = member
        self.territory = territory
        self.now = services.clock.now()
        # Captured now: after a rolled-back savepoint the ORM rows may be expired.
        self.t: Translator = translator(chat.locale)
        self.outbox = Outbox(session, services.clock, services.platforms, services.config.timezone)
        self.here: Target = self.outbox.chat_target(chat, territory, event.chat.thread_id)
        self._facilitates: set[int] | None = None
        self.cards_due: dict[tuple[str, int], frozenset[int]] = {}  # see `refresh_card`

    # --- where and who ------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return self.here.zone

    @property
    def is_staff(self) -> bool:
        return self.services.staff.contains(self.event.platform, self.event.sender.user_id)

    async def is_facilitator(self, territory: Territory | None = None) -> bool:
        """Facilitator of `territory` (default: this chat's): granted, chat admin, or staff."""
        territory = territory or self.territory
        if self.is_staff:
            return True
        if territory is None:
            return False
        admin_here = self.event.sender.is_chat_admin and self.chat.territory_id == territory.id
        if admin_here:
            return True
        if self._facilitates is None:
            self._facilitates = await granted_territories(self.session, self.member.id)
        return territory.id in self._facilitates

    def cmd(self, command: str) -> str:
        return self.here.cmd(command)

    # --- answering ----------------------------------------------------------------------

    def fail(self, message: str, **values: object) -> NoReturn:
        """Refuse with a translated explanation (see `bot.i18n` for the markup)."""
        raise UserError(self.t._(message, **values))  # type: ignore[arg-type]

    def refresh_card(self, kind: str, ident: int, parts: Iterable[int] = ()) -> None:
        """Show a card again (a meetup's, a poll's: a `Registry.card` of `kind`) once all
        the events handled with this one are done, not now. When many answers to one card
        arrive together (one `getUpdates` answer), it is rendered and posted once, in the
        state the last one left (`bot.dispatcher`). `parts`: those of its messages that
        changed, where it has several (a poll's options)."""
        key = (kind, ident)
        self.cards_due[key] = self.cards_due.get(key, frozenset()) | frozenset(parts)

    async def reply(self, content: OutMessage | RichText | tuple[Inline, ...]) -> None:
        """Answer in the chat (and thread) the event came from. In a group chat a plain
        answer quotes the message that asked, where the platform named it, so that readers
        see what it answers."""
        message = content if isinstance(content, OutMessage) else OutMessage(
            text=content if isinstance(content, RichText) else rich(content))
        asked = self.event.message_id if isinstance(self.event, CommandEvent | TextEvent) else None
        private = self.event.chat.is_private  # not self.chat: it may be expired after a rollback
        if asked and message.reply_to is None and message.key is None and not private:
            message = replace(message, reply_to=asked)
        await self.outbox.post(self.here, message)

    async def require_territory(self) -> Territory:
        if self.territory is not None:
            return self.territory
        if self.chat.is_private:
            self.fail("Choose your territory first: <b>{example}</b>",
                      example=self.cmd("territorio Milano"))
        self.fail("This chat is not bound to a territory yet. An administrator can bind it: "
                  "<b>{example}</b>", example=self.cmd("territorio Milano"))

    async def require_facilitator(self) -> Territory:
        territory = await self.require_territory()
        if not await self.is_facilitator(territory):
            self.fail("Only facilitators of {territory} can do this: the chat's administrators, "
                      "members granted the role, and staff.", territory=territory.name)
        return territory

    def require_staff(self) -> None:
        if not self.is_staff:
            self.fail("Only the cooperative's staff can do this.")


async def prefetch_contexts(session: AsyncSession, events: Sequence[Event]) -> None:
    """Load the chats and senders of a batch's events with two queries, for `load_context`
    to find in the session instead of running one query an event. The session keeps what it
    loads for its transaction (`storage.db.TransactionSession`)."""
    if len(events) < 2:
        return
    chats: dict[tuple[str, str], tuple[Chat, Territory | None]] = {}
    senders: dict[tuple[str, str], tuple[Identity, Member, Territory | None]] = {}
    for platform in {event.platform for event in events}:
        mine = [event for event in events if event.platform == platform]
        found = await session.execute(_CHATS, {"platform": platform, "external_ids": sorted(
            {event.chat.external_id for event in mine})})
        chats.update(((platform, chat.external_id), (chat, territory))
                     for chat, territory in found)
        found = await session.execute(_SENDERS, {"platform": platform, "user_ids": sorted(
            {event.sender.user_id for event in mine})})
        senders.update(((platform, identity.user_id), (identity, member, home))
                       for identity, member, home in found)
    session.info[_PREFETCHED] = (chats, senders)


def _prefetched(session: AsyncSession, event: Event) -> tuple[Any, ...] | None:
    """What `prefetch_contexts` found for `event`, if it still holds: every object loaded
    and unexpired (an earlier event's savepoint rolled back expires what it changed), and
    each still pointing at the other (an earlier event may have bound the chat elsewhere)."""
    chats, senders = session.info.get(_PREFETCHED, ({}, {}))
    chat_row = chats.get((event.platform, event.chat.external_id))
    sender_row = senders.get((event.platform, event.sender.user_id))
    if chat_row is None or sender_row is None:
        return None
    (chat, territory), (identity, member, home) = chat_row, sender_row
    for item in (chat, territory, identity, member, home):
        state = instance_state(item) if item is not None else None
        if state is not None and (not state.persistent or state.expired_attributes):
            return None
    if (chat.territory_id != (territory.id if territory else None)
            or identity.member_id != member.id
            or member.home_territory_id != (home.id if home else None)):
        return None
    return chat, territory, identity, member, home


async def load_context(session: AsyncSession, services: Services, event: Event) -> Context:
    """Find or create the chat, the sender's identity and member; resolve the territory
    (the chat's, or in a private chat the member's chosen one). No query for an event of a
    prefetched batch (`prefetch_contexts`); otherwise one for a known chat: its row comes
    with the territory, the sender and the sender's chosen territory."""
    found = _prefetched(session, event) or await _queried(session, services, event)
    chat, chat_territory, identity, member, home = found
    _refresh_chat(chat, event)
    _refresh_identity(identity, event)
    territory = home if chat.is_private else chat_territory
    return Context(session, services, event, chat, identity, member, territory)


async def _queried(session: AsyncSession, services: Services, event: Event) -> tuple[Any, ...]:
    """The context's rows by one query, creating the chat, the identity and the member the
    platform names for the first time."""
    values = {"platform": event.platform, "external_id": event.chat.external_id,
              "user_id": event.sender.user_id}
    found = (await session.execute(_CONTEXT, values)).first()
    if found is None:  # the chat's first message: the sender may be known from elsewhere
        session.add(_new_chat(services, event))
        await session.flush()
        found = (await session.execute(_CONTEXT, values)).one()
    chat, chat_territory, identity, member, home = found
    if identity is None or member is None:
        identity, member = await _new_identity(session, services.clock, event)
    return chat, chat_territory, identity, member, home


# Built once, with the event's values as parameters: building a statement costs more than
# running it on SQLite (bench/README.md).
_HOME = aliased(Territory, name="home")
_CONTEXT = (select(Chat, Territory, Identity, Member, _HOME)
            .outerjoin(Territory, Territory.id == Chat.territory_id)
            .outerjoin(Identity, and_(Identity.platform == Chat.platform,
                                      Identity.user_id == bindparam("user_id")))
            .outerjoin(Member, Member.id == Identity.member_id)
            .outerjoin(_HOME, and_(Chat.is_private.is_(True),
                                   _HOME.id == Member.home_territory_id))
            .where(Chat.platform == bindparam("platform"),
                   Chat.external_id == bindparam("external_id")))


_CHATS = (select(Chat, Territory).outerjoin(Territory, Territory.id == Chat.territory_id)
          .where(Chat.platform == bindparam("platform"),
                 Chat.external_id.in_(bindparam("external_ids", expanding=True))))
_SENDERS = (select(Identity, Member, _HOME).join(Member, Member.id == Identity.member_id)
            .outerjoin(_HOME, _HOME.id == Member.home_territory_id)
            .where(Identity.platform == bindparam("platform"),
                   Identity.user_id.in_(bindparam("user_ids", expanding=True))))
_PREFETCHED = "piazzabot.prefetched_contexts"


def _new_chat(services: Services, event: Event) -> Chat:
    ref = event.chat
    return Chat(platform=event.platform, external_id=ref.external_id, title=ref.title,
                is_private=ref.is_private, kind="unbound", locale=services.config.locale,
                active=True, created_at=services.clock.now())


def _refresh_chat(chat: Chat, event: Event) -> None:
    """The chat's title as the platform names it now; a chat that speaks is active."""
    if event.chat.title and chat.title != event.chat.title:
        chat.title = event.chat.title
    if not chat.active:
        chat.active = True


async def _new_identity(session: AsyncSession, clock: Clock,
                        event: Event) -> tuple[Identity, Member]:
    sender = event.sender
    member = Member(display_name=sender.display_name, created_at=clock.now())
    session.add(member)
    await session.flush()
    identity = Identity(member_id=member.id, platform=event.platform, user_id=sender.user_id,
                        display_name=sender.display_name, username=sender.username,
                        created_at=clock.now())
    session.add(identity)
    await session.flush()
    return identity, member


def _refresh_identity(identity: Identity, event: Event) -> None:
    sender = event.sender
    if identity.display_name != sender.display_name or identity.username != sender.username:
        identity.display_name = sender.display_name
        identity.username = sender.username
