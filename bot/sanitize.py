"""Inbound text made safe to store and show, before any use case sees it.

Platforms can hand over strings no database accepts (a lone UTF-16 surrogate from JSON's
`\\ud800`, a NUL byte) and invisible controls that only confuse. Line breaks and tabs stay;
format characters a language needs (right-to-left marks, zero-width joiners in emoji) stay
too: they are escaped wherever text is rendered.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import TypeVar

from bot.events import Event

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a Python string every surrogate is a lone one (pairs decode to one code point).
_SURROGATES = re.compile("[\ud800-\udfff]")
E = TypeVar("E", bound=Event)
D = TypeVar("D")  # a frozen dataclass: an event, its chat or its sender


def clean(text: str) -> str:
    """Lone surrogates become U+FFFD; control characters other than line breaks go."""
    if text.isascii() and not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", text))


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


def _cleaned(obj: D, **also: object) -> D:
    """`obj` with its strings cleaned and `also` put in; `obj` itself if nothing changes
    (almost always: events are rebuilt only when needed)."""
    changes = {name: cleaned for name in _field_names(type(obj))
               if isinstance(value := getattr(obj, name), str)
               and (cleaned := clean(value)) != value}
    changes.update((name, value) for name, value in also.items()
                   if value is not getattr(obj, name))
    return dataclasses.replace(obj, **changes) if changes else obj  # type: ignore[type-var]


def clean_event(event: E) -> E:
    """The event with every string in it (and in its chat and sender) cleaned."""
    return _cleaned(event, chat=_cleaned(event.chat), sender=_cleaned(event.sender))
