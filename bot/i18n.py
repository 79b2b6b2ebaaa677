"""Every word the bot says goes through here: gettext catalogs read with Babel.

Source strings are English (msgids in the code); Italian lives in
`bot/locales/it/LC_MESSAGES/*.po` (one file per area, merged at load). Strings may use a
tiny trusted markup — `<b>…</b>`, `<i>…</i>` and `{name}` placeholders — which becomes the
rich-text tree. Values fill placeholders as nodes, never parsed, so user text cannot inject
markup.

Extraction keywords: `_` (rich), `p_` (plain), `n_:1,2` (plural, rich), `N_` (mark only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.messages import Bold, Inline, Italic, joined, plain_inlines

LOCALES = ("it", "en")
SOURCE_LOCALE = "en"  # msgids are English
DEFAULT_LOCALE = "it"
LOCALE_DIR = Path(__file__).parent / "locales"
_TOKEN = re.compile(r"(<b>|</b>|<i>|</i>|\{[a-z_][a-z0-9_]*\})")

Value = str | int | Inline | tuple[Inline, ...]

# The name of a forgotten member (`members.display_name` after /dimenticami): a marker no
# member can type (inbound text loses control characters, see `bot.sanitize`), shown to each
# reader as "a member" in their language by `Translator.names` — the outbox applies it to
# every outgoing message.
ANONYMOUS = "\x1eanonymous\x1e"

# Msgids looked up in a language whose catalog lacks them. The test suite fails on any:
# this catches what extraction cannot see (a string built at run time, a nested call).
MISSING: set[tuple[str, str]] = set()


def N_(message: str) -> str:
    """Mark a string for extraction where it is translated later (command descriptions)."""
    return message


@cache
def _translations(locale: str) -> Translations:
    merged = Translations()
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as fp:
            catalog = read_po(fp, locale=locale)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        merged.merge(Translations(fp=buffer))
    return merged


def normalise_locale(value: str | None) -> str:
    value = (value or "").lower()[:2]
    return value if value in LOCALES else DEFAULT_LOCALE


def render_template(template: str, values: Mapping[str, Value]) -> tuple[Inline, ...]:
    """Turn a (trusted) catalog string into inline nodes, filling `{placeholders}`."""
    stack: list[tuple[str, list[str | Inline]]] = [("", [])]
    for token in _TOKEN.split(template):
        if not token:
            continue
        if token in ("<b>", "<i>"):
            stack.append((token, []))
        elif token in ("</b>", "</i>") and len(stack) > 1:
            tag, children = stack.pop()
            node = Bold(joined(children)) if tag == "<b>" else Italic(joined(children))
            stack[-1][1].append(node)
        elif token.startswith("{") and token[1:-1] in values:
            value = values[token[1:-1]]
            if isinstance(value, tuple):
                stack[-1][1].extend(value)
            else:
                stack[-1][1].append(str(value) if isinstance(value, int) else value)
        else:
            stack[-1][1].append(token)
    while len(stack) > 1:  # unbalanced markup in a catalog: keep the text, drop the style
        _, children = stack.pop()
        stack[-1][1].extend(children)
    return joined(stack[0][1])


class Translator:
    """The strings of one language. Get one with `translator(locale)`."""

    def __init__(self, locale: str) -> None:
        self.locale = normalise_locale(locale)
        self._t = _translations(self.locale)
        self._known: dict[object, str] = getattr(self._t, "_catalog", {})  # gettext's own
        self.babel_locale = Locale.parse(self.locale)

    def _(self, message: str, **values: Value) -> tuple[Inline, ...]:
        return render_template(self.gettext(message), values)

    def p_(self, message: str, **values: Value) -> str:
        """The plain-text form: for button labels, toasts and other unformatted places."""
        return plain_inlines(self._(message, **values))

    def n_(self, singular: str, plural: str, n: int, **values: Value) -> tuple[Inline, ...]:
        if self.locale != SOURCE_LOCALE and (singular, 0) not in self._known:
            MISSING.add((self.locale, singular))
        return render_template(self._t.ngettext(singular, plural, n), {"n": n, **values})

    def gettext(self, message: str) -> str:
        """The raw translated string, markup and placeholders untouched."""
        if self.locale != SOURCE_LOCALE and message and message not in self._known:
            MISSING.add((self.locale, message))
        return self._t.gettext(message)

    def names(self, text: str) -> str:
        """`text` with every forgotten member's name (`ANONYMOUS`) written as "a member"."""
        if ANONYMOUS not in text:
            return text
        return text.replace(ANONYMOUS, self.gettext(N_("a member")))

    def when(self, moment: datetime, zone: tzinfo) -> str:
        """A moment in full, in the zone's local time: "venerdì 5 dicembre 2026, ore 19:00"."""
        return _in_full(self.babel_locale, self.gettext(N_("EEEE d MMMM y, 'at' HH:mm")),
                        moment, zone)


@lru_cache(maxsize=4096)
def _in_full(locale: Locale, pattern: str, moment: datetime, zone: tzinfo) -> str:
    """Cards show the same moments again and again (a poll's dates on every vote, a
    meetup's on every answer): each is formatted once."""
    return format_datetime(moment.astimezone(zone), pattern, locale=locale)


@cache
def translator(locale: str | None) -> Translator:
    return Translator(normalise_locale(locale))
