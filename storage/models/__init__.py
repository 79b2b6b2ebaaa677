"""The tables: the core's here, each feature's in a module of its own beside it."""

from storage.models.core import (
    ActionToken,
    AdapterState,
    Base,
    Chat,
    Conversation,
    Identity,
    Member,
    OutboxMessage,
    PostedMessage,
    ProcessedEvent,
    Role,
    Territory,
    UTCDateTime,
)

__all__ = [
    "ActionToken", "AdapterState", "Base", "Chat", "Conversation", "Identity", "Member",
    "OutboxMessage", "PostedMessage", "ProcessedEvent", "Role", "Territory", "UTCDateTime",
]
