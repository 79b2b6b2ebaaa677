"""Composing digests and sending each one exactly once per chat and period.

Every territory chat gets the territory digest on its schedule; every staff chat the daily
staff digest and, on its own schedule, the fuller weekly one (which then replaces the daily
one). A period is claimed by inserting its `DigestRun` row in the same transaction that
writes its messages to the outbox: a crash either loses both (the period is still due) or
neither (the outbox finishes the delivery), so a digest is never told twice. After downtime
the missed ticks become one digest, sent once, saying it is late.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.digests.schedule import Schedule
from bot.digests.sections import DigestKind, DigestScope, SectionResult
from bot.duework import JobContext
from bot.messages import Block, BulletList, Inline, OutMessage, Paragraph, RichText, Text, rich
from bot.outbox import Outbox, Target
from storage.models import Chat, Territory
from storage.models.digests import DigestRun, DigestSetting

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=15)  # a digest sent this long after its tick says it is late
KINDS_BY_CHAT: dict[str, tuple[DigestKind, ...]] = {
    "territory": ("territory",),
    "staff": ("staff", "staff_weekly"),
}


@dataclass(frozen=True)
class Plan:
    """One kind of digest for one chat: its schedule and where its last period ended."""

    chat: Chat
    territory: Territory | None
    kind: DigestKind
    schedule: Schedule
    last_end: datetime

    def next_due(self) -> datetime:
        return self.schedule.next_after(self.last_end)


def default_cron(services: Services, kind: DigestKind) -> str:
    return getattr(services.config.digests, kind)


async def plans(session: AsyncSession, services: Services,
                chat_ids: Sequence[int] | None = None) -> list[Plan]:
    """Every digest the active chats are owed (or those of `chat_ids`), in four queries."""
    query = select(Chat).where(Chat.active.is_(True), Chat.kind.in_(list(KINDS_BY_CHAT)))
    if chat_ids is not None:
        query = query.where(Chat.id.in_(list(chat_ids)))
    chats = [c for c in (await session.scalars(query.order_by(Chat.id)))
             if c.platform in services.platforms]
    if not chats:
        return []
    ids = [c.id for c in chats]
    territories = {t.id: t for t in await session.scalars(select(Territory))}
    settings = {(s.chat_id, s.kind): s.cron for s in await session.scalars(
        select(DigestSetting).where(DigestSetting.chat_id.in_(ids)))}
    last = {(chat_id, kind): end for chat_id, kind, end in await session.execute(
        select(DigestRun.chat_id, DigestRun.kind, func.max(DigestRun.period_end))
        .where(DigestRun.chat_id.in_(ids)).group_by(DigestRun.chat_id, DigestRun.kind))}
    out: list[Plan] = []
    for chat in chats:
        territory = territories.get(chat.territory_id) if chat.territory_id else None
        if chat.kind == "territory" and territory is None:
            continue
        zone = ZoneInfo(territory.timezone if territory else services.config.timezone)
        for kind in KINDS_BY_CHAT[chat.kind]:
            cron = settings.get((chat.id, kind)) or default_cron(services, kind)
            start = last.get((chat.id, kind)) or chat.created_at
            out.append(Plan(chat, territory, kind, Schedule(cron, zone), start))
    return out


def _period_text(scope: DigestScope) -> tuple[Inline, ...]:
    locale = scope.t.babel_locale
    start = format_date(scope.start.astimezone(scope.zone), "d MMMM", locale=locale)
    end = format_date(scope.end.astimezone(scope.zone), "d MMMM y", locale=locale)
    return scope.t._("From {start} to {end}.", start=start, end=end)


def _title(scope: DigestScope) -> tuple[Inline, ...]:
    if scope.kind == "territory":
        return scope.t._("<b>What happened in {territory}</b>", territory=scope.territories[0].name)
    if scope.kind == "staff_weekly":
        return scope.t._("<b>Weekly digest for staff</b>")
    return scope.t._("<b>Daily digest for staff</b>")


async def gather(session: AsyncSession, services: Services,
                 scope: DigestScope) -> list[SectionResult]:
    return [await section(session, scope) for section in services.registry.digest_sections]


async def compose(session: AsyncSession, services: Services, scope: DigestScope, *,
                  late_for: datetime | None = None,
                  empty: Literal["skip", "line"] | None = None) -> list[OutMessage]:
    """The digest's messages, or none when the period has nothing to tell (unless the
    configuration, or `empty`, asks for one line then)."""
    results = await gather(session, services, scope)
    t = scope.t
    body = [block for result in results for block in result.blocks]
    if not body:
        if (empty or services.config.digests.empty) == "skip":
            return []
        return [OutMessage(rich(_title(scope), t._("Nothing new in this period.")))]
    head: list[Block] = [Paragraph(_title(scope)), Paragraph(_period_text(scope))]
    if late_for is not None:
        when = format_datetime(late_for.astimezone(scope.zone), "EEEE d MMMM, HH:mm",
                               locale=t.babel_locale)
        head.append(Paragraph(t._("<i>Late: this digest was due on {when}.</i>", when=when)))
    tail: list[Block] = []
    active = set().union(*(r.active_members for r in results))
    if active:
        tail.append(Paragraph(t.n_("One member took part.", "{n} members took part.",
                                   len(active))))
    if scope.for_staff:
        tail.extend(await _totals(session, services, scope, results))
    return split(head, body + tail, scope.target.caps.max_text)


async def _totals(session: AsyncSession, services: Services, scope: DigestScope,
                  results: list[SectionResult]) -> list[Block]:
    """Totals of the period and their change against the period before."""
    now = {k: v for r in results for k, v in r.metrics.items()}
    if not now:
        return []
    length = scope.end - scope.start
    before_scope = DigestScope(scope.kind, scope.start - length, scope.start, scope.target,
                               scope.territories)
    before = {k: v for r in await gather(session, services, before_scope)
              for k, v in r.metrics.items()}
    items = []
    for name in sorted(now):
        delta = now[name] - before.get(name, 0)
        change = f"{delta:+d}" if delta else "="
        label = scope.t.gettext(name)
        items.append((Text(f"{label}: {now[name]} ({change})"),))
    return [Paragraph(scope.t._("<b>Totals</b> (change from the period before)")),
            BulletList(tuple(items))]


def split(head: list[Block], body: list[Block], limit: int) -> list[OutMessage]:
    """Messages within `limit` characters, cut only between blocks (sections' parts)."""
    messages: list[list[Block]] = [list(head)]
    size = len(RichText(tuple(head)).plain())
    for block in body:
        length = len(RichText((block,)).plain()) + 2
        if size + length > limit and messages[-1]:
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += length
    return [OutMessage(RichText(tuple(blocks))) for blocks in messages if blocks]


async def scope_for(session: AsyncSession, plan: Plan, target: Target, start: datetime,
                    end: datetime) -> DigestScope:
    territories: tuple[Territory, ...]
    if plan.territory is not None:
        territories = (plan.territory,)
    else:
        territories = tuple(await session.scalars(select(Territory).order_by(Territory.name)))
    return DigestScope(plan.kind, start, end, target, territories)


async def send(session: AsyncSession, services: Services, outbox: Outbox, plan: Plan,
               end: datetime, now: datetime, *, late_for: datetime | None = None,
               skip: bool = False) -> bool:
    """Claim the period (last_end, end] of `plan` and write its messages; True if any."""
    messages: list[OutMessage] = []
    if not skip:
        target = outbox.chat_target(plan.chat, plan.territory)
        scope = await scope_for(session, plan, target, plan.last_end, end)
        messages = await compose(session, services, scope, late_for=late_for)
        for message in messages:
            await outbox.post(target, message)
    session.add(DigestRun(chat_id=plan.chat.id, kind=plan.kind, period_start=plan.last_end,
                          period_end=end, late=late_for is not None,
                          skipped=skip or not messages, created_at=now))
    await session.flush()
    return bool(messages)


class DigestJob:
    """The scheduler's view of digests (a `bot.duework.DueJob`)."""

    name = "digests"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        dues = [plan.next_due() for plan in await plans(session, services)]
        return min(dues) if dues else None

    async def run(self, job: JobContext) -> None:
        due = [(plan, ticks) for plan in await plans(job.session, job.services)
               if (ticks := plan.schedule.ticks_between(plan.last_end, job.now))]
        weekly_chats = {plan.chat.id for plan, _ in due if plan.kind == "staff_weekly"}
        for plan, ticks in due:
            end = ticks[-1]
            late = len(ticks) > 1 or job.now - end > LATE_AFTER
            covered = plan.kind == "staff" and plan.chat.id in weekly_chats
            try:
                async with job.session.begin_nested():
                    await send(job.session, job.services, job.outbox, plan, end, job.now,
                               late_for=ticks[0] if late else None, skip=covered)
            except Exception:  # one chat's failure must not hold back the others
                log.exception("digest %s for chat %s failed; it stays due", plan.kind,
                              plan.chat.id)
