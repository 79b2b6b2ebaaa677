"""What a digest is made of: sections that feature modules contribute.

A section is an async function `(session, scope) -> SectionResult`. It must answer for the
whole scope with a bounded number of queries (never one query per idea or per territory):
counts come grouped by territory, so that one query serves one territory or a thousand.

What a section shows depends on the scope: in a territory digest, its lists (new ideas,
polls, meetups); in a staff digest, only what crosses territories (the most supported ideas,
moderation) — each territory is told there in one short line that the engine writes from
the counts. With `counts_only` (the period before, the last 30 days, the chart's weeks) a
section only counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.messages import Block, Inline, Text
from bot.outbox import Target
from storage.models import Territory

if TYPE_CHECKING:
    from bot.context import Services

DigestKind = Literal["territory", "staff", "staff_weekly"]


@dataclass(frozen=True)
class DigestScope:
    """The period and place a digest tells about, and how to say it.

    The period is half-open, [start, end): what happens at a tick's very moment happens after
    that tick's digest was composed, so it belongs to the next one."""

    kind: DigestKind
    start: datetime
    end: datetime
    target: Target
    territories: tuple[Territory, ...]  # one for a territory digest; all of them for staff
    counts_only: bool = False  # only `counts` and `members` are wanted, no blocks

    @property
    def t(self) -> Translator:
        return self.target.t

    @property
    def zone(self) -> tzinfo:
        return self.target.zone

    @property
    def for_staff(self) -> bool:
        return self.kind != "territory"

    @property
    def territory_ids(self) -> list[int]:
        return [t.id for t in self.territories]

    @cached_property
    def names(self) -> dict[int, str]:
        """Territory id → name."""
        return {t.id: t.name for t in self.territories}

    def in_territories(self, column: Any) -> ColumnElement[bool]:
        """`column` (a territory id) is one of the scope's. A staff scope holds every
        territory, so there the condition is left out rather than listing a thousand ids."""
        return true() if self.for_staff else column.in_(self.territory_ids)

    def during(self, column: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """`column` (a moment) falls in [start, end)."""
        return column >= self.start, column < self.end

    def place(self, territory_id: int) -> tuple[Inline, ...]:
        """"Milano · " before an item of a staff digest (every item of a territory digest is
        of its one territory)."""
        if not self.for_staff:
            return ()
        return (Text(f"{self.names.get(territory_id, '?')} · "),)

    def period(self, start: datetime, end: datetime) -> DigestScope:
        """The same place for another period, counts only."""
        return replace(self, start=start, end=end, counts_only=True)


@dataclass
class SectionResult:
    """What one section tells.

    `blocks`: what to show (none: nothing to say). `standing`: facts still true at the end
    of the period rather than news of it (ideas waiting for an answer) — shown only in a
    digest that has news. `counts`: territory id → metric → n, for each territory's short
    line and the staff's totals; metric names are msgids (`N_`). `members`: territory id →
    the members who took part there."""

    blocks: list[Block] = field(default_factory=list)
    standing: list[Block] = field(default_factory=list)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=dict)
    metric_names: list[str] = field(default_factory=list)  # in the order they were counted

    def count(self, metric: str, rows: Iterable[Any]) -> None:
        """Add (territory id, n) rows to `metric`; the metric is reported even if zero."""
        if metric not in self.metric_names:
            self.metric_names.append(metric)
        for territory_id, n in rows:
            if n:
                per = self.counts.setdefault(territory_id, {})
                per[metric] = per.get(metric, 0) + n

    def took_part(self, rows: Iterable[Any]) -> None:
        """Add (territory id, member id) rows to the members who took part."""
        for territory_id, member_id in rows:
            self.members.setdefault(territory_id, set()).add(member_id)

    def count_members(self, metric: str, rows: Iterable[Any]) -> None:
        """(territory id, member id, n) rows: `n` added to `metric`, the member took part."""
        listed = list(rows)
        self.count(metric, ((territory_id, n) for territory_id, _, n in listed))
        self.took_part((territory_id, member_id) for territory_id, member_id, _ in listed)

    @property
    def metrics(self) -> dict[str, int]:
        """Every metric summed over the territories."""
        return {name: sum(per.get(name, 0) for per in self.counts.values())
                for name in self.metric_names}

    @property
    def active_members(self) -> set[int]:
        return set().union(*self.members.values())

    @property
    def active_territories(self) -> set[int]:
        return {t for t, per in self.counts.items() if per} | {
            t for t, who in self.members.items() if who}


Section = Callable[[AsyncSession, DigestScope], Awaitable[SectionResult]]


async def gather(session: AsyncSession, services: Services,
                 scope: DigestScope) -> list[SectionResult]:
    """Every registered section's part, in the order they were registered."""
    return [await section(session, scope) for section in services.registry.digest_sections]
