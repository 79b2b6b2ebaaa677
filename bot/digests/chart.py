"""The chart of the weekly staff digest: members who took part, per territory and week, over
the last eight weeks — a small PNG sent as an image where the platform shows images.

Drawn with matplotlib's Agg backend (no display, no pyplot state, the fonts it ships with),
which is an optional extra (`pip install piazzabot[charts]`): without it the digest's text
goes alone. The counts come from the sections, the weeks among the periods of the staff
digest's one counting pass (`bot.digests.staff.compared`, `DigestScope.over`): a fixed number
of queries whatever the number of territories or weeks.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from babel.dates import format_date

from bot.digests.sections import DigestScope, Tally
from bot.messages import Attachment, OutMessage, plain_inlines, rich

log = logging.getLogger(__name__)

WEEKS = 8
LINES = 6  # territories drawn one by one; the others are summed in one more line
WIDTH, HEIGHT, DPI = 8.0, 4.0, 80  # 640 × 320 pixels
NAME_LENGTH = 30  # characters of a territory's name in the legend (its right third)


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def prepare() -> None:
    """Load matplotlib and its font by drawing a tiny chart, so that the first weekly staff
    digest does not pay for it: importing matplotlib (most of it building its artists'
    docstrings) and loading its font took some 0.6 s of CPU, against 0.1 s for a chart
    drawn afterwards (bench/README.md)."""
    draw("0", ["0"], [("0", [0])])


def wanted(scope: DigestScope) -> bool:
    """Whether the digest of `scope` ends with the chart: the weekly staff digest, where
    images are shown and matplotlib is installed."""
    return scope.kind == "staff_weekly" and scope.target.caps.images and available()


def week_starts(end: datetime, scope: DigestScope) -> list[datetime]:
    """The starts of the WEEKS weeks before `end`, and `end`: wall-clock weeks in the
    scope's zone (a week across a change of the clocks is an hour longer or shorter)."""
    local = end.astimezone(scope.zone)
    return [(local - timedelta(weeks=WEEKS - n)).astimezone(UTC) for n in range(WEEKS + 1)]


def weeks(scope: DigestScope) -> list[tuple[datetime, datetime]]:
    """The chart's weeks, oldest first: the periods whose tallies `message` is given."""
    return list(pairwise(week_starts(scope.end, scope)))


def weekly_members(weekly: list[list[Tally]]) -> dict[int, list[int]]:
    """Territory id → members who took part in each week, from each week's tallies."""
    series: dict[int, list[int]] = {}
    for week, tallies in enumerate(weekly):
        members: dict[int, set[int]] = {}
        for tally in tallies:
            for territory_id, who in tally.members.items():
                members.setdefault(territory_id, set()).update(who)
        for territory_id, who in members.items():
            series.setdefault(territory_id, [0] * WEEKS)[week] = len(who)
    return series


Line = tuple[str, list[int]]  # a name, and a value for each week


def draw(title: str, labels: list[str], lines: list[Line], others: Line | None = None) -> bytes:
    """The PNG: one line per territory, and `others` (the rest, summed) dashed in grey;
    weeks along the bottom, the legend on the right.

    The margins are fixed (names in the legend are cut to NAME_LENGTH): with
    `bbox_inches="tight"`, saving drew the figure twice, once to measure it — a third of
    the weekly staff digest's CPU time beside its queries."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, values in lines:
        axes.plot(range(len(values)), values, marker="o", linewidth=1.5, label=name)
    if others is not None:
        axes.plot(range(len(others[1])), others[1], linestyle="--", color="0.55",
                  linewidth=1.2, label=others[0])
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    axes.set_title(title, fontsize=10)
    axes.set_ylim(bottom=0)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    figure.subplots_adjust(left=0.06, right=0.70, bottom=0.09, top=0.91)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _short(name: str) -> str:
    return name if len(name) <= NAME_LENGTH else name[:NAME_LENGTH - 1] + "…"


async def message(scope: DigestScope, weekly: list[list[Tally]]) -> list[OutMessage]:
    """The chart as a message of its own, or none if no one took part in eight weeks.
    `weekly`: each of `weeks(scope)`'s tallies."""
    series = weekly_members(weekly)
    if not series:
        return []
    t = scope.t
    ranked = sorted(series, key=lambda tid: (-sum(series[tid]), scope.names.get(tid, "")))
    lines = [(_short(scope.names.get(tid, "?")), series[tid]) for tid in ranked[:LINES]]
    others: Line | None = None
    if len(ranked) > LINES:
        rest = [sum(series[tid][week] for tid in ranked[LINES:]) for week in range(WEEKS)]
        name = t.n_("one other territory", "{n} other territories", len(ranked) - LINES)
        others = (plain_inlines(name), rest)
    labels = [format_date(start.astimezone(scope.zone), "d MMM", locale=t.babel_locale)
              for start, _ in weeks(scope)]
    title = t.p_("Members who took part, week by week")
    try:
        png = await asyncio.to_thread(draw, title, labels, lines, others)
    except Exception:  # a chart that cannot be drawn must not hold the digest back
        log.exception("the digest chart could not be drawn")
        return []
    day = scope.end.astimezone(scope.zone).date().isoformat()
    name = t.p_("activity-{date}", date=day) + ".png"
    return [OutMessage(rich(t._("Members who took part in each territory over the last "
                                "{weeks} weeks.", weeks=WEEKS)),
                       attachment=Attachment(name, "image/png", png, is_image=True))]
