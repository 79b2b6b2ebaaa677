"""Digest schedules per chat, and one row per digest sent (per chat, kind and period)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import Base


class DigestSetting(Base):
    """A chat's own schedule for one kind of digest, replacing the configured default."""

    __tablename__ = "digest_settings"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    cron: Mapped[str] = mapped_column(String(120))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    updated_at: Mapped[datetime]


class DigestRun(Base):
    """A digest claimed for one chat and period: inserted in the same transaction as its
    messages, so a period is told once — also across crashes and restarts."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("chat_id", "kind", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    kind: Mapped[str] = mapped_column(String(16))  # territory | staff | staff_weekly
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)  # nothing to tell, or covered
    created_at: Mapped[datetime]
