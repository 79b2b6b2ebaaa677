"""An adapter that keeps what it is asked to send, for tests of the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from adapters.base import (
    Adapter,
    Capabilities,
    CoreHandle,
    Delivered,
    DeliveryError,
    Outgoing,
)


@dataclass
class Sent:
    item: Outgoing
    message_id: str

    @property
    def text(self) -> str:
        return self.item.message.text.plain()


@dataclass
class MemoryAdapter(Adapter):
    platform: str = "memory"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        buttons=True, edits=True, native_polls=True, files=True, images=True,
        direct_messages=True))
    sent: list[Sent] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)
    core: CoreHandle | None = None
    _ids: count = field(default_factory=lambda: count(1))

    async def start(self, core: CoreHandle) -> None:
        self.core = core

    async def stop(self) -> None:
        self.core = None

    def fail_next(self, *errors: DeliveryError) -> None:
        """The next deliveries raise these, in order (then deliveries succeed again)."""
        self.failures.extend(errors)

    async def deliver(self, item: Outgoing) -> Delivered:
        if self.failures:
            raise self.failures.pop(0)
        message_id = item.edit_of or str(next(self._ids))
        self.sent.append(Sent(item, message_id))
        return Delivered(message_id=message_id, chat_id=item.destination.chat_id)

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [s.text for s in self.sent
                if chat_id is None or s.item.destination.chat_id == chat_id]
