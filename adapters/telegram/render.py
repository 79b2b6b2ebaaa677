"""The core's rich text as Telegram HTML, cut into messages that fit.

Every string from the tree is escaped here (`html.escape`); only the tags this module writes
reach Telegram. Telegram counts a message's length on the text it shows (HTML removed) in
UTF-16 code units: at most 4,096 for a message and 1,024 for a caption. Longer texts are cut
between paragraphs, else between lines, else — a single line longer than a message — inside
the line, preferably at a space. Every part is valid HTML on its own: a tag never spans two
parts (each line opens and closes its own tags).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.messages import (
    Bold,
    BulletList,
    Code,
    Inline,
    Italic,
    Link,
    Mention,
    Paragraph,
    RichText,
    Text,
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
BULLET = "• "
CONTINUATION = "  "  # the indent of a list item's second line
LINK_SCHEMES = frozenset({"http", "https", "tg", "mailto"})

# A style is the stack of tags around a run of text, outermost first: ("b",), ("a", url) ...
Tag = tuple[str, ...]
Style = tuple[Tag, ...]
BOLD: Tag = ("b",)
ITALIC: Tag = ("i",)
CODE: Tag = ("code",)


@dataclass(frozen=True)
class Run:
    text: str
    style: Style = ()


Line = tuple[Run, ...]


def utf16_len(text: str) -> int:
    """Telegram's unit of length: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _line_len(line: Line) -> int:
    return sum(utf16_len(run.text) for run in line)


