"""Understanding dates as members write them (bot.dates), in Italian and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import WhenError, parse_when

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ROME)  # a Tuesday


def local(text: str, locale: str = "it", now: datetime = NOW) -> str:
    moment = parse_when(text, locale, ROME, now)
    assert moment.tzinfo is UTC
    return moment.astimezone(ROME).strftime("%a %Y-%m-%d %H:%M")


def reason(text: str, locale: str = "it", now: datetime = NOW) -> WhenError:
    with pytest.raises(WhenError) as caught:
        parse_when(text, locale, ROME, now)
    return caught.value


@pytest.mark.parametrize(("text", "locale", "expected"), [
    # the forms in the issue
    ("venerdì 4 dicembre alle 19", "it", "Fri 2026-12-04 19:00"),
    ("domani 18:30", "it", "Wed 2026-12-02 18:30"),
    ("sabato prossimo alle 10", "it", "Sat 2026-12-05 10:00"),
    ("2026-12-05 19:00", "it", "Sat 2026-12-05 19:00"),
    ("next friday 7pm", "en", "Fri 2026-12-04 19:00"),
    # and their neighbours
    ("Sabato Prossimo Alle 10", "it", "Sat 2026-12-05 10:00"),
    ("venerdi 4 dicembre ore 19", "it", "Fri 2026-12-04 19:00"),
    ("il 12 dicembre alle 21", "it", "Sat 2026-12-12 21:00"),
    ("5.12 alle 19.30", "it", "Sat 2026-12-05 19:30"),
    ("31/12 ore 20", "it", "Thu 2026-12-31 20:00"),
    ("dopodomani alle 18", "it", "Thu 2026-12-03 18:00"),
    ("tra una settimana alle 19", "it", "Tue 2026-12-08 19:00"),
    ("stasera alle 9", "it", "Tue 2026-12-01 21:00"),
    ("domani sera alle 8", "it", "Wed 2026-12-02 20:00"),
    ("lunedì prossimo ore 21", "it", "Mon 2026-12-07 21:00"),
    ("sabato a mezzogiorno", "it", "Sat 2026-12-05 12:00"),
    ("1 dicembre alle 19", "it", "Tue 2026-12-01 19:00"),  # today, later on
    ("tomorrow at 6:30pm", "en", "Wed 2026-12-02 18:30"),
    ("Saturday 5 December at 7pm", "en", "Sat 2026-12-05 19:00"),
    ("next saturday at 10am", "en", "Sat 2026-12-05 10:00"),
    ("tonight at 8", "en", "Tue 2026-12-01 20:00"),
    ("domani 18:30", "en", "Wed 2026-12-02 18:30"),  # the other language is understood too
    ("next friday 7pm", "it", "Fri 2026-12-04 19:00"),
])
def test_understood(text: str, locale: str, expected: str) -> None:
    assert local(text, locale) == expected


def test_the_issue_example_in_its_own_year() -> None:
    """"venerdì 5 dicembre" is a Friday in 2025: there it is simply understood."""
    now = datetime(2025, 11, 20, 10, 0, tzinfo=ROME)
    assert local("venerdì 5 dicembre alle 19", now=now) == "Fri 2025-12-05 19:00"


def test_weekday_that_does_not_match_the_date_is_refused() -> None:
    error = reason("venerdì 5 dicembre alle 19")  # 5 December 2026 is a Saturday
    assert (error.reason, error.named, error.actual) == ("weekday", 4, 5)
    assert error.day is not None and error.day.isoformat() == "2026-12-05"


@pytest.mark.parametrize(("text", "why"), [
    ("domani", "no_time"),
    ("friday", "no_time"),
    ("stasera", "no_time"),
    ("dicembre alle 19", "no_day"),
    ("ieri alle 19", "past"),
    ("oggi alle 9", "past"),
    ("1 dicembre alle 9", "past"),  # not next year's 1 December: today's, which is gone
    ("5 dicembre 2028 alle 19", "too_far"),
    ("2027-12-02 10:00", "too_far"),
    ("blah", "unknown"),
    ("quando capita", "unknown"),
    ("alle 25", "unknown"),
    ("domani alle 19 e alle 20", "unknown"),
    ("99999999999 giorni alle 19", "unknown"),
    ("", "unknown"),
    ("x" * 500, "unknown"),
])
def test_refused(text: str, why: str) -> None:
    assert reason(text).reason == why


def test_a_year_ahead_is_the_limit() -> None:
    assert local("2027-11-30 10:00") == "Tue 2027-11-30 10:00"


def test_daylight_saving_weekend() -> None:
    """The last Sunday of October 2026 the clocks go back: 19:00 is 18:00 UTC that Sunday
    and 17:00 UTC the day before."""
    now = datetime(2026, 10, 1, 10, 0, tzinfo=ROME)
    sunday = parse_when("domenica 25 ottobre alle 19", "it", ROME, now)
    saturday = parse_when("sabato 24 ottobre alle 19", "it", ROME, now)
    assert sunday == datetime(2026, 10, 25, 18, 0, tzinfo=UTC)
    assert saturday == datetime(2026, 10, 24, 17, 0, tzinfo=UTC)
    assert sunday - saturday == timedelta(hours=25)


def test_a_time_the_clocks_skip_is_refused() -> None:
    now = datetime(2027, 3, 1, 10, 0, tzinfo=ROME)
    assert reason("28 marzo 2027 alle 2:30", now=now).reason == "gap"
    assert local("28 marzo 2027 alle 3:30", now=now) == "Sun 2027-03-28 03:30"


def test_other_zones() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    moment = parse_when("domani 18:30", "it", tokyo, NOW)
    assert moment == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


WORDS = ["alle", "ore", "19", "7pm", "25:61", "domani", "sabato", "prossimo", "dicembre",
         "2026", "31/02", "5.12", "tra", "una", "settimana", "stasera", "mezzogiorno", "-1",
         "99999999999", "next", "friday", "at", "h", "19h30", ":", ".", "/", "📅", "\u202e"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=120),
                 st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)),
       st.sampled_from(["it", "en"]))
def test_any_text_is_a_moment_or_a_reason(text: str, locale: str) -> None:
    try:
        moment = parse_when(text, locale, ROME, NOW)
    except WhenError as error:
        assert error.reason in {"unknown", "no_time", "no_day", "weekday", "gap", "past",
                                "too_far"}
    else:
        assert moment.tzinfo is UTC and NOW < moment <= NOW + timedelta(days=365)
