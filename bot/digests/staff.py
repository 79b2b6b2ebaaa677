"""The staff digest's own parts, made from the sections' counts: each territory in one short
line, the totals with their change against the period before, and the territories with no
activity for 30 days. The periods compared with (`compared`) are counted in one pass of the
sections over them all (`DigestScope.over`) — a fixed number of grouped queries, whatever
the number of territories or periods."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.digests.sections import DigestScope, Tally
from bot.i18n import N_
from bot.messages import Block, Bold, BulletList, Inline, Paragraph, Text

ACTIVE_METRIC = N_("Active members")
INACTIVE = timedelta(days=30)  # a territory with nothing counted this long is named
MAX_LINES = 20  # territories told one by one; the rest are counted
MAX_NAMES = 30  # inactive territories named


def compared(scope: DigestScope) -> list[tuple[datetime, datetime]]:
    """The periods the digest of `scope` compares with: the one before (as long; for
    `totals`) and the last 30 days (for `inactive`)."""
    return [(scope.start - (scope.end - scope.start), scope.start),
            (scope.end - INACTIVE, scope.end)]


def metrics(results: list[Tally]) -> dict[str, int]:
    """Every section's metrics summed over the territories, then the members who took part
    (each once, whatever they did and wherever)."""
    out = {name: n for result in results for name, n in result.metrics.items()}
    out[ACTIVE_METRIC] = len(set().union(*(r.active_members for r in results)))
    return out


def _by_territory(results: list[Tally]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for result in results:
        for territory_id, counts in result.counts.items():
            mine = out.setdefault(territory_id, {})
            for name in result.metric_names:
                if counts.get(name):
                    mine[name] = mine.get(name, 0) + counts[name]
    members: dict[int, set[int]] = {}
    for result in results:
        for territory_id, who in result.members.items():
            members.setdefault(territory_id, set()).update(who)
    for territory_id, who in members.items():
        if who:
            out.setdefault(territory_id, {})[ACTIVE_METRIC] = len(who)
    return {territory_id: counts for territory_id, counts in out.items() if counts}


def territory_lines(scope: DigestScope, results: list[Tally]) -> list[Block]:
    """Each territory with activity in one line — its non-zero counts — most active first."""
    counts = _by_territory(results)
    if not counts:
        return []
    t = scope.t
    order = sorted(counts, key=lambda territory_id: (
        -counts[territory_id].get(ACTIVE_METRIC, 0), -sum(counts[territory_id].values()),
        scope.names.get(territory_id, "")))
    items: list[tuple[Inline, ...]] = []
    for territory_id in order[:MAX_LINES]:
        said = " · ".join(f"{t.gettext(name)}: {n}" for name, n in counts[territory_id].items())
        items.append((Bold((Text(scope.names.get(territory_id, "?")),)), Text(f" — {said}")))
    blocks: list[Block] = [Paragraph(t._("<b>Territories</b>")), BulletList(tuple(items))]
    if len(order) > MAX_LINES:
        blocks.append(Paragraph(t.n_("…and one more territory with some activity.",
                                     "…and {n} more territories with some activity.",
                                     len(order) - MAX_LINES)))
    return blocks


def totals(scope: DigestScope, results: list[Tally], before: list[Tally]) -> list[Block]:
    """Totals of the period and their change against the period before."""
    now, then = metrics(results), metrics(before)
    items = []
    for name, n in now.items():
        if not n and not then.get(name):
            continue
        delta = n - then.get(name, 0)
        change = f"{delta:+d}" if delta else "="
        items.append((Text(f"{scope.t.gettext(name)}: {n} ({change})"),))
    if not items:
        return []
    return [Paragraph(scope.t._("<b>Totals</b> (change from the period before)")),
            BulletList(tuple(items))]


def inactive(scope: DigestScope, last_days: list[Tally]) -> list[Block]:
    """The territories older than 30 days in which nothing was counted in the last 30
    (`last_days`)."""
    since = scope.end - INACTIVE
    active = set().union(*(tally.active_territories for tally in last_days))
    quiet = [t.name for t in scope.territories
             if t.id not in active and t.created_at < since]
    if not quiet:
        return []
    names = ", ".join(quiet[:MAX_NAMES]) + ("…" if len(quiet) > MAX_NAMES else "")
    return [Paragraph(scope.t.n_(
        "<b>No activity for {days} days</b> in one territory: {names}",
        "<b>No activity for {days} days</b> in {n} territories: {names}",
        len(quiet), days=INACTIVE.days, names=names))]
