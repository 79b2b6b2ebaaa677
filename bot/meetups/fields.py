"""What a member writes about a meetup, checked and tidied: title, when, place, description,
seats. Each check refuses with a short explanation and an example (`ctx.fail`)."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote, urlsplit

from babel.numbers import format_decimal

from bot.context import Context
from bot.dates import WhenError, parse_when
from bot.dates_text import refuse_when
from bot.territories import clean_name

MAX_TITLE = 120
MAX_PLACE = 200
MAX_DESCRIPTION = 1000
MAX_REASON = 300
MAX_CAPACITY = 10_000
OSM_SEARCH = "https://www.openstreetmap.org/search?query="

_SEATS = re.compile(r"^(?:posti|seats|capacity|capienza|max)\s*:?\s*(.*)$", re.I | re.S)
NONE_WORDS = {"-", "no", "nessuno", "nessuna", "none", "niente", "nothing"}


def tidy(raw: str, *, multiline: bool = False) -> str:
    """Text as typed, normalised (see `clean_name`); `multiline` keeps line breaks."""
    if not multiline:
        return clean_name(raw)
    lines = [clean_name(line) for line in raw.splitlines()]
    return "\n".join(lines).strip()


def title(ctx: Context, raw: str) -> str:
    text = tidy(raw)
    if not text:
        ctx.fail("The meetup needs a title. Example: <b>{example}</b>",
                 example=ctx.t.p_("Social dinner"))
    if len(text) > MAX_TITLE:
        ctx.fail("A title is at most {max} characters (this one has {n}). Example: "
                 "<b>{example}</b>", max=MAX_TITLE, n=len(text), example=ctx.t.p_("Social dinner"))
    return text


def when(ctx: Context, raw: str) -> datetime:
    """The moment, as aware UTC, understood in the chat's language and the territory's zone."""
    try:
        return parse_when(tidy(raw), ctx.t.locale, ctx.zone, ctx.now)
    except WhenError as error:
        refuse_when(ctx, error, tidy(raw))


def place(ctx: Context, raw: str) -> str:
    text = tidy(raw)
    if not text:
        ctx.fail("Where? An address, or a link for an online meetup. Example: <b>{example}</b>",
                 example=ctx.t.p_("Trattoria da Mario, via Roma 1"))
    if len(text) > MAX_PLACE:
        ctx.fail("A place is at most {max} characters (this one has {n}). Example: "
                 "<b>{example}</b>", max=MAX_PLACE, n=len(text),
                 example=ctx.t.p_("Trattoria da Mario, via Roma 1"))
    return text


def description(ctx: Context, raw: str) -> str | None:
    text = tidy(raw, multiline=True)
    if text.casefold() in NONE_WORDS:
        return None
    if len(text) > MAX_DESCRIPTION:
        ctx.fail("A description is at most {max} characters (this one has {n}).",
                 max=MAX_DESCRIPTION, n=len(text))
    return text or None


def reason(ctx: Context, raw: str) -> str | None:
    text = tidy(raw)
    if len(text) > MAX_REASON:
        ctx.fail("A reason is at most {max} characters (this one has {n}).",
                 max=MAX_REASON, n=len(text))
    return text or None


def capacity(ctx: Context, raw: str) -> int | None:
    """Seats: a whole number from 1 to 10,000; "-" or "nessuno" for no limit."""
    text = tidy(raw)
    if text.casefold() in NONE_WORDS:
        return None
    if not text.isdecimal() or not 1 <= int(text) <= MAX_CAPACITY:
        ctx.fail("Seats are a number from 1 to {max}. Example: <b>{example}</b>",
                 max=format_decimal(MAX_CAPACITY, locale=ctx.t.babel_locale),
                 example=ctx.t.p_("seats: 20"))
    return int(text)


def seats_field(raw: str) -> str | None:
    """The number part of a `posti: 20` field, or None if the field is not about seats."""
    match = _SEATS.match(raw.strip())
    return match.group(1) if match else None


def online_url(place_text: str) -> str | None:
    """The place itself, when it is a web link (an online meetup)."""
    if " " in place_text:
        return None
    parts = urlsplit(place_text)
    if parts.scheme in ("http", "https") and parts.netloc:
        return place_text
    return None


def place_url(place_text: str) -> str:
    """Where the place links to: itself if online, else an OpenStreetMap search for it."""
    return online_url(place_text) or OSM_SEARCH + quote(place_text, safe="")
