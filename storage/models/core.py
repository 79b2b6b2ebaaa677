"""The tables of the core. Feature tables live beside them in their own modules.

Times are stored in UTC (`UTCDateTime`), whatever the database; they are shown in the
territory's time zone by the code that renders them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(),
                                                     dict[str, Any]: JSON()}


class Territory(Base):
    __tablename__ = "territories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Chat(Base):
    """A chat on one platform: a territory's group, a staff chat, or a private chat."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="unbound")  # unbound|territory|staff
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Member(Base):
    """A person; one per cooperative member, whatever platforms they use."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    # The territory a member chose in a private chat, for commands sent from there.
    home_territory_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"))
    created_at: Mapped[datetime]


class Identity(Base):
    """One platform account of a member."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Role(Base):
    """A granted role: `facilitator` of one territory."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("member_id", "territory_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"))
    role: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]


class ProcessedEvent(Base):
    """Inbound events already handled, by the platform's own id: a redelivery is skipped."""

    __tablename__ = "processed_events"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(Base):
    """A message waiting for (or done with) delivery, written in the same transaction as the
    state change that caused it. Exactly one of `chat_id` and `identity_id` is set: a chat,
    or a person to reach privately."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"), index=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)


class PostedMessage(Base):
    """Where a keyed message ended up on its platform, so that later versions edit it.

    `slot` names the destination and key together (see `bot.outbox.message_slot`)."""

    __tablename__ = "posted_messages"
    __table_args__ = (Index("ix_posted_messages_platform_id", "platform", "platform_message_id"),)

    slot: Mapped[str] = mapped_column(String(200), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_chat_id: Mapped[str | None] = mapped_column(String(255))
    platform_message_id: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime]


class ActionToken(Base):
    """What a button or reaction acts on, who may use it, where, and until when."""

    __tablename__ = "action_tokens"
    __table_args__ = (Index("ix_action_tokens_slot", "slot", "emoji"),)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    slot: Mapped[str | None] = mapped_column(String(200))
    emoji: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Conversation(Base):
    """A guided conversation waiting for one member's next message in one chat."""

    __tablename__ = "conversations"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class AdapterState(Base):
    """Small values an adapter must remember (Telegram's update offset, Matrix's sync token)."""

    __tablename__ = "adapter_state"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
