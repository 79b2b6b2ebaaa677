"""What a digest is made of: sections that feature modules contribute.

A section is an async function `(session, scope) -> SectionResult`. It must answer for the
whole scope with a bounded number of queries (never one query per idea or per territory).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.messages import Block
from bot.outbox import Target
from storage.models import Territory

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
    territories: tuple[Territory, ...]  # one for a territory digest; all for staff

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


@dataclass
class SectionResult:
    """Blocks to show (none: the section has nothing to say), the members who took part,
    and counts for the staff's totals (e.g. {"ideas": 3})."""

    blocks: list[Block] = field(default_factory=list)
    active_members: set[int] = field(default_factory=set)
    metrics: dict[str, int] = field(default_factory=dict)


Section = Callable[[AsyncSession, DigestScope], Awaitable[SectionResult]]
