"""The audit log: who granted, revoked, hid or changed what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(40))  # e.g. role.grant, idea.hide
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"))
    subject: Mapped[str | None] = mapped_column(String(80))  # e.g. "member:7", "idea:12"
    details: Mapped[dict[str, Any]]
