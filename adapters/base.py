"""The port every platform adapter implements, and what the core gives adapters in return.

An adapter translates platform updates into `bot.events` and hands them to `CoreHandle`,
and delivers `Outgoing` items the core's delivery loop gives it, reporting what the platform
assigned (message ids, poll ids). It never touches the database: what it must remember
goes through `AdapterStateStore`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.events import ActionOutcome, Event
from bot.messages import OutMessage


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do; the core asks these, it never guesses."""

    buttons: bool = False  # inline buttons under a message
    reactions: bool = False  # reactions work as buttons
    edits: bool = False  # a sent message can be edited in place
    native_polls: bool = False
    files: bool = False
    images: bool = False
    direct_messages: bool = False  # the bot can write to a person privately
    max_text: int = 4096  # longest text of one message


@dataclass(frozen=True)
class Destination:
    """Where an outgoing item goes: a chat (with an optional thread) or a person privately."""

    chat_id: str | None = None
    user_id: str | None = None
    thread_id: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One delivery: a message, to a destination; `edit_of` is the platform id to replace."""

    destination: Destination
    message: OutMessage
    edit_of: str | None = None
    edit_chat_id: str | None = None  # the platform chat the edited message lives in
    # The same at every attempt at this delivery, and never at another one: a platform that
    # deduplicates sends (Matrix transaction ids) makes a resend after a crash a no-op.
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Delivered:
    """The platform accepted the item: its message id, and the chat it went to."""

    message_id: str
    chat_id: str | None = None


class DeliveryError(Exception):
    """The platform did not accept an item."""


class RetryLater(DeliveryError):
    """Try again later (network down, 5xx, rate limited for `retry_after` seconds)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Moved(DeliveryError):
    """The chat has a new id (a Telegram group upgraded to a supergroup): send there."""

    def __init__(self, reason: str, new_chat_id: str) -> None:
        super().__init__(reason)
        self.new_chat_id = new_chat_id


class Rejected(DeliveryError):
    """The platform refused the item for good (400): do not retry it."""


class Unreachable(DeliveryError):
    """The destination cannot be written to (bot removed, blocked, user never started it)."""


class AdapterStateStore(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str) -> None: ...


class CoreHandle(Protocol):
    """The core as an adapter sees it."""

    state: AdapterStateStore

    async def handle(self, event: Event) -> ActionOutcome | None:
        """Process one event (once, even if delivered again); for actions, the outcome."""
        ...

    async def handle_many(self, events: Sequence[Event]) -> list[ActionOutcome | None]:
        """Process events that arrived together, in order and in one transaction (cheaper
        than one each); their outcomes in the same order."""
        ...

    def commands(self, locale: str) -> list[tuple[str, str]]:
        """The commands to show in a platform's command menu, as (name, description) in
        `locale` (names without prefix; staff-only commands left out)."""
        ...


class Adapter(ABC):
    platform: str
    capabilities: Capabilities

    @abstractmethod
    async def start(self, core: CoreHandle) -> None:
        """Connect and start receiving; returns once receiving runs in the background."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop receiving and disconnect."""

    @abstractmethod
    async def deliver(self, item: Outgoing) -> Delivered:
        """Send or edit one item. Raises a `DeliveryError` subclass when not accepted."""

    def healthy(self) -> bool:
        """Whether the adapter is connected to its platform (for /healthz)."""
        return True

    def command_hint(self, command: str) -> str:
        """How a text command is written on this platform (`/rsvp 4 yes` or `!rsvp 4 yes`)."""
        return f"/{command}"
