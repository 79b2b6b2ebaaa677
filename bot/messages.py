"""What the core sends: rich text as a tiny tree, actions, files and native polls.

The tree is platform-neutral; each adapter renders it (Telegram HTML, Matrix HTML with a
plain body, plain text in the terminal) and escapes user text there and only there.
Messages round-trip through JSON because they wait in the outbox table.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Union

# --- inline nodes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Bold:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Italic:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Link:
    url: str
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Mention:
    """A person, by platform identity where known, so adapters can make a real mention."""

    name: str
    user_id: str | None = None
    platform: str | None = None


Inline = Union[Text, Bold, Italic, Code, Link, Mention]  # noqa: UP007 (used at runtime)

# --- blocks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class BulletList:
    items: tuple[tuple[Inline, ...], ...]


Block = Union[Paragraph, BulletList]  # noqa: UP007


@dataclass(frozen=True)
class RichText:
    blocks: tuple[Block, ...] = ()

    def __add__(self, other: RichText) -> RichText:
        return RichText(self.blocks + other.blocks)

    def plain(self) -> str:
        """The text without any formatting: what a screen reader or a log would show."""
        return "\n\n".join(_plain_block(b) for b in self.blocks)


def _plain_inline(node: Inline) -> str:
    match node:
        case Text(text) | Code(text):
            return text
        case Bold(children) | Italic(children):
            return "".join(_plain_inline(c) for c in children)
        case Link(url, children):
            label = "".join(_plain_inline(c) for c in children)
            return label if label == url else f"{label} ({url})"
        case Mention(name):
            return name
    raise TypeError(node)


def plain_inlines(nodes: tuple[Inline, ...]) -> str:
    return "".join(_plain_inline(n) for n in nodes)


def _plain_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return plain_inlines(block.children)
    return "\n".join(f"• {plain_inlines(item)}" for item in block.items)


def joined(parts: Iterable[Inline | str]) -> tuple[Inline, ...]:
    """`parts` as nodes, each run of plain text (strings and `Text` nodes) as one `Text`.

    Messages are built from pieces (a template's text between its placeholders, the
    values, separators), and every node is stored, sent and walked again with the message:
    a run of plain text needs only one."""
    nodes: list[Inline] = []
    run: list[str] = []
    for part in parts:
        if isinstance(part, str):
            run.append(part)
        elif type(part) is Text:
            run.append(part.text)
        else:
            if run:
                nodes.append(Text("".join(run)))
                run = []
            nodes.append(part)
    if run:
        nodes.append(Text("".join(run)))
    return tuple(nodes)


def join(parts: list[tuple[Inline, ...]], separator: str = " ") -> tuple[Inline, ...]:
    """Sentences (inline runs) as one run, with `separator` between them."""
    out: list[Inline | str] = []
    for index, part in enumerate(parts):
        if index:
            out.append(separator)
        out.extend(part)
    return joined(out)


def paragraph(*parts: Inline | str) -> Paragraph:
    return Paragraph(joined(parts))


def rich(*blocks: Block | tuple[Inline, ...] | str) -> RichText:
    """Build rich text from blocks, inline tuples (a paragraph) or plain strings."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, str):
            out.append(paragraph(b))
        elif isinstance(b, tuple):
            out.append(Paragraph(b))
        else:
            out.append(b)
    return RichText(tuple(out))