def safe_url(url: str) -> bool:
    """A link Telegram accepts and that cannot surprise a reader (no javascript: and such)."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        return urlsplit(url).scheme.lower() in LINK_SCHEMES
    except ValueError:
        return False


def _has_link(style: Style) -> bool:
    return any(tag[0] == "a" for tag in style)


def _mention_url(node: Mention) -> str | None:
    if node.user_id and node.platform in (None, "telegram") and node.user_id.isdecimal():
        return f"tg://user?id={node.user_id}"
    return None


def _runs(nodes: Iterable[Inline], style: Style = ()) -> list[Run]:
    """Flatten inline nodes into styled runs. Telegram does not nest code or links in other
    entities of their kind, so code keeps only its own style and an inner link is dropped."""
    out: list[Run] = []
    for node in nodes:
        match node:
            case Text(text):
                out.append(Run(text, style))
            case Bold(children):
                out.extend(_runs(children, style if BOLD in style else (*style, BOLD)))
            case Italic(children):
                out.extend(_runs(children, style if ITALIC in style else (*style, ITALIC)))
            case Code(text):
                out.append(Run(text, (CODE,)))
            case Link(url, children):
                if safe_url(url) and not _has_link(style):
                    out.extend(_runs(children, (*style, ("a", url))))
                else:
                    label = _runs(children, style)
                    out.extend(label)
                    if "".join(run.text for run in label) != url:
                        out.append(Run(f" ({url})", style))
            case Mention():
                url = _mention_url(node)
                linked = url is not None and not _has_link(style)
                out.append(Run(node.name, (*style, ("a", url)) if linked and url else style))
            case _:
                raise TypeError(node)
    return out


def _split_lines(runs: list[Run]) -> list[Line]:
    """Cut runs at newlines: a message line is the unit of rendering."""
    lines: list[list[Run]] = [[]]
    for run in runs:
        first, *rest = run.text.split("\n")
        if first:
            lines[-1].append(Run(first, run.style))
        for piece in rest:
            lines.append([Run(piece, run.style)] if piece else [])
    return [tuple(line) for line in lines]


def _block_lines(block: Paragraph | BulletList) -> list[Line]:
    if isinstance(block, Paragraph):
        return _split_lines(_runs(block.children))
    lines: list[Line] = []
    for item in block.items:
        first, *rest = _split_lines(_runs(item)) or [()]
        lines.append((Run(BULLET), *first))
        lines.extend((Run(CONTINUATION), *line) for line in rest)
    return lines


def _blank(line: Line) -> bool:
    return not "".join(run.text for run in line).strip()


def blocks(text: RichText) -> list[list[Line]]:
    """Each block as its lines; blocks with nothing to show are left out."""
    out = []
    for block in text.blocks:
        lines = _block_lines(block)
        if not all(_blank(line) for line in lines):
            out.append(lines)
    return out


# --- cutting ---------------------------------------------------------------------------------

def _take(line: Line, limit: int) -> tuple[Line, Line]:
    """The longest head of `line` that fits in `limit` (ending at a space if one is in its
    second half), and the rest."""
    chars = [(ch, run.style) for run in line for ch in run.text]
    end, size = 0, 0
    while end < len(chars) and size + utf16_len(chars[end][0]) <= limit:
        size += utf16_len(chars[end][0])
        end += 1
    if end < len(chars):
        space = max((i for i in range(end) if chars[i][0] == " "), default=-1)
        if space >= end // 2:
            end = space + 1
    return _regroup(chars[:max(end, 1)]), _regroup(chars[max(end, 1):])


def _regroup(chars: list[tuple[str, Style]]) -> Line:
    runs: list[Run] = []
    for ch, style in chars:
        if runs and runs[-1].style == style:
            runs[-1] = Run(runs[-1].text + ch, style)
        else:
            runs.append(Run(ch, style))
    return tuple(runs)


class _Packer:
    """Fills parts greedily: whole blocks, else whole lines, else pieces of a line."""

    def __init__(self, first_limit: int, limit: int) -> None:
        self.first_limit = first_limit
        self.limit = limit
        self.parts: list[list[Line]] = []
        self.current: list[Line] = []
        self.size = 0

    @property
    def room(self) -> int:
        return self.first_limit if not self.parts else self.limit

    def flush(self) -> None:
        if self.current:
            self.parts.append(self.current)
        self.current, self.size = [], 0

    def add(self, lines: list[Line], separator: int) -> bool:
        """Append `lines` to the current part if they fit; `separator` newlines before them."""
        size = sum(_line_len(line) for line in lines) + len(lines) - 1
        gap = separator if self.current else 0
        if self.size + gap + size > self.room:
            return False
        self.current.extend([()] * (gap - 1) if gap else [])
        self.current.extend(lines)
        self.size += gap + size
        return True

    def add_block(self, lines: list[Line]) -> None:
        if self.add(lines, 2):
            return
        self.flush()
        if self.add(lines, 2):
            return
        for index, line in enumerate(lines):
            self.add_line(line, 1 if index else 2)

    def add_line(self, line: Line, separator: int) -> None:
        while not self.add([line], separator):
            if self.current:
                self.flush()
                continue
            piece, line = _take(line, self.room)
            self.add([piece], separator)
            self.flush()
            if not line:
                return


def split(text: RichText, *, first_limit: int = MAX_TEXT, limit: int = MAX_TEXT) -> list[str]:
    """The text as Telegram HTML parts; the first may be shorter (a caption)."""
    packer = _Packer(first_limit, limit)
    for lines in blocks(text):
        packer.add_block(lines)
    packer.flush()
    parts = ["\n".join(_line_html(line) for line in part) for part in packer.parts]
    return [part for part in parts if part.strip()]


def render(text: RichText) -> str:
    """The whole text as one HTML string, without length limits."""
    return "\n\n".join("\n".join(_line_html(line) for line in lines) for lines in blocks(text))


# --- HTML ------------------------------------------------------------------------------------

def _open(tag: Tag) -> str:
    if tag[0] == "a":
        return f'<a href="{html.escape(tag[1], quote=True)}">'
    return f"<{tag[0]}>"


def _close(tag: Tag) -> str:
    return f"</{tag[0]}>"


def _line_html(line: Line) -> str:
    """One line: tags opened and closed as the style changes, all closed at the end."""
    out: list[str] = []
    current: Style = ()
    for run in line:
        if not run.text:
            continue
        shared = 0
        while (shared < min(len(current), len(run.style))
               and current[shared] == run.style[shared]):
            shared += 1
        out.extend(_close(tag) for tag in reversed(current[shared:]))
        out.extend(_open(tag) for tag in run.style[shared:])
        current = run.style
        out.append(html.escape(run.text, quote=False))
    out.extend(_close(tag) for tag in reversed(current))
    return "".join(out)
