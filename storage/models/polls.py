"""The tables of polls: the poll, its options, members' answers, and where it was posted.

A poll belongs to one territory and is shown in each of its chats; answers are a member's,
whatever chat or platform they came from. Closing freezes the counts into the options
(`final_*`); an anonymous poll's answers are then deleted, so no row links a voter to a
choice any longer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import Base


class Poll(Base):
    """A poll of one territory.

    `kind`: `date` (every option is a moment) or `text`. `mode`: `pick` (choose any
    options) or `ynm` (yes / if need be / no for each option). `remind_at` is when members
    who have not answered are reminded (none if the poll is too short); `reminded_at` and
    `status` are claimed by the jobs before they act."""

    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_status_closes", "status", "closes_at"),
        Index("ix_polls_territory_status", "territory_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    question: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # date|text
    mode: Mapped[str] = mapped_column(String(8))  # pick|ynm
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_results: Mapped[bool] = mapped_column(Boolean, default=False)
    place: Mapped[str | None] = mapped_column(String(200))  # for the meetup a date poll makes
    closes_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(8), default="open")  # open|closed
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))  # None: deadline
    final_voters: Mapped[int | None] = mapped_column(Integer)  # how many answered, at closing
    meetup_id: Mapped[int | None] = mapped_column(ForeignKey("meetups.id"))
    created_at: Mapped[datetime]


class PollOption(Base):
    """One option, numbered from 0 (shown from 1). A date option keeps its moment (UTC) and
    is shown in full in each chat's language; `label` is the text as typed."""

    __tablename__ = "poll_options"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime | None]
    final_yes: Mapped[int | None] = mapped_column(Integer)
    final_maybe: Mapped[int | None] = mapped_column(Integer)
    final_no: Mapped[int | None] = mapped_column(Integer)


class PollVote(Base):
    """A member's answer to one option: `yes` (in `pick` mode, chosen), `maybe` or `no`.
    A member's later answer to the same option replaces the row's answer."""

    __tablename__ = "poll_votes"
    __table_args__ = (
        UniqueConstraint("option_id", "member_id"),
        Index("ix_poll_votes_poll_member", "poll_id", "member_id"),
        # Digests: who answered in a period, from the index alone.
        Index("ix_poll_votes_voted", "voted_at", "poll_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"))
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    answer: Mapped[str] = mapped_column(String(5))
    voted_at: Mapped[datetime]


class PollPost(Base):
    """A chat the poll was posted in, and how: `native` (a platform poll beside the card),
    `buttons`, `reactions` (one message per option) or `text` (the vote command only)."""

    __tablename__ = "poll_posts"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    layout: Mapped[str] = mapped_column(String(10))
