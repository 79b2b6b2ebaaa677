"""Composing a digest: the sections' parts under a title, cut into messages.

A territory digest is its sections' lists and how many members took part. A staff digest
opens with the totals and their change against the period before, tells each territory in
one short line, then what crosses territories (the most supported ideas, moderation) and
the standing facts (ideas waiting for an answer, territories with no activity for 30
days); the weekly one ends with a chart of the last eight weeks (`bot.digests.chart`).
A period without news sends nothing — or, if so configured, one line — never a list of
zeros.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from babel.dates import format_date, format_datetime
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Services
from bot.digests import chart, staff
from bot.digests.sections import DigestScope, gather, tallies
from bot.messages import Block, Inline, OutMessage, Paragraph, RichText, rich


def _title(scope: DigestScope) -> tuple[Inline, ...]:
    if scope.kind == "territory":
        return scope.t._("<b>What happened in {territory}</b>", territory=scope.territories[0].name)
    if scope.kind == "staff_weekly":
        return scope.t._("<b>Weekly digest for staff</b>")
    return scope.t._("<b>Daily digest for staff</b>")


def _period_text(scope: DigestScope) -> tuple[Inline, ...]:
    locale = scope.t.babel_locale
    start, end = scope.start.astimezone(scope.zone), scope.end.astimezone(scope.zone)
    if start.date() == end.date():
        return scope.t._("On {date}.", date=format_date(end, "d MMMM y", locale=locale))
    return scope.t._("From {start} to {end}.", start=format_date(start, "d MMMM", locale=locale),
                     end=format_date(end, "d MMMM y", locale=locale))


async def compose(session: AsyncSession, services: Services, scope: DigestScope, *,
                  late_for: datetime | None = None,
                  empty: Literal["skip", "line"] | None = None) -> list[OutMessage]:
    """The digest's messages, or none when the period has nothing to tell (unless the
    configuration, or `empty`, asks for one line then)."""
    results = await gather(session, services, scope)
    t = scope.t
    drawn, counted = chart.wanted(scope), results
    if scope.for_staff:
        # Its own period and those it compares with, counted in one pass: the period,
        # the one before, the last 30 days and the chart's weeks (its lists count nothing).
        periods = [(scope.start, scope.end), *staff.compared(scope),
                   *(chart.weeks(scope) if drawn else [])]
        counted = await gather(session, services, scope.over(periods))
    lines = staff.territory_lines(scope, tallies(counted)) if scope.for_staff else []
    news = [block for result in results for block in result.blocks]
    if not lines and not news:
        if (empty or services.config.digests.empty) == "skip":
            return []
        return [OutMessage(rich(_title(scope), t._("Nothing new in this period.")))]
    head: list[Block] = [Paragraph(_title(scope)), Paragraph(_period_text(scope))]
    if late_for is not None:
        when = format_datetime(late_for.astimezone(scope.zone), "EEEE d MMMM, HH:mm",
                               locale=t.babel_locale)
        head.append(Paragraph(t._("<i>Late: this digest was due on {when}.</i>", when=when)))
    tail = [block for result in results for block in result.standing]
    if not scope.for_staff:
        active = set().union(*(tally.active_members for tally in tallies(results)))
        if active:
            tail.append(Paragraph(t.n_("One member took part.", "{n} members took part.",
                                       len(active))))
        return split(head, news + tail, scope.target.caps.max_text)
    body = [*staff.totals(scope, tallies(counted), tallies(counted, 1)), *lines, *news]
    tail += staff.inactive(scope, tallies(counted, 2))
    messages = split(head, body + tail, scope.target.caps.max_text)
    if drawn:
        weekly = [tallies(counted, 3 + week) for week in range(chart.WEEKS)]
        messages += await chart.message(scope, weekly)
    return messages


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
