"""Writing outgoing messages and action tokens, inside the caller's transaction.

Nothing is sent here: rows are added to the outbox table in the same transaction as the
state change they announce, and the delivery loop sends them after the commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import Capabilities
from bot.clock import Clock
from bot.i18n import Translator, translator
from bot.messages import Action, OutMessage, message_to_json
from storage import core
from storage.models import ActionToken, Chat, Identity, OutboxMessage, PostedMessage, Territory


def message_slot(*, chat_id: int | None, identity_id: int | None, key: str) -> str:
    """The name of "message `key` in this chat (or this person's private chat)"."""
    return f"c{chat_id}:{key}" if chat_id is not None else f"i{identity_id}:{key}"


@dataclass(frozen=True)
class Target:
    """One destination as the renderer needs it: language, zone, platform abilities."""

    platform: str
    t: Translator
    zone: tzinfo
    caps: Capabilities
    prefix: str  # how commands are written there: "/" or "!"
    aliases: Mapping[str, str]  # Italian command name → English, for English chats
    chat_id: int | None = None
    identity_id: int | None = None
    thread_id: str | None = None

    def cmd(self, command: str) -> str:
        """A command as a member types it here, named in the chat's language:
        `cmd("territorio Milano")` → `/territorio Milano`, or `/territory Milano` in English."""
        name, space, rest = command.partition(" ")
        if self.t.locale == "en":
            name = self.aliases.get(name, name)
        return f"{self.prefix}{name}{space}{rest}"

    def slot(self, key: str) -> str:
        return message_slot(chat_id=self.chat_id, identity_id=self.identity_id, key=key)


class Platforms:
    """What the core knows of each running platform: abilities and command prefix."""

    def __init__(self, aliases: Mapping[str, str] | None = None) -> None:
        self._caps: dict[str, Capabilities] = {}
        self._prefix: dict[str, str] = {}
        self.aliases = dict(aliases or {})

    def add(self, platform: str, caps: Capabilities, prefix: str) -> None:
        self._caps[platform] = caps
        self._prefix[platform] = prefix

    def caps(self, platform: str) -> Capabilities:
        return self._caps.get(platform, Capabilities())

    def prefix(self, platform: str) -> str:
        return self._prefix.get(platform, "/")

    def __contains__(self, platform: str) -> bool:
        return platform in self._caps


def _shown_names(value: Any, t: Translator) -> Any:
    """Every string of a stored message with forgotten members' names in the reader's
    language (see `bot.i18n.ANONYMOUS`): names reach messages by many paths, all end here."""
    if isinstance(value, str):
        return t.names(value)
    if isinstance(value, list):
        return [_shown_names(item, t) for item in value]
    if isinstance(value, dict):
        return {key: _shown_names(item, t) for key, item in value.items()}
    return value


class ChatRef(Protocol):
    """What a chat target needs of a chat: a `Chat`, or a row of its columns."""

    @property
    def id(self) -> int: ...
    @property
    def platform(self) -> str: ...
    @property
    def locale(self) -> str: ...


# Built once, the values as parameters, and run through `storage.core`: every command
# posts, every card and every answer reads its tokens and its territory's chats.
_SLOT_TOKENS = core.Statement(
    select(ActionToken.token, ActionToken.kind, ActionToken.payload, ActionToken.member_id,
           ActionToken.expires_at)
    .where(ActionToken.slot == bindparam("slot"),
           ActionToken.kind.in_(bindparam("kinds", expanding=True))))
_TERRITORY_CHATS = core.Statement(
    select(Chat.id, Chat.platform, Chat.locale)
    .where(Chat.territory_id == bindparam("territory_id"), Chat.kind == "territory",
           Chat.active.is_(True))
    .order_by(Chat.id))
_SLOT_OF_MESSAGE = core.Statement(
    select(PostedMessage.slot)
    .where(PostedMessage.platform == bindparam("platform"),
           PostedMessage.platform_chat_id == bindparam("chat"),
           PostedMessage.platform_message_id == bindparam("message")))
_POST = core.Statement(OutboxMessage.__table__.insert().values(state="pending", attempts=0))
_HELD = "piazzabot.held_posts"  # session.info: the rows posts wait in (`hold_posts`)
_NEW_TOKEN = core.Statement(ActionToken.__table__.insert())


class Outbox:
    """Adds messages and tokens to the current transaction."""

    def __init__(self, session: AsyncSession, clock: Clock, platforms: Platforms,
                 default_zone: str) -> None:
        self.session = session
        self.clock = clock
        self.platforms = platforms
        self.default_zone = default_zone

    def chat_target(self, chat: ChatRef, territory: Territory | None = None,
                    thread_id: str | None = None) -> Target:
        zone = ZoneInfo(territory.timezone if territory else self.default_zone)
        return Target(
            platform=chat.platform, t=translator(chat.locale), zone=zone,
            caps=self.platforms.caps(chat.platform), prefix=self.platforms.prefix(chat.platform),
            aliases=self.platforms.aliases, chat_id=chat.id, thread_id=thread_id,
        )

    def person_target(self, identity: Identity, locale: str, zone: str | None = None) -> Target:
        return Target(
            platform=identity.platform, t=translator(locale),
            zone=ZoneInfo(zone or self.default_zone),
            caps=self.platforms.caps(identity.platform),
            prefix=self.platforms.prefix(identity.platform), aliases=self.platforms.aliases,
            identity_id=identity.id,
        )

    async def territory_targets(self, territory: Territory) -> list[Target]:
        """Every active chat of a territory, on every platform that is running."""
        chats = await core.rows(self.session, _TERRITORY_CHATS, {"territory_id": territory.id})
        return [self.chat_target(c, territory) for c in chats if c.platform in self.platforms]

    async def post(self, target: Target, message: OutMessage) -> None:
        """Add `message` for `target`: now, or with the posts held (`hold_posts`)."""
        now = self.clock.now()
        row = {"platform": target.platform, "chat_id": target.chat_id,
               "identity_id": target.identity_id, "thread_id": target.thread_id,
               "key": message.key, "payload": _shown_names(message_to_json(message), target.t),
               "next_attempt_at": now, "created_at": now}
        held = self.session.info.get(_HELD)
        if held is None:
            await core.write(self.session, _POST, row)
        else:
            held.append(row)

    async def action(self, target: Target, kind: str, payload: dict[str, Any], *, label: str,
                     command: str | None = None, emoji: str | None = None,
                     key: str | None = None, member_id: int | None = None,
                     ttl: timedelta | None = None) -> Action:
        """A button for `target`, backed by a token row. The same action on the same keyed
        message reuses its token, so re-rendering a card does not pile up rows."""
        button = Button(kind, payload, label, command=command, emoji=emoji,
                        member_id=member_id, ttl=ttl)
        return (await self.actions(target, [button], key=key))[0]

    async def actions(self, target: Target, buttons: Sequence[Button], *,
                      key: str | None = None, fresh: bool = False) -> list[Action]:
        """The buttons of one message (`key`: its slot), with one query for the tokens they
        can reuse, however many they are; none if the caller has just cleared the slot
        (`fresh`)."""
        slot = target.slot(key) if key else None
        reusable = (await self._reusable_tokens(slot, {b.kind for b in buttons})
                    if slot and not fresh else [])
        now = self.clock.now()
        actions, new = [], []
        for button in buttons:
            token = next((row.token for row in reusable
                          if (row.kind, row.payload, row.member_id) == (
                              button.kind, button.payload, button.member_id)), None)
            if token is None:
                token = secrets.token_urlsafe(12)
                new.append({
                    "token": token, "kind": button.kind, "payload": button.payload,
                    "chat_id": target.chat_id, "member_id": button.member_id, "slot": slot,
                    "emoji": button.emoji,
                    "expires_at": now + button.ttl if button.ttl else None, "created_at": now,
                })
                if slot:
                    reusable.append(_Reusable(token, button.kind, button.payload,
                                              button.member_id))
            actions.append(Action(label=button.label, token=token, emoji=button.emoji,
                                  command=target.cmd(button.command) if button.command else None))
        if new:
            await core.write(self.session, _NEW_TOKEN, new)
        return actions

    async def _reusable_tokens(self, slot: str, kinds: set[str]) -> list[_Reusable]:
        """The slot's tokens of these kinds that have not expired."""
        rows = await core.rows(self.session, _SLOT_TOKENS, {"slot": slot, "kinds": list(kinds)})
        now = self.clock.now()
        return [_Reusable(token, kind, payload, member_id)
                for token, kind, payload, member_id, expires in rows
                if expires is None or expires > now]


