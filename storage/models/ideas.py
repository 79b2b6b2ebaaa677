"""The tables of ideas: the idea, its themes, supports, reports and history.

Idea numbers are the global ids: one idea is `#12` for its territory's chats and for staff
alike. Nothing is deleted: a hidden idea keeps its rows, and `idea_events` records who
changed its status or visibility, and when (the `/idea N` history and the audit trail).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import Base

HIDDEN_IDEAS_INDEX = "ix_ideas_hidden"
SUPPORTS_PERIOD_INDEX = "ix_idea_supports_created"
HIDDEN = text("hidden IS NOT NULL")


class Idea(Base):
    """An idea for one territory. `status`: new | discussing | adopted | set_aside.
    `hidden`: None (visible), "moderator" (a facilitator hid it) or "reports" (enough
    members reported it; hidden until a facilitator reviews it)."""

    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_territory_created", "territory_id", "created_at"),
        Index("ix_ideas_author_created", "author_id", "created_at"),
        # Digests for staff (all territories at once): ideas of a period, read from the
        # index alone (where, by whom, whether hidden); ideas waiting.
        Index("ix_ideas_created", "created_at", "territory_id", "author_id", "hidden"),
        Index("ix_ideas_status_hidden_created", "status", "hidden", "created_at"),
        # The few hidden ideas, whose supports digests leave out (`bot.ideas.digest`).
        Index(HIDDEN_IDEAS_INDEX, "id", sqlite_where=HIDDEN, postgresql_where=HIDDEN),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="new")
    answer: Mapped[str | None] = mapped_column(Text)  # the facilitators' latest answer
    hidden: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IdeaTheme(Base):
    """A theme (hashtag, without `#`, case-folded) of an idea."""

    __tablename__ = "idea_themes"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class IdeaSupport(Base):
    """A member supports an idea; at most once (the primary key says so). `territory_id` is
    the idea's (which never changes), kept here so that digests count a period's supports
    by territory from an index alone, without looking each idea up."""

    __tablename__ = "idea_supports"
    __table_args__ = (
        # Staff digests: the supports of a period (where, who, for which idea).
        Index(SUPPORTS_PERIOD_INDEX, "created_at", "territory_id", "member_id", "idea_id"),
        # A territory's digest, and the members a territory knows (`bot.polls.members`).
        Index("ix_idea_supports_territory", "territory_id", "created_at", "member_id"),
    )

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"))
    created_at: Mapped[datetime]


class IdeaReport(Base):
    """A member reports an idea; at most once. `reviewed_at` is set when a facilitator
    has looked at the idea since: only reports not yet reviewed count towards hiding it."""

    __tablename__ = "idea_reports"
    __table_args__ = (UniqueConstraint("idea_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]


class IdeaEvent(Base):
    """One step in an idea's history. `kind`: status (with the new `status` and the answer
    in `note`), hidden (by a facilitator, `note` is the reason), reported (hidden by
    reports; no actor), shown (a facilitator made it visible again)."""

    __tablename__ = "idea_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)  # digests: answers of a period
