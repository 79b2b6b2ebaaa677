"""Telegram's flood limits kept on the bot's side, counted the way Telegram counts them.

Telegram allows about 30 messages a second overall and 20 a minute in one group; beyond,
it answers 429 with `retry_after`. PTB's `AIORateLimiter` keeps to them with leaky buckets
(aiolimiter): a full bucket lets a burst through on top of the steady rate, so a digest sent
to a thousand groups starts with nearly 60 messages in its first second and provokes 429s —
each of which holds every request back for `retry_after`. A bucket of one message avoids the
burst, but went at half the rate in `bench/fanout.py`.

Here the overall limit is a sliding window, as Telegram's is: up to 30 at once, then each
request waits until the oldest in the window has left it — counted from its answer, so that
requests bunched up on the way cannot arrive closer together than the window allows (see
`SlidingWindow`). Each group keeps PTB's leaky bucket (20 at once, then one every 3 s), as
before. A 429 is still possible (Telegram's own bookkeeping is not ours): it is waited out
in place, every request held back meanwhile, up to `max_retries` times; then the error goes
to the caller (the outbox retries later).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from adapters.telegram.errors import retry_after_seconds

RETRY_PAUSE = 0.1  # seconds waited on top of a 429's retry_after, as PTB does
MAX_IDLE_GROUPS = 512  # group buckets kept before idle ones are dropped
GROUP_PERIOD = 60.0

JSONDict = dict[str, Any]
Request = Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]]


class SlidingWindow:
    """At most `limit` requests in any `period` seconds, each counted from its answer.

    A request holds a place from the moment it leaves until `period` after its answer came
    back. Telegram counts a request somewhere in between, so however the requests bunch up
    on the way (a slow network, a process kept off the CPU), no `limit` + 1 of them can be
    counted by Telegram within `period`. Waiters are served in turn."""

    def __init__(self, limit: float, period: float) -> None:
        self.limit = limit
        self.period = period
        self._answered: deque[float] = deque()  # when answers came back, oldest first
        self._in_flight = 0
        self._turn = asyncio.Lock()  # first come, first served
        self._landed = asyncio.Event()  # an answer came back

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        async with self._turn:
            await self._room()
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._answered.append(asyncio.get_running_loop().time())
            self._landed.set()

    async def _room(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._answered and self._answered[0] <= now - self.period:
                self._answered.popleft()
            if len(self._answered) + self._in_flight < self.limit:
                return
            if self._answered:  # nothing frees a place before the oldest answer leaves
                await asyncio.sleep(self._answered[0] + self.period - now)
            else:  # every place is in flight: wait for an answer to know when one frees
                self._landed.clear()
                await self._landed.wait()


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Requests to a chat pass the chat's group bucket (groups only), then the overall window.
    `rate_limit_args` of a call, if given, is its number of retries after a 429."""

    def __init__(self, per_second: float, per_group_minute: float, max_retries: int) -> None:
        self._overall = SlidingWindow(per_second, 1.0)
        self._group_limit = per_group_minute
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._open = asyncio.Event()  # cleared while a 429 is waited out
        self._open.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _group(self, chat_id: object) -> AsyncLimiter | None:
        """The bucket of a group (negative ids, or @usernames); None for a private chat."""
        key: int | str
        if isinstance(chat_id, str) and not chat_id.lstrip("-").isdecimal():
            key = chat_id
        else:
            key = int(chat_id)  # type: ignore[call-overload]
            if key > 0:
                return None
        bucket = self._groups.get(key)
        if bucket is None:
            if len(self._groups) >= MAX_IDLE_GROUPS:
                for idle in [k for k, b in self._groups.items() if b.has_capacity(b.max_rate)]:
                    del self._groups[idle]
            bucket = self._groups[key] = AsyncLimiter(self._group_limit, GROUP_PERIOD)
        return bucket

    async def process_request(self, callback: Request, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> bool | JSONDict | list[JSONDict]:
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        chat_id = data.get("chat_id")
        attempt = 0
        while True:
            try:
                return await self._limited(chat_id, callback, args, kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                attempt += 1
                self._open.clear()
                try:
                    await asyncio.sleep(retry_after_seconds(exc) + RETRY_PAUSE)
                finally:
                    self._open.set()

    async def _limited(self, chat_id: object, callback: Request, args: Any,
                       kwargs: dict[str, Any]) -> bool | JSONDict | list[JSONDict]:
        """One attempt: a request to a chat within the group's bucket and the overall window;
        any other (getMe, getUpdates...) as it is."""
        if chat_id is None:
            await self._open.wait()
            return await callback(*args, **kwargs)
        group = self._group(chat_id)
        async with group or contextlib.nullcontext(), self._overall.place():
            await self._open.wait()
            return await callback(*args, **kwargs)
