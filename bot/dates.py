"""Understanding when something happens, as a member writes it, in Italian or English.

`parse_when("venerdì 5 dicembre alle 19", "it", ZoneInfo("Europe/Rome"), now)` gives an
aware UTC datetime, or raises `WhenError` saying why not (the caller words the reply).

dateparser does the understanding. Before it, a small normalisation turns the phrasings it
does not know into ones it does: a time said as "alle 19", "ore 19.30", "7pm" or "19h30"
becomes "19:00"/"19:30" (and is how we know a time was given at all), "sabato prossimo"
becomes "sabato" (dateparser prefers future dates, so that is the coming Saturday),
"dopodomani" becomes "tra 2 giorni", "stasera" becomes "oggi" with evening hours. dateparser
returns a naive local time; it is placed in the zone with zoneinfo, so a time that does
not exist on the night the clocks go forward is caught instead of silently shifted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache

from babel import Locale
from dateparser.date import DateDataParser

MAX_TEXT = 100
MAX_AHEAD = timedelta(days=365)

# Times: "alle 19", "alle ore 19:30", "ore 19.30", "at 7", "h 19"; "7pm", "7:30 pm";
# "19:30"; "19h30", "19h". Each pattern gives hour, minute and (only the first) am/pm.
_LEAD = r"(?:\ball(?:e|')?\s*(?:ore\s*)?|\bore\s*|\bat\s*|\bh\s*)"
_TIMES = (
    re.compile(r"(?:" + _LEAD + r")?\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)\b"),
    re.compile(_LEAD + r"(\d{1,2})(?:[:.](\d{2}))?\b()"),
    re.compile(r"\b(\d{1,2}):(\d{2})\b()"),
    re.compile(r"\b(\d{1,2})h(\d{2})?\b()"),
)
_NOON = re.compile(r"\b(?:a\s+)?(?:mezzogiorno|noon|midday)\b")
_EVENING = re.compile(r"\b(?:stasera|sera|di sera|pomeriggio|tonight|evening|afternoon)\b")
_MORNING = re.compile(r"\b(?:stamattina|mattina|di mattina|morning)\b")
_REWRITES = (
    (re.compile(r"\bdopodomani\b"), "tra 2 giorni"),
    (re.compile(r"\bday after tomorrow\b"), "in 2 days"),
    (re.compile(r"\bfra\b"), "tra"),
    (re.compile(r"\b(tra|in) (una|un|a|an) "), r"\1 1 "),
    (re.compile(r"\b(?:stasera|stanotte|stamattina|tonight)\b"), "oggi"),
    (_EVENING, " "),
    (_MORNING, " "),
    (re.compile(r"\b(?:il|the|on|di|del)\b"), " "),
)
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})(?:\.(\d{2,4}))?\b")  # 5.12 or 5.12.2026
_NO_DAY = ("month", "year")  # dateparser's periods of a date without its day
_YEAR = re.compile(r"\b\d{4}\b")


class WhenError(ValueError):
    """Why a text is not a usable moment. `reason` is one of:

    - `unknown`: not understood;
    - `no_time`: a day without a time (`day` is that day);
    - `no_day`: a month or year without a day;
    - `weekday`: the weekday named is not the date's (`day`, `named` and `actual` weekdays,
      0 = Monday);
    - `gap`: the time does not exist on that day (clocks go forward; `moment` is local);
    - `past` / `too_far`: understood (`moment`, aware UTC) but not in the coming year.
    """

    def __init__(self, reason: str, *, moment: datetime | None = None, day: date | None = None,
                 named: int | None = None, actual: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.moment = moment
        self.day = day
        self.named = named
        self.actual = actual


@dataclass
class _Normalised:
    day_text: str  # the text without its time
    time: tuple[int, int] | None = None
    weekdays: set[int] = field(default_factory=set)

    @property
    def text(self) -> str:
        """The text for dateparser: the day, then the time as HH:MM."""
        if self.time is None:
            return self.day_text
        return f"{self.day_text} {self.time[0]:02d}:{self.time[1]:02d}".strip()


def _fold(text: str) -> str:
    """Lower case, no accents, no punctuation that only separates, single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[,;!?()\[\]]", " ", text).split())


@cache
def _weekday_names() -> dict[str, int]:
    """Full weekday names in both languages, folded, from Babel's locale data."""
    names: dict[str, int] = {}
    for locale in ("it", "en"):
        for number, name in Locale.parse(locale).days["format"]["wide"].items():
            names[_fold(name)] = number
    return names


