"""What adapters hand to the core: one frozen dataclass per kind of inbound event.

Every event names its platform, chat and sender, and carries the platform's own event id,
which storage records so that a redelivered update is processed once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChatRef:
    """A chat as the platform knows it."""

    platform: str
    external_id: str
    is_private: bool = False
    title: str | None = None
    thread_id: str | None = None  # a forum topic (Telegram) or thread the event came from


@dataclass(frozen=True)
class Sender:
    """Who acted, and what the platform itself says of their rights in this chat."""

    user_id: str
    display_name: str
    username: str | None = None
    is_chat_admin: bool = False


@dataclass(frozen=True)
class Event:
    platform: str
    event_id: str
    chat: ChatRef
    sender: Sender


@dataclass(frozen=True)
class CommandEvent(Event):
    """`/name args`, `/name@bot args` or `!name args`; `name` is lower-case, without prefix."""

    name: str = ""
    args: str = ""
    message_id: str | None = None  # the platform id of the command message, to reply to it
    # People the command points at, by platform user id, where the platform says so: those
    # mentioned (Telegram text mentions, Matrix pills), and the author of the message the
    # command replies to. They name people who have no @username.
    mentions: tuple[str, ...] = ()
    reply_to_user: str | None = None


@dataclass(frozen=True)
class TextEvent(Event):
    """Plain text: only used when a guided conversation waits for the sender's answer."""

    text: str = ""
    message_id: str | None = None


@dataclass(frozen=True)
class ActionEvent(Event):
    """A button press or a reaction.

    Buttons carry the server's opaque `token`. Reactions name the message they were put on
    (`message_id`, the platform's id) and their `key` (an emoji); the core resolves them.
    `undo` is a reaction being removed.
    """

    token: str | None = None
    message_id: str | None = None
    key: str | None = None
    undo: bool = False


@dataclass(frozen=True)
class PollAnswerEvent(Event):
    """An answer to a native poll: the chosen option indexes (empty: answer withdrawn).

    `chat` is the chat the poll was posted in; `message_id` the platform id of the poll's
    message where the adapter knows it — the id `posted_messages` holds for the poll's slot.
    """

    poll_id: str = ""
    options: tuple[int, ...] = ()
    message_id: str | None = None


@dataclass(frozen=True)
class MembershipEvent(Event):
    """The bot was added to (`joined`) or removed from a chat."""

    joined: bool = True


@dataclass(frozen=True)
class ChatMovedEvent(Event):
    """The chat has a new id on its platform (a Telegram group upgraded to a supergroup):
    the same chat, its territory and everything else going with it."""

    new_external_id: str = ""


@dataclass(frozen=True)
class ActionOutcome:
    """What the core answers to an action, for the platform's own feedback (a toast)."""

    text: str
    ok: bool = True
