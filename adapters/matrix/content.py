"""Event contents for messages: text, edits (`m.replace`), replies, threads, reactions.

Pure functions over dicts, so that every shape is tested without a server.
"""

from __future__ import annotations

from typing import Any

from adapters.matrix.render import HTML_FORMAT, Rendered

Content = dict[str, Any]


def text_content(rendered: Rendered, *, notice: bool = False) -> Content:
    """`m.text` (or `m.notice`, which push rules do not notify: for silent messages)."""
    return {
        "msgtype": "m.notice" if notice else "m.text",
        "body": rendered.body,
        "format": HTML_FORMAT,
        "formatted_body": rendered.html,
        "m.mentions": {"user_ids": list(rendered.mentions)} if rendered.mentions else {},
    }


def edit_content(new: Content, original_id: str) -> Content:
    """An edit as the spec wants it: the new content in `m.new_content`, and a plain
    fallback marked with `* ` for clients that do not show edits (without the HTML, which
    would make a long card's edit too big an event). Nobody is mentioned again."""
    fallback = {key: value for key, value in new.items()
                if key not in ("m.relates_to", "format", "formatted_body")}
    if "body" in fallback:
        fallback["body"] = f"* {fallback['body']}"
    return {
        **fallback,
        "m.mentions": {},
        "m.new_content": {key: value for key, value in new.items() if key != "m.relates_to"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_id},
    }


def relate(content: Content, *, reply_to: str | None = None,
           thread_id: str | None = None) -> Content:
    """Add a reply (`m.in_reply_to`) and/or thread (`m.thread`) relation to `content`."""
    if thread_id:
        content["m.relates_to"] = {
            "rel_type": "m.thread", "event_id": thread_id,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread_id},
        }
    elif reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def reaction_content(event_id: str, key: str) -> Content:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def file_content(*, msgtype: str, filename: str, info: dict[str, Any], source: Content,
                 caption: Rendered | None) -> Content:
    """`m.file` or `m.image`; `source` is `{"url": mxc}` or, encrypted, `{"file": {...}}`.
    A caption goes in `body` with the file name in `filename` (Matrix 1.10)."""
    content: Content = {"msgtype": msgtype, "body": filename, "filename": filename,
                        "info": info, **source}
    if caption and caption.body:
        content.update(body=caption.body, format=HTML_FORMAT, formatted_body=caption.html)
        if caption.mentions:
            content["m.mentions"] = {"user_ids": list(caption.mentions)}
    return content
