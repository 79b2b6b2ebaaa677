"""Matrix answers and transport failures, as the core's delivery errors.

- `M_LIMIT_EXCEEDED` (429): `RetryLater` after the server's `retry_after_ms` — nio is
  configured not to sleep on it itself, so the outbox does the waiting;
- network errors, time-outs, 5xx and unknown answers: `RetryLater` with the outbox's backoff;
- `M_FORBIDDEN`: `Unreachable` when the bot is no longer in the room (the core then marks
  the chat inactive), else `Rejected` (the room's power levels forbid this event);
- any other 4xx: `Rejected`.
"""

from __future__ import annotations

import asyncio

import aiohttp
import nio

from adapters.base import DeliveryError, Rejected, RetryLater, Unreachable

TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError, TimeoutError, asyncio.TimeoutError, ConnectionError)


def http_status(response: nio.ErrorResponse) -> int | None:
    transport = getattr(response, "transport_response", None)
    return getattr(transport, "status", None)


def is_rate_limited(response: nio.ErrorResponse) -> bool:
    return response.status_code == "M_LIMIT_EXCEEDED" or http_status(response) == 429


def retry_after(response: nio.ErrorResponse) -> float | None:
    ms = getattr(response, "retry_after_ms", None)
    return ms / 1000 if isinstance(ms, int | float) and ms >= 0 else None


def describe(response: nio.ErrorResponse) -> str:
    """The error code and the server's message (which never holds a secret)."""
    status = http_status(response)
    code = response.status_code or "no error code"
    return f"{code} (HTTP {status}): {response.message or ''}".strip()


def delivery_error(response: nio.ErrorResponse, *, still_in_room: bool = True) -> DeliveryError:
    """The delivery error for a refused request; `still_in_room` tells M_FORBIDDEN apart."""
    text = describe(response)
    if is_rate_limited(response):
        return RetryLater(text, retry_after=retry_after(response))
    status = http_status(response)
    if response.status_code == "M_FORBIDDEN" and not still_in_room:
        return Unreachable(text)
    if status is None or status >= 500 or status in (401, 408):
        # 401: the token was refused (soft logout, expired token); an operator must act, and
        # the message waits for them.
        return RetryLater(text)
    return Rejected(text)
