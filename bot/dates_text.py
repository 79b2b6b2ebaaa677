"""Saying why a date was not understood, in the chat's language, with an example to copy.

Kept apart from `bot.dates` (which only understands) so that every feature that asks for a
date — meetups, date polls — refuses in the same words.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NoReturn

from babel.dates import format_date, format_time

from bot.context import Context
from bot.dates import WhenError

DAY = "EEEE d MMMM y"
DAY_MONTH = "EEEE d MMMM"


def weekday_name(ctx: Context, number: int) -> str:
    return ctx.t.babel_locale.days["format"]["wide"][number]


def nearest_weekday(day: date, weekday: int) -> date:
    """The date with `weekday` closest to `day` (the later one on a tie)."""
    after = day + timedelta(days=(weekday - day.weekday()) % 7)
    before = day - timedelta(days=(day.weekday() - weekday) % 7)
    return before if (day - before) < (after - day) else after


def refuse_when(ctx: Context, error: WhenError, text: str) -> NoReturn:
    """Refuse a date with the reason and an example (`ctx.fail`)."""
    locale = ctx.t.babel_locale
    example = ctx.t.p_("next Saturday at 7pm")
    if error.reason == "no_time" and error.day is not None:
        at = ctx.t.p_("at 7pm")
        ctx.fail("At what time, on {day}? Write the time too, for example <b>{example}</b>",
                 day=format_date(error.day, DAY, locale=locale),
                 example=f"{text} {at}")
    if error.reason == "no_day":
        ctx.fail("Which day? Write the day too, for example <b>{example}</b>",
                 example=ctx.t.p_("12 December at 7pm"))
    if error.reason == "weekday" and error.day and error.named is not None:
        other = nearest_weekday(error.day, error.named)
        ctx.fail("{day} is a {actual}, not a {named}. Did you mean <b>{first}</b> or "
                 "<b>{second}</b>?", day=format_date(error.day, "d MMMM y", locale=locale),
                 actual=weekday_name(ctx, error.day.weekday()),
                 named=weekday_name(ctx, error.named),
                 first=format_date(min(other, error.day), DAY_MONTH, locale=locale),
                 second=format_date(max(other, error.day), DAY_MONTH, locale=locale))
    if error.reason == "gap" and error.moment is not None:
        ctx.fail("On {day} the clocks go forward and {time} does not exist. Choose another time.",
                 day=format_date(error.moment.date(), DAY, locale=locale),
                 time=format_time(error.moment.time(), "HH:mm", locale=locale))
    if error.reason == "past" and error.moment is not None:
        ctx.fail("That is already past: {when}. When will it be? For example <b>{example}</b>",
                 when=ctx.t.when(error.moment, ctx.zone), example=example)
    if error.reason == "too_far" and error.moment is not None:
        ctx.fail("That is more than a year away: {when}. Plan within the coming year, for "
                 "example <b>{example}</b>", when=ctx.t.when(error.moment, ctx.zone),
                 example=example)
    ctx.fail("I could not read a date in “{text}”. Write the day and the time, for example "
             "<b>{example}</b> or <b>{other}</b>", text=text[:60], example=example,
             other=ctx.t.p_("tomorrow 18:30"))