# --- actions and outgoing messages -----------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button (or reaction) that carries only an opaque server-side token.

    `command` is the text form of the same action (`/rsvp 42 yes`), shown where the
    platform has no buttons; `emoji` is the reaction that stands for it on Matrix.
    """

    label: str
    token: str
    command: str | None = None
    emoji: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime_type: str
    data: bytes
    is_image: bool = False


@dataclass(frozen=True)
class PollSpec:
    """A native poll: question and options; `multiple` answers allowed, `anonymous` votes."""

    question: str
    options: tuple[str, ...]
    multiple: bool = True
    anonymous: bool = False


@dataclass(frozen=True)
class OutMessage:
    """One message for one chat. `key` makes later messages with the same key edits of it."""

    text: RichText = field(default_factory=RichText)
    actions: tuple[tuple[Action, ...], ...] = ()
    key: str | None = None
    attachment: Attachment | None = None
    poll: PollSpec | None = None
    close_poll: bool = False  # with `key`: close the native poll sent under that key
    reply_to: str | None = None  # platform message id of the message this answers
    silent: bool = False


# --- JSON round trip (the outbox stores messages as JSON) --------------------------------

_INLINE_TYPES: dict[str, type] = {
    "text": Text, "bold": Bold, "italic": Italic, "code": Code, "link": Link, "mention": Mention,
}
_INLINE_NAMES = {cls: name for name, cls in _INLINE_TYPES.items()}


def _inline_to_json(node: Inline) -> dict[str, Any]:
    data: dict[str, Any] = {"t": _INLINE_NAMES[type(node)]}
    for name in node.__dataclass_fields__:
        value = getattr(node, name)
        data[name] = [_inline_to_json(c) for c in value] if name == "children" else value
    return data


def _inline_from_json(data: dict[str, Any]) -> Inline:
    cls = _INLINE_TYPES[data["t"]]
    kwargs = {k: v for k, v in data.items() if k != "t"}
    if "children" in kwargs:
        kwargs["children"] = tuple(_inline_from_json(c) for c in kwargs["children"])
    return cls(**kwargs)


def richtext_to_json(text: RichText) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in text.blocks:
        if isinstance(block, Paragraph):
            out.append({"p": [_inline_to_json(n) for n in block.children]})
        else:
            out.append({"ul": [[_inline_to_json(n) for n in item] for item in block.items]})
    return out


def richtext_from_json(data: list[dict[str, Any]]) -> RichText:
    blocks: list[Block] = []
    for block in data:
        if "p" in block:
            blocks.append(Paragraph(tuple(_inline_from_json(n) for n in block["p"])))
        else:
            items = tuple(tuple(_inline_from_json(n) for n in item) for item in block["ul"])
            blocks.append(BulletList(items))
    return RichText(tuple(blocks))


def message_to_json(msg: OutMessage) -> dict[str, Any]:
    data: dict[str, Any] = {"text": richtext_to_json(msg.text)}
    if msg.actions:
        data["actions"] = [
            [{"label": a.label, "token": a.token, "command": a.command, "emoji": a.emoji}
             for a in row]
            for row in msg.actions
        ]
    if msg.attachment:
        a = msg.attachment
        data["attachment"] = {
            "filename": a.filename, "mime_type": a.mime_type, "is_image": a.is_image,
            "data": base64.b64encode(a.data).decode("ascii"),
        }
    if msg.poll:
        p = msg.poll
        data["poll"] = {"question": p.question, "options": list(p.options),
                        "multiple": p.multiple, "anonymous": p.anonymous}
    for name in ("key", "reply_to"):
        if getattr(msg, name) is not None:
            data[name] = getattr(msg, name)
    for name in ("close_poll", "silent"):
        if getattr(msg, name):
            data[name] = True
    return data


def message_from_json(data: dict[str, Any]) -> OutMessage:
    attachment = None
    if a := data.get("attachment"):
        attachment = Attachment(a["filename"], a["mime_type"], base64.b64decode(a["data"]),
                                a.get("is_image", False))
    poll = None
    if p := data.get("poll"):
        poll = PollSpec(p["question"], tuple(p["options"]), p["multiple"], p["anonymous"])
    return OutMessage(
        text=richtext_from_json(data.get("text", [])),
        actions=tuple(tuple(Action(**a) for a in row) for row in data.get("actions", [])),
        key=data.get("key"),
        attachment=attachment,
        poll=poll,
        close_poll=data.get("close_poll", False),
        reply_to=data.get("reply_to"),
        silent=data.get("silent", False),
    )
