"""A per-member limit on commands, so one person cannot flood a group through the bot."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta
from enum import Enum

WINDOW = timedelta(minutes=1)


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first command over the limit: answered once, calmly
    DROP = "drop"  # further ones in the same window: ignored


class CommandLimiter:
    """At most `per_minute` commands per member in any sliding minute (in this process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[int, deque[datetime]] = defaultdict(deque)
        self._warned: dict[int, datetime] = {}

    def check(self, member_id: int, now: datetime) -> Verdict:
        seen = self._seen[member_id]
        while seen and now - seen[0] >= WINDOW:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            self._warned.pop(member_id, None)
            return Verdict.ALLOW
        warned = self._warned.get(member_id)
        if warned is not None and now - warned < WINDOW:
            return Verdict.DROP
        self._warned[member_id] = now
        return Verdict.WARN
