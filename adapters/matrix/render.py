"""The core's rich text as a Matrix message: `formatted_body` (org.matrix.custom.html) and a
plain `body`.

Every string from the tree is escaped here; only tags this module writes reach clients.
Mentions of Matrix users become pills (a matrix.to link, listed in `m.mentions` too);
links keep only safe schemes. A message's actions are shown under it as their text forms
("✅ Ci sono — !partecipo 4 sì"), so that every action can also be typed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from bot.messages import (
    Action,
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

HTML_FORMAT = "org.matrix.custom.html"
LINK_SCHEMES = frozenset({"http", "https", "mailto", "matrix"})
USER_ID = re.compile(r"^@[^\s:]{1,255}:[A-Za-z0-9.\-:\[\]]{1,255}$")
ACTION_SEPARATOR = " — "


@dataclass(frozen=True)
class Rendered:
    body: str
    html: str
    mentions: tuple[str, ...] = ()

    def __add__(self, other: Rendered) -> Rendered:
        """Two renderings one after the other, as separate paragraphs."""
        if not self.body:
            return other
        if not other.body:
            return self
        return Rendered(f"{self.body}\n\n{other.body}", self.html + other.html,
                        tuple(dict.fromkeys(self.mentions + other.mentions)))


def escape(text: str) -> str:
    """User text as HTML: escaped, line breaks kept."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def safe_url(url: str) -> bool:
    """A link that cannot surprise a reader (no `javascript:` and such)."""
    if not url or len(url) > 2000 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return False
    try:
        return urlsplit(url).scheme.lower() in LINK_SCHEMES
    except ValueError:
        return False


def matrix_user(mention: Mention) -> str | None:
    """The Matrix user id a mention names, if it names one."""
    if mention.platform not in (None, "matrix") or not mention.user_id:
        return None
    return mention.user_id if USER_ID.match(mention.user_id) else None


def pill_url(user_id: str) -> str:
    return "https://matrix.to/#/" + quote(user_id, safe="@:")


class _Html:
    """Renders inline nodes to HTML, collecting the users mentioned on the way."""

    def __init__(self) -> None:
        self.mentions: list[str] = []

    def inlines(self, nodes: Iterable[Inline]) -> str:
        return "".join(self.inline(node) for node in nodes)

    def inline(self, node: Inline) -> str:
        match node:
            case Text(text):
                return escape(text)
            case Code(text):
                return f"<code>{escape(text)}</code>"
            case Bold(children):
                return f"<strong>{self.inlines(children)}</strong>"
            case Italic(children):
                return f"<em>{self.inlines(children)}</em>"
            case Link(url, children):
                label = self.inlines(children)
                if not safe_url(url):
                    return label
                return f'<a href="{html.escape(url, quote=True)}">{label}</a>'
            case Mention(name):
                user_id = matrix_user(node)
                if user_id is None:
                    return escape(name)
                if user_id not in self.mentions:
                    self.mentions.append(user_id)
                return f'<a href="{html.escape(pill_url(user_id))}">{escape(name)}</a>'
        raise TypeError(node)


def render(text: RichText) -> Rendered:
    """Rich text as a plain body and HTML (paragraphs and bullet lists)."""
    out = _Html()
    parts: list[str] = []
    for block in text.blocks:
        if isinstance(block, Paragraph):
            parts.append(f"<p>{out.inlines(block.children)}</p>")
        elif isinstance(block, BulletList):
            items = "".join(f"<li>{out.inlines(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
    return Rendered(text.plain(), "".join(parts), tuple(out.mentions))


def action_line(action: Action) -> tuple[str, str]:
    """One action's text form as (plain, HTML): "✅ Ci sono — !partecipo 4 sì". The reaction
    that stands for it comes first, unless the label already shows it ("Sostengo 👍")."""
    label = action.label
    if action.emoji and action.emoji not in label:
        label = f"{action.emoji} {label}"
    if not action.command:
        return label, escape(label)
    plain = f"{label}{ACTION_SEPARATOR}{action.command}"
    return plain, f"{escape(label)}{ACTION_SEPARATOR}<code>{escape(action.command)}</code>"


def render_actions(actions: Iterable[Action]) -> Rendered:
    lines = [action_line(action) for action in actions]
    if not lines:
        return Rendered("", "")
    return Rendered("\n".join(p for p, _ in lines), f"<p>{'<br>'.join(h for _, h in lines)}</p>")


def render_message(text: RichText, actions: Iterable[Action] = ()) -> Rendered:
    return render(text) + render_actions(actions)


def split_blocks(text: RichText, limit: int) -> list[RichText]:
    """`text` cut between blocks into parts whose plain text fits in `limit` characters;
    a single block longer than that is cut into plain-text paragraphs."""
    parts: list[RichText] = []
    current: list[Paragraph | BulletList] = []
    size = 0
    for block in text.blocks:
        length = len(RichText((block,)).plain())
        if length > limit:
            if current:
                parts.append(RichText(tuple(current)))
                current, size = [], 0
            plain = RichText((block,)).plain()
            parts.extend(RichText((Paragraph((Text(plain[i:i + limit]),)),))
                         for i in range(0, len(plain), limit))
            continue
        if current and size + 2 + length > limit:
            parts.append(RichText(tuple(current)))
            current, size = [], 0
        current.append(block)
        size += length + (2 if size else 0)
    if current or not parts:
        parts.append(RichText(tuple(current)))
    return parts
