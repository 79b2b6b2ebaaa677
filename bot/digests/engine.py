"""Sending each digest exactly once per chat and period (composing: `bot.digests.compose`).

Every territory chat gets the territory digest on its schedule; every staff chat the daily
staff digest and, on its own schedule, the fuller weekly one (which then replaces the daily
one). A period is claimed by inserting its `DigestRun` row in the same transaction that
writes its messages to the outbox: a crash either loses both (the period is still due) or
neither (the outbox finishes the delivery), so a digest is never told twice. After downtime
the missed ticks become one digest, sent once, saying it is late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.digests.compose import compose
from bot.digests.schedule import Schedule
from bot.digests.sections import DigestKind, DigestScope
from bot.duework import JobContext
from bot.messages import OutMessage
from bot.outbox import Outbox, Target
from storage.models import Chat, Territory
from storage.models.digests import DigestRun, DigestSetting

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
    places = [c.territory_id for c in chats if c.territory_id is not None]
    territories = {t.id: t for t in await session.scalars(
        select(Territory).where(Territory.id.in_(places)))}
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


def _covered(plan: Plan, owed: Sequence[Plan], end: datetime, now: datetime) -> bool:
    """A daily staff digest is not sent when the chat's weekly one tells its period: the
    weekly one is due now too, or has already been told up to `end` (by a run that died
    before reaching the daily one)."""
    if plan.kind != "staff":
        return False
    weekly = next((p for p in owed if p.kind == "staff_weekly"), None)
    return weekly is not None and (weekly.last_end >= end or weekly.next_due() <= now)


class DigestJob:
    """The scheduler's view of digests (a `bot.duework.PiecewiseJob`): each piece is one
    chat's digest of one kind, (chat id, kind)."""

    name = "digests"

    async def next_due(self, session: AsyncSession, services: Services) -> datetime | None:
        dues = [plan.next_due() for plan in await plans(session, services)]
        return min(dues) if dues else None

    async def pieces(self, session: AsyncSession, services: Services,
                     now: datetime) -> list[tuple[int, DigestKind]]:
        return [(plan.chat.id, plan.kind) for plan in await plans(session, services)
                if plan.next_due() <= now]

    async def run_piece(self, job: JobContext, piece: tuple[int, DigestKind]) -> None:
        """Compose, write and claim one chat's digest, read afresh: a piece listed before a
        crash or by another run may have been told since (then there is nothing to do)."""
        chat_id, kind = piece
        owed = await plans(job.session, job.services, [chat_id])
        plan = next((p for p in owed if p.kind == kind), None)
        ticks = plan.schedule.ticks_between(plan.last_end, job.now) if plan else []
        if plan is None or not ticks:
            return
        end = ticks[-1]
        late = len(ticks) > 1 or job.now - end > LATE_AFTER
        await send(job.session, job.services, job.outbox, plan, end, job.now,
                   late_for=ticks[0] if late else None,
                   skip=_covered(plan, owed, end, job.now))
