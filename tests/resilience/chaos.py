"""Feeding the burst to the platform while killing the bot, and waiting for it to settle.

The burst is cut into `kills + 1` pieces of random size. Each round hands one piece to the
platform and then kills the bot after a random delay — mostly while it is running (handling
updates, delivering, running jobs), sometimes while it is still starting (loading, calling
getMe / setMyCommands, rebuilding the scheduler) — and starts it again. All the randomness
comes from the caller's seeded `random.Random`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from tests.resilience.platform import RecordingEmulator
from tests.resilience.process import BotProcess
from tests.resilience.workload import Action

STARTUP_KILL_SHARE = 0.2  # of the kills, about this many hit a bot still starting
RUNNING_DELAY = (0.0, 2.5)  # seconds from "up" (or from the piece handed over) to the kill
STARTUP_DELAY = (0.0, 1.5)  # seconds from the launch to the kill
INJECT_GAP = 0.02  # at most this long between two members' updates in a piece
SETTLE_EVERY = 0.25


@dataclass
class Rounds:
    while_running: int = 0  # killed at a random moment after it was up
    while_starting: int = 0  # killed within STARTUP_DELAY of its launch
    with_updates_pending: int = 0  # killed while the platform held unconfirmed updates


def pieces(actions: Sequence[Action], count: int, rng: random.Random) -> list[list[Action]]:
    """`actions` in `count` consecutive pieces of random sizes (some may be empty)."""
    cuts = sorted(rng.randint(0, len(actions)) for _ in range(count - 1))
    bounds = [0, *cuts, len(actions)]
    return [list(actions[a:b]) for a, b in pairwise(bounds)]


async def hand_over(emu: RecordingEmulator, piece: Sequence[Action], rng: random.Random) -> None:
    for action in piece:
        action.inject(emu)
        await asyncio.sleep(rng.uniform(0, INJECT_GAP))


async def kill_during(bot: BotProcess, emu: RecordingEmulator, actions: Sequence[Action],
                      kills: int, rng: random.Random) -> Rounds:
    """Hand `actions` over while killing the bot `kills` times; the bot is up at the end."""
    rounds = Rounds()
    parts = pieces(actions, kills + 1, rng)
    for index, piece in enumerate(parts[:-1]):
        if index == 0 or rng.random() >= STARTUP_KILL_SHARE:  # the first time it is up
            await bot.wait_up()
            await hand_over(emu, piece, rng)
            await asyncio.sleep(rng.uniform(*RUNNING_DELAY))
            rounds.while_running += 1
        else:
            await hand_over(emu, piece, rng)
            await asyncio.sleep(rng.uniform(*STARTUP_DELAY))
            rounds.while_starting += 1
        rounds.with_updates_pending += bool(emu.pending_updates)
        await bot.kill()
        await bot.launch()
    await bot.wait_up()
    await hand_over(emu, parts[-1], rng)
    return rounds


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Wait until `check()` holds, looking every SETTLE_EVERY seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within}s")
        await asyncio.sleep(SETTLE_EVERY)


async def settled(bot: BotProcess, emu: RecordingEmulator, within: float,
                  also: Callable[[], bool] = lambda: True) -> None:
    """Wait until the platform holds no update for the bot, the outbox is empty and `also()`
    holds, twice in a row (a job or a late commit may still add a message in between)."""
    deadline = time.monotonic() + within
    calm = 0
    while time.monotonic() < deadline:
        report = await bot.health()
        done = (report is not None and report.get("outbox_depth") == 0
                and not emu.pending_updates and also())
        calm = calm + 1 if done else 0
        if calm >= 2:
            return
        await asyncio.sleep(SETTLE_EVERY)
    raise TimeoutError(f"not settled within {within}s: {len(emu.pending_updates)} updates "
                       f"pending, health {await bot.health()}")
