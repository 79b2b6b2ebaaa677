"""Native polls (MSC3381): start and end contents, and reading a member's response.

The bot sends `m.poll.start` carrying both the stable `m.poll.start` block and the
`org.matrix.msc3381.poll.start` block that Element and other clients still read; responses
come as `m.poll.response` or `org.matrix.msc3381.poll.response`. Answer ids are the option
numbers ("1", "2", …), so a response maps to option indexes without any lookup.

`PollSpec.anonymous` maps to the *undisclosed* kind. MSC3381 has no anonymous polls (every
response is a room event with its sender); "undisclosed" only hides the results until the
poll ends, which is the nearest a Matrix client can show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.matrix.render import Rendered
from bot.messages import PollSpec

START = "m.poll.start"
UNSTABLE_START = "org.matrix.msc3381.poll.start"
RESPONSE_TYPES = ("m.poll.response", "org.matrix.msc3381.poll.response")
END = "m.poll.end"
UNSTABLE_END = "org.matrix.msc3381.poll.end"
UNSTABLE_TEXT = "org.matrix.msc1767.text"
_ANSWER_ID = re.compile(r"^[1-9][0-9]{0,2}$")


def answer_id(index: int) -> str:
    return str(index + 1)


def max_selections(poll: PollSpec) -> int:
    return max(1, len(poll.options)) if poll.multiple else 1


def fallback_text(poll: PollSpec) -> str:
    """The poll as text, for clients that do not show polls."""
    return "\n".join([poll.question, *(f"{i}. {o}" for i, o in enumerate(poll.options, 1))])


def start_content(poll: PollSpec, intro: Rendered | None = None) -> dict[str, Any]:
    """`m.poll.start` content (stable and unstable blocks), with a text fallback that begins
    with `intro` (the message's own text and the text forms of voting) when there is one."""
    limit = max_selections(poll)
    text = fallback_text(poll)
    if intro and intro.body:
        text = f"{intro.body}\n\n{text}"
    return {
        START: {
            "question": {"m.text": poll.question},
            "kind": "m.poll.undisclosed" if poll.anonymous else "m.poll.disclosed",
            "max_selections": limit,
            "answers": [{"id": answer_id(i), "m.text": option}
                        for i, option in enumerate(poll.options)],
        },
        UNSTABLE_START: {
            "question": {UNSTABLE_TEXT: poll.question, "body": poll.question},
            "kind": ("org.matrix.msc3381.poll.undisclosed" if poll.anonymous
                     else "org.matrix.msc3381.poll.disclosed"),
            "max_selections": limit,
            "answers": [{"id": answer_id(i), UNSTABLE_TEXT: option}
                        for i, option in enumerate(poll.options)],
        },
        "m.text": text,
        UNSTABLE_TEXT: text,
        "body": text,
    }


def end_content(start_id: str, text: str) -> dict[str, Any]:
    """`m.poll.end` content closing the poll `start_id`; `text` is the fallback."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
        END: {},
        UNSTABLE_END: {},
        "m.text": text,
        UNSTABLE_TEXT: text,
        "body": text,
    }


def responded_poll(content: Mapping[str, Any]) -> str | None:
    """The poll start event a response refers to."""
    relation = content.get("m.relates_to")
    if not isinstance(relation, Mapping) or relation.get("rel_type") != "m.reference":
        return None
    event_id = relation.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


def chosen_options(event_type: str, content: Mapping[str, Any], options: int,
                   limit: int) -> tuple[int, ...] | None:
    """The option indexes a response chooses; None if it is not a poll response.

    As MSC3381 says: the answers are cut to `limit`; one unknown answer spoils the vote (as
    if nothing was chosen); a repeated answer counts once. An empty tuple withdraws the vote.
    """
    if event_type not in RESPONSE_TYPES:
        return None
    block = content.get(event_type)
    answers: Any = block.get("answers") if isinstance(block, Mapping) else None
    if answers is None:
        answers = content.get("m.selections")
    if not isinstance(answers, list):
        return ()
    chosen: list[int] = []
    for answer in answers[:max(1, limit)]:
        if not isinstance(answer, str) or not _ANSWER_ID.match(answer):
            return ()
        index = int(answer) - 1
        if not 0 <= index < options:
            return ()
        if index not in chosen:
            chosen.append(index)
    return tuple(chosen)
