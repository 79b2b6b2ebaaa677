"""What a digest is made of: sections that feature modules contribute.

A section is an async function `(session, scope) -> SectionResult`. It must answer for the
whole scope with a bounded number of queries (never one query per idea or per territory):
counts come grouped by territory, so that one query serves one territory or a thousand.

What a section shows depends on the scope: in a territory digest, its lists (new ideas,
polls, meetups); in a staff digest, only what crosses territories (the most supported ideas,
moderation) — each territory is told there in one short line that the engine writes from
the counts. With `counts_only` a section only counts; a staff digest counts its period and
the periods it compares with (the period before, the last 30 days, the chart's weeks) in one
such pass over them all: `DigestScope.over`, each count query then has one count per period
(`DigestScope.tally`), and its `SectionResult` one `Tally` per period. Its other pass, for
the lists, counts nothing (`DigestScope.counting`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, literal_column, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.messages import Block, Inline, Text
from bot.outbox import Target
from storage import core
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
    counts_only: bool = False  # only counts and members who took part are wanted, no blocks
    periods: tuple[tuple[datetime, datetime], ...] = ()  # counted each on its own (`over`)

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
    def counting(self) -> bool:
        """Whether sections count: a territory digest counts its period along with its
        lists; a staff digest counts its own period in the one pass over every period it
        compares with (`over`, `counts_only`), and its lists apart, without counting."""
        return self.counts_only or not self.for_staff

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

    def over(self, periods: Sequence[tuple[datetime, datetime]]) -> DigestScope:
        """The same place, counting each of `periods` (half-open, overlapping or not) in one
        pass: [start, end) spans them all, `tally` gives one count per period."""
        return replace(self, start=min(start for start, _ in periods),
                       end=max(end for _, end in periods), counts_only=True,
                       periods=tuple(periods))

    @cached_property
    def counted_periods(self) -> tuple[tuple[datetime, datetime], ...]:
        """The periods counted, each once: the weekly staff digest's own week is also the
        chart's last, and the week before it the chart's last but one."""
        return tuple(dict.fromkeys(self.periods))

    @cached_property
    def columns(self) -> tuple[int, ...]:
        """For each of `periods`, its place among `counted_periods`."""
        place = {period: n for n, period in enumerate(self.counted_periods)}
        return tuple(place[period] for period in self.periods)

    def tally(self, moment: Any, value: Any = None, *,
              unique: bool = False) -> list[ColumnElement[int]]:
        """The counts of a grouped query, one for each of the scope's counted periods (a
        scope of one period: one count of what `during` lets through): rows whose `moment`
        falls in the period — or their non-null `value`s, each value once if `unique`."""
        if not self.periods:
            return [_count(value, unique)]
        counted = literal_column("1") if value is None else value
        return [_count(case((and_(moment >= start, moment < end), counted)), unique)
                for start, end in self.counted_periods]


async def count_rows(session: AsyncSession, query: Select[Any]) -> list[Any]:
    """The rows of a count query (`DigestScope.tally`), read straight from the driver as
    plain tuples (`storage.core.values`): a staff digest's run to tens of thousands of
    plain numbers, which the ORM's result machinery took a quarter of the digest's time to
    hand over, and named tuples another tenth."""
    return await core.values(session, core.Statement(query))


def _count(value: Any, unique: bool) -> ColumnElement[int]:
    if value is None:
        return func.count()
    return func.count(distinct(value) if unique else value)


@dataclass
class Tally:
    """What a section counted in one period: territory id → metric → n (metric names are
    msgids, `N_`, in the order they were counted), and territory id → the members who took
    part there."""

    metric_names: list[str] = field(default_factory=list)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

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


@dataclass
class SectionResult:
    """What one section tells.

    `blocks`: what to show (none: nothing to say). `standing`: facts still true at the end
    of the period rather than news of it (ideas waiting for an answer) — shown only in a
    digest that has news. `tally(n)`: what was counted in the scope's period n (0, the only
    one, unless the scope counts several: `DigestScope.over`) — for each territory's short
    line, the staff's totals and the chart.

    Rows given to `count`, `took_part` and `count_members` end with the counts of
    `DigestScope.tally`, one per period."""

    blocks: list[Block] = field(default_factory=list)
    standing: list[Block] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)  # shared by every period's tally
    tallies: dict[int, Tally] = field(default_factory=dict)

    def tally(self, period: int = 0) -> Tally:
        if period not in self.tallies:
            self.tallies[period] = Tally(self.metric_names)
        return self.tallies[period]

    def count(self, metric: str, rows: Iterable[Any]) -> None:
        """Add (territory id, n for each period) rows to `metric`; the metric is reported
        even if zero."""
        self._add(metric, [(territory_id, None, *counted) for territory_id, *counted in rows])

    def took_part(self, rows: Iterable[Any]) -> None:
        """(territory id, member id, n for each period) rows: the member took part there in
        each period where n is not 0."""
        self._add(None, rows)

    def count_members(self, metric: str, rows: Iterable[Any]) -> None:
        """(territory id, member id, n for each period) rows: `n` added to `metric`, and
        the member took part."""
        self._add(metric, rows)

    def _add(self, metric: str | None, rows: Iterable[Any]) -> None:
        """(territory id, member id or None, n for each period) rows, n added to `metric`
        (if any) and the member to those who took part. A staff digest's rows run to tens
        of thousands, each with a count per period: read a period (a column) at a time, with
        as little as possible done for each row."""
        if metric is not None and metric not in self.metric_names:
            self.metric_names.append(metric)
        listed = [tuple(row) for row in rows]  # indexing a tuple costs less than a Row
        for period in range(len(listed[0]) - 2 if listed else 0):
            column, tally = period + 2, self.tally(period)
            sums: defaultdict[int, int] = defaultdict(int)
            members = tally.members
            for row in listed:
                n = row[column]
                if n:
                    sums[row[0]] += n
                    if row[1] is not None:
                        members[row[0]].add(row[1])
            if metric is not None:
                for territory_id, n in sums.items():
                    per = tally.counts.setdefault(territory_id, {})
                    per[metric] = per.get(metric, 0) + n


Section = Callable[[AsyncSession, DigestScope], Awaitable[SectionResult]]


async def gather(session: AsyncSession, services: Services,
                 scope: DigestScope) -> list[SectionResult]:
    """Every registered section's part, in the order they were registered; with a tally
    for each of the scope's periods, those counted once shared (`DigestScope.columns`)."""
    results = [await section(session, scope) for section in services.registry.digest_sections]
    if len(scope.counted_periods) < len(scope.periods):
        for result in results:
            result.tallies = {period: result.tally(column)
                              for period, column in enumerate(scope.columns)}
    return results


def tallies(results: list[SectionResult], period: int = 0) -> list[Tally]:
    """Every section's tally of one period."""
    return [result.tally(period) for result in results]
