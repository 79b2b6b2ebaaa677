"""/imiei_dati (/mydata): everything stored about the sender, as a JSON file sent privately.

The file lists the member's own row, then, for every column that points at a member
(`bot.privacy.tables.MEMBER_COLUMNS`), the rows that point at this one, every column as
stored (ids included, so rows can be related to each other), and the audit entries about
them. Times are ISO 8601 in UTC. Nothing about other members is added beyond the ids the
rows already hold.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.i18n import Translator
from bot.messages import Attachment, OutMessage, rich
from bot.outbox import Target
from bot.privacy.direct import send_privately
from bot.privacy.tables import MEMBER_COLUMNS, member_subject
from storage.models import Member
from storage.models.audit import AuditEntry

FORMAT = "piazzabot-export/1"


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")  # stored times are aware UTC
    return value


def _row(row: Any, secret: tuple[str, ...] = ()) -> dict[str, Any]:
    return {column.key: _value(getattr(row, column.key))
            for column in row.__mapper__.column_attrs if column.key not in secret}


async def collect(session: AsyncSession, member: Member) -> dict[str, list[dict[str, Any]]]:
    """The rows about `member`, by `table.column` (every listed column, even when empty)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for spec in MEMBER_COLUMNS:
        primary = list(spec.model.__table__.primary_key.columns)
        rows = await session.scalars(
            select(spec.model).where(spec.column == member.id).order_by(*primary))
        tables[spec.name] = [_row(row, spec.secret) for row in rows]
    about = await session.scalars(select(AuditEntry).where(
        AuditEntry.subject == member_subject(member.id)).order_by(AuditEntry.id))
    tables["audit_log.subject"] = [_row(row) for row in about]
    return tables


async def export_bytes(session: AsyncSession, member: Member, t: Translator,
                       now: datetime) -> bytes:
    document = {
        "format": FORMAT,
        "about": t.p_("Everything piazzabot stores about you. Each list holds the rows of one "
                      "table that point at you (the table and its column name the list); "
                      "times are in UTC."),
        "generated_at": _value(now),
        "member": _row(member),
        "tables": await collect(session, member),
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
    return (text + "\n").encode("utf-8")


async def my_data(ctx: Context, args: str) -> None:
    data = await export_bytes(ctx.session, ctx.member, ctx.t, ctx.now)
    day = ctx.now.date().isoformat()

    def message(target: Target) -> OutMessage:
        name = target.t.p_("piazzabot-my-data-{day}.json", day=day)
        return OutMessage(
            text=rich(target.t._("Here is everything I store about you, as a JSON file. "
                                 "To have it deleted: <b>{command}</b>",
                                 command=target.cmd("dimenticami"))),
            attachment=Attachment(name, "application/json", data))

    await send_privately(ctx, "imiei_dati", message, needs_files=True)
