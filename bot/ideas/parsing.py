"""Reading what members type about ideas: the idea and its themes, numbers, status words.

Pure functions: they never fail with a message of their own; the use cases decide what to
tell the member.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, cast

from bot.territories import clean_name

MIN_TEXT = 10
MAX_TEXT = 1000
MAX_THEMES = 5
MAX_THEME = 30

# A theme is a hashtag starting with a letter: "#spazi", "#città", "#co-working".
# "#12" is not a theme but an idea number.
_HASHTAG = re.compile(r"#([^\W\d_][\w-]*)")
_NUMBER = re.compile(r"#?(\d{1,9})")

STATUSES = ("new", "discussing", "adopted", "set_aside")
Order = Literal["top", "newest", "status"]
OPEN_STATUSES = ("new", "discussing")

# What facilitators may type after `/stato N`, in either language.
_STATUS_WORDS = {
    "discussione": "discussing", "discussing": "discussing", "discussion": "discussing",
    "adottata": "adopted", "adottato": "adopted", "adopted": "adopted",
    "accantonata": "set_aside", "accantonato": "set_aside", "set-aside": "set_aside",
    "set_aside": "set_aside", "setaside": "set_aside", "aside": "set_aside",
}

# The orders of `/idee`, in either language.
_ORDER_WORDS = {
    "top": "top", "nuove": "newest", "recenti": "newest", "new": "newest", "newest": "newest",
    "stato": "status", "status": "status",
}


@dataclass(frozen=True)
class Submission:
    """An idea as typed: its text (trailing hashtags removed) and its themes, in order."""

    text: str
    themes: tuple[str, ...]


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def normalise_theme(tag: str) -> str:
    """`#Città` → `città`: without `#`, case folded (accents kept: they are the word)."""
    return unicodedata.normalize("NFC", tag.lstrip("#")).casefold()


def parse_submission(raw: str) -> Submission:
    """Themes are every hashtag in the text; the ones at its end are taken out of it
    ("Un corso sui bandi #bandi #formazione" → "Un corso sui bandi"), the ones inside it
    stay as written ("Un corso di #formazione sui bandi")."""
    text = clean_name(raw)
    themes: list[str] = []
    for tag in _HASHTAG.findall(text):
        theme = normalise_theme(tag)
        if theme not in themes:
            themes.append(theme)
    words = text.split(" ")
    while words and _HASHTAG.fullmatch(words[-1]):
        words.pop()
    return Submission(" ".join(words), tuple(themes))


def parse_number(word: str) -> int | None:
    """An idea number as typed: `12` or `#12`."""
    match = _NUMBER.fullmatch(word.strip())
    return int(match.group(1)) if match else None


def parse_status(word: str) -> str | None:
    return _STATUS_WORDS.get(_fold(word))


def parse_order(word: str) -> Order | None:
    found = _ORDER_WORDS.get(_fold(word))
    return cast(Order, found) if found else None


def parse_theme(word: str) -> str | None:
    """A single `#theme` word (as `/idee #spazi` takes it)."""
    return normalise_theme(word) if _HASHTAG.fullmatch(word) else None


def shorten(text: str, limit: int = 80) -> str:
    """At most `limit` characters, cut at a word where possible, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"
