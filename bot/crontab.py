"""Cron expressions for schedules (digests), read with APScheduler's own parser."""

from __future__ import annotations

from datetime import tzinfo
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger


class CronError(ValueError):
    """A cron expression that cannot be used."""


@lru_cache(maxsize=4096)
def parse_cron(expression: str, timezone: tzinfo | str = "UTC") -> CronTrigger:
    """Return the trigger for a standard five-field crontab line (minute hour day month weekday).

    Weekday names (MON…SUN) are the unambiguous way to write days; APScheduler numbers
    weekdays from Monday = 0, unlike classic cron, so numbers are refused.

    Triggers are cached and shared: the scheduler asks every chat's schedule for its next
    tick on each pass, and parsing is most of that cost. Sharing is safe because a
    `CronTrigger` without jitter is never changed by `get_next_fire_time`, a pure function
    of its arguments; callers must not change a trigger either.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(
            "a schedule has five fields: minute hour day month weekday, e.g. 0 9 * * MON")
    if any(ch.isdigit() for ch in fields[4]):
        raise CronError("write weekdays as MON, TUE, … SUN (e.g. 0 9 * * MON)")
    try:
        return CronTrigger.from_crontab(expression, timezone=timezone)
    except (ValueError, TypeError) as exc:
        raise CronError(f"not a valid schedule: {exc}") from None
