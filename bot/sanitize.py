"""Inbound text made safe to store and show, before any use case sees it.

Platforms can hand over strings no database accepts (a lone UTF-16 surrogate from JSON's
`\\ud800`, a NUL byte) and invisible controls that only confuse. Line breaks and tabs stay;
format characters a language needs (right-to-left marks, zero-width joiners in emoji) stay
too: they are escaped wherever text is rendered.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

from bot.events import ChatRef, Event, Sender

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a Python string every surrogate is a lone one (pairs decode to one code point).
_SURROGATES = re.compile("[\ud800-\udfff]")
E = TypeVar("E", bound=Event)


def clean(text: str) -> str:
    """Lone surrogates become U+FFFD; control characters other than line breaks go."""
    if text.isascii() and not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", text))


def _clean_fields(obj: object) -> dict[str, object]:
    return {f.name: clean(value) for f in dataclasses.fields(obj)  # type: ignore[arg-type]
            if isinstance(value := getattr(obj, f.name), str)}


def clean_event(event: E) -> E:
    """The event with every string in it (and in its chat and sender) cleaned."""
    chat: ChatRef = dataclasses.replace(event.chat, **_clean_fields(event.chat))
    sender: Sender = dataclasses.replace(event.sender, **_clean_fields(event.sender))
    return dataclasses.replace(event, chat=chat, sender=sender, **_clean_fields(event))
