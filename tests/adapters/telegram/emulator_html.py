"""Text handling for the Bot API emulator: Telegram-HTML parsing and automatic entities.

Telegram turns ``parse_mode=HTML`` text into plain text plus a list of ``MessageEntity``
objects whose ``offset``/``length`` are counted in UTF-16 code units. This module reproduces
that, refusing what Telegram refuses (unsupported or unbalanced tags) with the same
``can't parse entities: ...`` wording.

The emulator is deliberately *stricter* than Telegram about a bare ``&`` or ``>`` in HTML
text (Telegram tolerates those): they almost always mean a bot forgot to ``html.escape``
user input, which breaks for real as soon as the input contains ``<``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

JSONDict = dict[str, Any]

_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "span", "a", "blockquote", "tg-emoji", "tg-time"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TEXT_MENTION = re.compile(r"^tg://user\?id=(\d+)$")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class EntityParseError(ValueError):
    """Raised for HTML Telegram would refuse; ``str(exc)`` is Telegram's detail text."""


class _TelegramHTMLParser(HTMLParser):
    """Collects plain text and entities, validating tags the way Telegram does."""

    def __init__(self, source: str, strict: bool) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._strict = strict
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.parts: list[str] = []
        self.offset16 = 0
        self.entities: list[JSONDict] = []
        self._stack: list[tuple[str, int, dict[str, str]]] = []

    # --- position helpers -------------------------------------------------------------------
    def _byte_offset(self) -> int:
        line, col = self.getpos()
        char_offset = self._line_starts[line - 1] + col
        return len(self._source[:char_offset].encode("utf-8"))

    def _fail(self, detail: str) -> None:
        raise EntityParseError(detail)

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.offset16 += utf16_len(text)

    # --- HTMLParser callbacks ---------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag not in SUPPORTED_TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset '
                       f"{self._byte_offset()}")
        if tag == "tg-emoji" and not attributes.get("emoji-id"):
            self._fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset '
                       f"{self._byte_offset()}")
        self._stack.append((tag, self.offset16, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Telegram has no void tags: <br/> and friends are unsupported.
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            self._fail(f"Unexpected end tag at byte offset {self._byte_offset()}")
        open_tag, start, attributes = self._stack.pop()
        if open_tag != tag:
            self._fail(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        length = self.offset16 - start
        if length > 0:
            self._add_entity(open_tag, start, length, attributes)

    def handle_data(self, data: str) -> None:
        for char in ("<", "&", ">") if self._strict else ("<",):
            if char in data:
                self._fail(
                    f"Character '{char}' at byte offset {self._byte_offset()} must be escaped "
                    f"as an HTML entity"
                )
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        if name in _NAMED_ENTITIES:
            self._append(_NAMED_ENTITIES[name])
        elif self._strict:
            self._fail(f'Unsupported HTML entity "&{name};" at byte offset {self._byte_offset()}')
        else:
            self._append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in ("x", "X") else int(name)
            self._append(chr(code))
        except (ValueError, OverflowError):
            self._fail(f"Invalid numeric HTML entity at byte offset {self._byte_offset()}")

    def handle_comment(self, data: str) -> None:
        self._fail(f'Unsupported start tag "!--" at byte offset {self._byte_offset()}')

    def handle_decl(self, decl: str) -> None:
        self._fail(f'Unsupported start tag "!" at byte offset {self._byte_offset()}')

    handle_pi = handle_decl
    unknown_decl = handle_decl

    # --- entity construction ----------------------------------------------------------------
    def _add_entity(self, tag: str, offset: int, length: int, attrs: dict[str, str]) -> None:
        entity: JSONDict = {"offset": offset, "length": length}
        if tag in ("span", "tg-spoiler"):
            entity["type"] = "spoiler"
        elif tag == "a":
            href = attrs.get("href")
            if not href:
                return
            mention = _TEXT_MENTION.match(href)
            if mention:
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(mention.group(1)), "is_bot": False,
                                  "first_name": "User"}
            else:
                entity["type"] = "text_link"
                entity["url"] = href
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
        elif tag == "tg-emoji":
            entity["type"] = "custom_emoji"
            entity["custom_emoji_id"] = attrs["emoji-id"]
        elif tag == "tg-time":
            entity["type"] = "date_time"
            entity["unix_time"] = int(attrs.get("unix", "0") or 0)
            if attrs.get("format"):
                entity["date_time_format"] = attrs["format"]
        elif tag == "code" and self._code_inside_pre(offset, length, attrs):
            return
        else:
            entity["type"] = _SIMPLE_TAGS[tag]
            if tag == "pre" and attrs.get("language"):
                entity["language"] = attrs["language"]
        self.entities.append(entity)

    def _code_inside_pre(self, offset: int, length: int, attrs: dict[str, str]) -> bool:
        """``<pre><code class="language-x">`` is one ``pre`` entity with a language."""
        if not self._stack or self._stack[-1][0] != "pre":
            return False
        language = attrs.get("class", "")
        if language.startswith("language-"):
            pre_attrs = self._stack[-1][2]
            pre_attrs["language"] = language.removeprefix("language-")
        return True

    def finish(self) -> tuple[str, list[JSONDict]]:
        self.close()
        if self._stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self._stack[-1][0]}"')
        return "".join(self.parts), sorted(
            self.entities, key=lambda e: (e["offset"], -e["length"])
        )


def parse_html(source: str, *, strict: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into ``(plain_text, entities)``.

    Raises:
        EntityParseError: with Telegram's detail text, e.g. ``Unsupported start tag "div" at
            byte offset 0``.
    """
    parser = _TelegramHTMLParser(source, strict)
    parser.feed(source)
    return parser.finish()


_AUTO_ENTITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("url", re.compile(r"(?<![\w/])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
)


def detect_entities(text: str) -> list[JSONDict]:
    """Entities Telegram adds on its own to a user's message (commands, mentions, ...)."""
    found: list[JSONDict] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            found.append({
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            })
    return sorted(found, key=lambda e: (e["offset"], -e["length"]))
