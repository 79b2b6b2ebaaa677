"""The moderation part of the staff digest: what the audit log recorded in the period —
facilitators named and removed, ideas hidden, shown again and answered, polls closed early.
Other entries (a member's own privacy requests, say) are not moderation and stay out.

Three queries whatever the period holds: the first entries, how many there are, and the
names of the members they mention.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digests.sections import DigestScope, SectionResult
from bot.i18n import Translator
from bot.ideas.card import status_name
from bot.messages import BulletList, Inline, Paragraph
from storage.models import Member
from storage.models.audit import AuditEntry

MAX_ENTRIES = 15

Say = Callable[[Translator, AuditEntry, str, str], tuple[Inline, ...]]


def _number(subject: str | None) -> str:
    """"idea:12" → "12"."""
    return (subject or "").partition(":")[2]


def _hidden(t: Translator, entry: AuditEntry, actor: str, subject: str) -> tuple[Inline, ...]:
    if entry.actor_id is None:
        return t.n_("idea #{id} hidden after {n} report", "idea #{id} hidden after {n} reports",
                    int(entry.details.get("reports", 0)), id=subject)
    return t._("{actor} hid idea #{id}: {reason}", actor=actor, id=subject,
               reason=str(entry.details.get("reason", "")))


SAYINGS: dict[str, Say] = {
    "role.grant": lambda t, e, actor, subject: t._(
        "{actor} made {member} a facilitator", actor=actor, member=subject),
    "role.revoke": lambda t, e, actor, subject: t._(
        "{actor} removed {member} from the facilitators", actor=actor, member=subject),
    "idea.hide": _hidden,
    "idea.show": lambda t, e, actor, subject: t._(
        "{actor} showed idea #{id} again", actor=actor, id=subject),
    "idea.status": lambda t, e, actor, subject: t._(
        "{actor} marked idea #{id} <i>{status}</i>", actor=actor, id=subject,
        status=status_name(t, str(e.details.get("status", "")))),
    "poll.close": lambda t, e, actor, subject: t._(
        "{actor} closed poll no. {number} before its deadline", actor=actor, number=subject),
}


async def moderation_section(session: AsyncSession, scope: DigestScope) -> SectionResult:
    if not scope.for_staff or scope.counts_only:
        return SectionResult()
    during = (*scope.during(AuditEntry.at), AuditEntry.action.in_(list(SAYINGS)))
    entries = list(await session.scalars(
        select(AuditEntry).where(*during).order_by(AuditEntry.at, AuditEntry.id)
        .limit(MAX_ENTRIES)))
    if not entries:
        return SectionResult()
    total = await session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(*during)) or 0
    people = {e.actor_id for e in entries if e.actor_id is not None} | {
        int(_number(e.subject)) for e in entries
        if (e.subject or "").startswith("member:") and _number(e.subject).isdecimal()}
    names = dict((await session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(people)))).all())
    t = scope.t
    items = []
    for entry in entries:
        actor = (names.get(entry.actor_id, "?") if entry.actor_id is not None
                 else t.p_("the bot"))
        subject = _number(entry.subject)
        if (entry.subject or "").startswith("member:") and subject.isdecimal():
            subject = names.get(int(subject), "?")
        say = SAYINGS[entry.action]
        place = scope.place(entry.territory_id) if entry.territory_id is not None else ()
        items.append((*place, *say(t, entry, actor, subject)))
    blocks = [Paragraph(t._("<b>Moderation</b>")), BulletList(tuple(items))]
    if total > len(entries):
        blocks.append(Paragraph(t.n_("…and {n} more action in the audit log.",
                                     "…and {n} more actions in the audit log.",
                                     total - len(entries))))
    return SectionResult(blocks)
