"""The Bot API emulator, recording when each call arrived and what it accepted, and able to
be down.

`RecordingEmulator` adds to `tests.adapters.telegram.emulator.BotAPIEmulator`:

- `arrivals`: every call that reached a method (failures injected by `fail_next` included),
  with the moment it arrived — to check that a 429's `retry_after` was waited out;
- `accepted`: every call the platform carried out, with its result and moment — what the
  members really saw, to compare with the bot's outbox;
- an outage gate (`outage`): `"502"` answers every call with the HTML page of Telegram's
  front end; `"timeout"` holds every call unanswered until the outage ends (the bot gives
  up waiting first, if the outage is long enough), then answers 504, having done nothing.
  A refused connection is the `PlatformLink`'s part (`tests/resilience/link.py`);
- `arm_outage(mode)`: the outage starts right after the next getUpdates that hands the bot
  something — the bot then has updates to handle and nowhere to send its answers.

It hooks into two of the emulator's internals (`_raise_injected_failure`, called once per
call that reached a method, and the `_methods` table); both are small and stable.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.adapters.telegram.emulator import ApiError, BotAPIEmulator
from tests.adapters.telegram.emulator_objects import JSONDict

OUTAGE_MODES = ("502", "timeout")
HOLD_AT_MOST = 600.0  # a held call is answered (504) at the latest after this long
SEND_METHODS = ("sendMessage", "sendPoll", "sendDocument", "sendPhoto")


@dataclass(frozen=True)
class Call:
    at: float  # time.monotonic() in the test process
    method: str
    params: JSONDict
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw not in (None, "") else None


class RecordingEmulator(BotAPIEmulator):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[Call] = []
        self.accepted: list[Call] = []
        self.outage: str | None = None
        self._armed: str | None = None
        self._back = asyncio.Event()
        self._methods = {name: (canonical, self._recorded(canonical, handler))
                         for name, (canonical, handler) in self._methods.items()}

    # --- recording -------------------------------------------------------------------------

    def _raise_injected_failure(self, method: str, params: JSONDict) -> None:
        self.arrivals.append(Call(time.monotonic(), method, params))
        super()._raise_injected_failure(method, params)

    def _recorded(self, method: str, handler: Callable[[JSONDict], Awaitable[Any]]
                  ) -> Callable[[JSONDict], Awaitable[Any]]:
        async def run(params: JSONDict) -> Any:
            result = await handler(params)
            self.accepted.append(Call(time.monotonic(), method, params, result))
            if method == "getUpdates" and result and self._armed:
                self.begin_outage(self._armed)
            return result
        return run

    def sends(self) -> list[Call]:
        """Accepted calls that put a new message in a chat, in order."""
        return [call for call in self.accepted if call.method in SEND_METHODS]

    def arrivals_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [call for call in self.arrivals if call.method == method
                and (chat_id is None or call.chat_id == chat_id)]

    # --- outages ---------------------------------------------------------------------------

    def arm_outage(self, mode: str) -> None:
        assert mode in OUTAGE_MODES, mode
        self._armed = mode

    def begin_outage(self, mode: str) -> None:
        assert mode in OUTAGE_MODES, mode
        self._armed = None
        self.outage = mode
        self._back.clear()

    def end_outage(self) -> None:
        self.outage = None
        self._back.set()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if self.outage == "timeout":
            # Held before anything is done: the bot gives up waiting; nothing was sent.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._back.wait(), HOLD_AT_MOST)
            return ApiError(504, "Gateway Timeout", json_body=False).response()
        if self.outage == "502":
            return ApiError(502, "Bad Gateway", json_body=False).response()
        return await super()._handle_api(request)
