"""Digest schedules: cron lines in a chat's time zone, their ticks, and their words."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from cron_descriptor import ExpressionDescriptor, Options

from bot.crontab import CronError, parse_cron

MAX_TICKS = 10_000  # enough for a minutely schedule missed for a week


@dataclass(frozen=True)
class Schedule:
    expression: str
    zone: ZoneInfo

    @classmethod
    def parse(cls, expression: str, zone: ZoneInfo) -> Schedule:
        """Raises `CronError` for a line that is not a valid five-field schedule."""
        parse_cron(expression, zone)
        return cls(" ".join(expression.split()), zone)

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after `moment`, in UTC."""
        return _next_tick(self.expression, self.zone, moment)

    def ticks_between(self, after: datetime, until: datetime) -> list[datetime]:
        """Every tick in (after, until], oldest first (at most MAX_TICKS)."""
        ticks: list[datetime] = []
        tick = self.next_after(after)
        while tick <= until and len(ticks) < MAX_TICKS:
            ticks.append(tick)
            tick = self.next_after(tick)
        return ticks


@lru_cache(maxsize=8192)
def _next_tick(expression: str, zone: ZoneInfo, moment: datetime) -> datetime:
    """`Schedule.next_after`, remembered: the scheduler asks every chat's schedule for its
    next tick after the same last period's end on each pass (a pure function of these)."""
    fire = parse_cron(expression, zone).get_next_fire_time(None, moment + timedelta(seconds=1))
    if fire is None:
        raise CronError("this schedule never fires")
    return fire.astimezone(UTC)


def describe(expression: str, locale: str) -> str:
    """The schedule in words: "Alle 09:00, solo il lunedì" / "At 09:00, only on Monday".

    cron-descriptor writes weekday names from the process locale (English); they are
    replaced with the chat language's names from Babel.
    """
    options = Options()
    options.locale_code = "it_IT" if locale == "it" else "en_US"
    options.use_24hour_time_format = True
    text = ExpressionDescriptor(expression, options).get_description()
    days = Locale.parse(locale).days["format"]["wide"]
    for index, english in enumerate(calendar.day_name):
        text = text.replace(english, days[index])
    return text
