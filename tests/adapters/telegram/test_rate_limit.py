"""The Telegram rate limiter: a sliding window overall, groups apart, 429 waited out a set
number of times. Nothing here measures time; the windows are long enough that "waits" is
unambiguous."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.error import RetryAfter

from adapters.telegram import rate_limit
from adapters.telegram.rate_limit import SlidingWindow, TelegramRateLimiter


async def enter(window: SlidingWindow) -> None:
    async with window.place():
        pass


async def test_a_window_lets_its_limit_through_then_waits() -> None:
    window = SlidingWindow(limit=2, period=60)
    await enter(window)
    await enter(window)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(enter(window), timeout=0.05)


async def test_a_window_frees_a_place_when_its_oldest_answer_leaves() -> None:
    window = SlidingWindow(limit=1, period=0.01)
    for _ in range(3):
        await asyncio.wait_for(enter(window), timeout=5)


async def test_a_request_in_flight_holds_its_place_until_answered() -> None:
    window = SlidingWindow(limit=1, period=0.001)
    async with window.place():
        waiting = asyncio.ensure_future(enter(window))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # the place is in flight, whatever the period
    await asyncio.wait_for(waiting, timeout=5)


def limiter(retries: int = 1) -> TelegramRateLimiter:
    return TelegramRateLimiter(per_second=30, per_group_minute=20, max_retries=retries)


async def test_groups_have_buckets_of_their_own_private_chats_none() -> None:
    limits = limiter()
    assert limits._group(42) is None
    assert limits._group("42") is None
    group = limits._group(-1001)
    assert group is not None and group is limits._group("-1001")
    assert limits._group("@piazza") is not None
    assert limits._group(-1002) is not group


async def test_idle_group_buckets_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit, "MAX_IDLE_GROUPS", 3)
    limits = limiter()
    for chat in (-1, -2, -3):
        limits._group(chat)
    busy = limits._group(-1)
    assert busy is not None
    await busy.acquire()
    limits._group(-4)
    assert set(limits._groups) == {-1, -4}


class Flaky:
    """A Bot API call answering 429 `failures` times, then ok."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise RetryAfter(0)
        return {"ok": True}


async def request(limits: TelegramRateLimiter, call: Flaky, chat_id: int = -1001,
                  retries: int | None = None) -> Any:
    return await limits.process_request(call, (), {}, "sendMessage", {"chat_id": chat_id},
                                        retries)


async def test_a_429_is_waited_out_max_retries_times() -> None:
    call = Flaky(failures=1)
    assert await request(limiter(retries=1), call) == {"ok": True}
    assert call.calls == 2


async def test_past_max_retries_the_429_goes_to_the_caller() -> None:
    call = Flaky(failures=2)
    with pytest.raises(RetryAfter):
        await request(limiter(retries=1), call)
    assert call.calls == 2


async def test_a_call_may_ask_for_its_own_number_of_retries() -> None:
    call = Flaky(failures=1)
    with pytest.raises(RetryAfter):
        await request(limiter(retries=3), call, retries=0)
    assert call.calls == 1