def hold_posts(session: AsyncSession) -> list[dict[str, Any]]:
    """From now on the session's posts wait in the list returned, in order, and
    `write_held` writes them with one statement: the dispatcher holds a batch's replies and
    cards so, one statement for them all instead of one each (on PostgreSQL a round trip
    each). Whoever holds them writes them before a statement that reads or changes pending
    rows (`discard_held` stands for deleting them), and keeps the list as the transaction
    is: what a rolled-back savepoint posted is taken out of it."""
    held: list[dict[str, Any]] = []
    session.info[_HELD] = held
    return held


async def write_held(session: AsyncSession) -> None:
    """Write the posts held so far (`hold_posts`), in the order they were made."""
    held = session.info.get(_HELD)
    if held:
        await core.write(session, _POST, list(held))
        held.clear()


def discard_held(session: AsyncSession, identity_ids: Collection[int]) -> None:
    """Drop the held posts to these people (`hold_posts`): what deleting their pending rows
    does to the rows written."""
    held = session.info.get(_HELD)
    if held:
        held[:] = [row for row in held if row["identity_id"] not in identity_ids]


@dataclass(frozen=True)
class Button:
    """One action of a message, as `Outbox.actions` takes it (see `Outbox.action`)."""

    kind: str
    payload: dict[str, Any]
    label: str
    command: str | None = None
    emoji: str | None = None
    member_id: int | None = None
    ttl: timedelta | None = None


@dataclass(frozen=True)
class _Reusable:
    token: str
    kind: str
    payload: dict[str, Any]
    member_id: int | None


async def slot_of_message(session: AsyncSession, platform: str, chat: str,
                          message: str) -> str | None:
    """The slot (see `Target.slot`) of the keyed message the platform numbers `message` in
    `chat` (message ids are unique only within a chat on some platforms, Telegram's), if
    the bot posted it: where a reaction or a native poll's answer belongs."""
    found = await core.rows(session, _SLOT_OF_MESSAGE, {"platform": platform, "chat": chat,
                                                        "message": message})
    return found[0].slot if found else None