def _take_time(text: str) -> tuple[str, tuple[int, int] | None]:
    """Find the one time in `text`, remove it; `ValueError` for two times or a bad one."""
    found: list[tuple[int, int]] = []
    if _NOON.search(text):
        found.append((12, 0))
        text = _NOON.sub(" ", text)
    evening = bool(_EVENING.search(text))
    for pattern in _TIMES:
        for match in pattern.finditer(text):
            hour, minute = int(match.group(1)), int(match.group(2) or 0)
            suffix = match.group(3)
            if suffix:
                if not 1 <= hour <= 12:
                    raise ValueError("not a time")
                hour = hour % 12 + (12 if suffix == "pm" else 0)
            elif evening and 1 <= hour < 12:
                hour += 12
            if hour > 23 or minute > 59:
                raise ValueError("not a time")
            found.append((hour, minute))
        text = pattern.sub(" ", text)
    if len(found) > 1:
        raise ValueError("two times")
    return text, found[0] if found else None


def _normalise(raw: str) -> _Normalised:
    text, time = _take_time(_fold(raw))
    names = _weekday_names()
    weekdays = {names[word] for word in text.split() if word in names}
    pattern = "|".join(names)
    text = re.sub(rf"\bprossim[oa]\s+({pattern})\b", r"\1", text)
    text = re.sub(rf"\b({pattern})\s+prossim[oa]\b", r"\1", text)
    for rule, replacement in _REWRITES:
        text = rule.sub(replacement, text)
    text = _DOTTED_DATE.sub(lambda m: "/".join(g for g in m.groups() if g), text)
    text = " ".join(text.split())
    return _Normalised(text, time, weekdays)



def _dateparser(text: str, languages: list[str], base: datetime) -> tuple[datetime | None, str]:
    parser = DateDataParser(languages=languages, settings={
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "DATE_ORDER": "DMY",
        "RETURN_TIME_AS_PERIOD": True,
    })
    try:
        data = parser.get_date_data(text)
    except (ValueError, OverflowError, TypeError):  # dateparser on odd numbers
        return None, "day"
    return data.date_obj, data.period or "day"


def place_in_zone(local: datetime, zone: tzinfo) -> datetime:
    """A naive local time as aware UTC; `WhenError("gap")` if the clocks skip it that day.

    An ambiguous time (the hour that repeats when the clocks go back) is its first
    occurrence, summer time."""
    aware = local.replace(tzinfo=zone, fold=0)
    moment = aware.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local:
        raise WhenError("gap", moment=local)
    return moment


def parse_when(text: str, locale: str, zone: tzinfo, now: datetime) -> datetime:
    """The moment `text` names, read in the language `locale` first, as aware UTC.

    Dates prefer the future ("sabato" is the coming Saturday; "5 dicembre" this year's
    unless it is past). Refused with `WhenError`: not understood, without a time, a weekday
    that does not match the date, in the past, or more than a year ahead."""
    if not text.strip() or len(text) > MAX_TEXT:
        raise WhenError("unknown")
    try:
        norm = _normalise(text)
    except ValueError:
        raise WhenError("unknown") from None
    languages = [locale, "en" if locale != "en" else "it"]
    base = now.astimezone(zone).replace(tzinfo=None)
    local, period = _dateparser(norm.text, languages, base)
    if local is None:
        raise WhenError("unknown")
    if norm.day_text and _dateparser(norm.day_text, languages, base)[1] in _NO_DAY:
        raise WhenError("no_day")  # "dicembre alle 19": which day of December?
    if norm.time is None and period != "time":
        raise WhenError("no_time", day=local.date())
    local = local.replace(second=0, microsecond=0)
    if norm.weekdays and local.weekday() not in norm.weekdays:
        raise WhenError("weekday", day=local.date(), named=min(norm.weekdays),
                        actual=local.weekday())
    moment = place_in_zone(local, zone)
    if moment <= now or _rolled_past_today(norm.text, local, base):
        raise WhenError("past", moment=moment)
    if moment > now + MAX_AHEAD:
        raise WhenError("too_far", moment=moment)
    return moment


def _rolled_past_today(text: str, local: datetime, base: datetime) -> bool:
    """"1 dicembre alle 9" said on 1 December at 10: dateparser, preferring the future,
    reads next year's; the member meant today, which is past."""
    if _YEAR.search(text) or local.year != base.year + 1:
        return False
    try:
        return local.date().replace(year=base.year) == base.date()
    except ValueError:  # 29 February
        return False
