"""The tables of meetups: the meetup, members' answers, its reminders, territory settings.

Times are UTC (`UTCDateTime` through the base's type map); a meetup is shown in its
territory's time zone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import Base

MEETUP_START_INDEX = "ix_meetups_starts_at"  # named in the staff digest's query (SQLite)


class Meetup(Base):
    """A meetup of one territory. `sequence` counts the changes calendar apps must see
    (RFC 5545 SEQUENCE); `concluded_at` is set once the card says the meetup took place."""

    __tablename__ = "meetups"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)  # the calendar UID, stable
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"), index=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    title: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(index=True)  # MEETUP_START_INDEX
    place: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled|cancelled
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    concluded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)  # digests: meetups proposed
    updated_at: Mapped[datetime]


class MeetupAnswer(Base):
    """One member's answer: going, waiting (going, but the meetup is full), maybe or no.
    `queue` orders the waiting list: the lowest waits longest."""

    __tablename__ = "meetup_answers"
    __table_args__ = (
        UniqueConstraint("meetup_id", "member_id"),
        # Digests: who answered in a period, from the index alone.
        Index("ix_meetup_answers_answered", "answered_at", "meetup_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    answer: Mapped[str] = mapped_column(String(8))
    queue: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime]


class MeetupReminder(Base):
    """A reminder `offset_minutes` before a meetup. `sent_at` is set when it is claimed;
    `outcome` says whether it was posted or skipped (the meetup had started, or a later
    reminder was due at the same time)."""

    __tablename__ = "meetup_reminders"
    __table_args__ = (
        UniqueConstraint("meetup_id", "offset_minutes"),
        Index("ix_meetup_reminders_pending", "sent_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meetup_id: Mapped[int] = mapped_column(ForeignKey("meetups.id"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(8))  # sent|skipped


class MeetupSettings(Base):
    """A territory's meetup settings, where a facilitator changed the defaults."""

    __tablename__ = "meetup_settings"

    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"), primary_key=True)
    reminder_minutes: Mapped[list[int]] = mapped_column(JSON)  # minutes before the start
    updated_at: Mapped[datetime]
