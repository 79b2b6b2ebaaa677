"""Recording moderation and role changes, for staff (digests) and for accountability."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from storage.models.audit import AuditEntry


async def record(ctx: Context, action: str, *, subject: str | None = None,
                 territory_id: int | None = None, automatic: bool = False,
                 **details: Any) -> None:
    """Add an audit entry in the current transaction (it stands or falls with the change).

    The actor is the member who asked, unless the bot acted by itself (`automatic`: e.g.
    an idea hidden because enough members reported it), when there is none."""
    territory_id = territory_id if territory_id is not None else (
        ctx.territory.id if ctx.territory else None)
    actor_id = None if automatic else ctx.member.id
    ctx.session.add(AuditEntry(at=ctx.now, actor_id=actor_id, action=action,
                               territory_id=territory_id, subject=subject, details=details))
