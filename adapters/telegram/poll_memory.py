"""Which chat and message each native poll the bot sent lives in.

Telegram's `poll_answer` names only the poll and the voter, not the chat: the adapter
remembers, through the core's adapter state, where each of its polls was posted, so that an
answer becomes an event of that chat carrying the poll's message id (the id the core keeps
in `posted_messages`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from adapters.base import AdapterStateStore

PREFIX = "poll:"


@dataclass(frozen=True)
class SentPoll:
    chat_id: int
    message_id: int
    private: bool = False


class PollMemory:
    def __init__(self, state: AdapterStateStore) -> None:
        self.state = state

    async def remember(self, poll_id: str, poll: SentPoll) -> None:
        value = {"chat": poll.chat_id, "message": poll.message_id, "private": poll.private}
        await self.state.set(PREFIX + poll_id, json.dumps(value))

    async def find(self, poll_id: str) -> SentPoll | None:
        raw = await self.state.get(PREFIX + poll_id[:100])
        if raw is None:
            return None
        value = json.loads(raw)
        return SentPoll(int(value["chat"]), int(value["message"]), bool(value["private"]))
