"""The platform down: the bot keeps running, queues its answers, and delivers them in order,
once each, when the platform is back; Telegram's flood control (429) is waited out.

One bot process lives through three outages in a row, each `PIAZZABOT_OUTAGE_SECONDS`
long (a few seconds by default, minutes in the dedicated run):

- *refused*: nothing listens any more (the link between bot and emulator is cut: new
  connections are refused, open ones break);
- *502*: Telegram's front end answers every call with its HTML "502 Bad Gateway" page;
- *timeout*: calls are left unanswered; the bot gives up waiting (its own timeouts), and
  nothing it asked is done.

Each outage starts right after the bot has taken a batch of members' updates: it handles
them, and its answers wait in the outbox. Members keep writing during the outage; those
updates wait on the platform. While it lasts, /healthz keeps answering, with a non-empty
outbox whose oldest message waits longer and longer; afterwards every update is handled,
every answer arrives, per chat in the order written, and none twice
(`tests/resilience/audit.py`).

Matrix's M_LIMIT_EXCEEDED is covered where the Matrix adapter is: it becomes `RetryLater`
with the server's `retry_after_ms` (tests/adapters/matrix/test_adapter_units.py, and against
a strict Synapse in test_adapter_delivery.py); the outbox's handling of `retry_after` is
the same code for every platform, tested here with Telegram's 429.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest

from tests.resilience.audit import audit
from tests.resilience.chaos import eventually, settled
from tests.resilience.conftest import OUTAGE_SECONDS, SEED
from tests.resilience.link import PlatformLink
from tests.resilience.platform import RecordingEmulator
from tests.resilience.process import BotProcess
from tests.resilience.snapshot import read
from tests.resilience.workload import Action, World, ask, choose_territory, propose

OUTAGES = ("refused", "502", "timeout")
MEMBERS, TERRITORIES = 12, 6  # two members a group: 20 messages a minute is enough
RECOVER_WITHIN = 150.0  # the outbox backs off to 60 s at most, polling to 30 s
SAMPLE_EVERY = 0.5
RETRY_AFTER = 3
GROUP_BURST = 20  # what PTB's rate limiter lets through to a group at once
GROUP_BACKLOG = 25

pytestmark = pytest.mark.timeout(300 + 3 * OUTAGE_SECONDS)


@dataclass
class Outage:
    kind: str
    samples: list[dict[str, Any] | None] = field(default_factory=list)
    began: float = 0.0
    ended: float = 0.0
    recovered: float = 0.0

    def figures(self) -> str:
        depth = max((s or {}).get("outbox_depth", 0) for s in self.samples)
        oldest = (self.samples[-1] or {}).get("outbox_oldest_seconds")
        return (f"{self.kind} {self.ended - self.began:.0f} s (outbox up to {depth}, oldest "
                f"waiting {oldest} s; all delivered {self.recovered - self.ended:.0f} s after)")


async def bind_groups(emu: RecordingEmulator, world: World) -> None:
    for place in world.places:
        await ask(emu, place.chat_id, place.admin, f"/territorio {place.name}",
                  lambda text, name=place.name: f"territorio {name}" in text)


async def go_through(kind: str, bot: BotProcess, emu: RecordingEmulator, link: PlatformLink,
                     before: list[Action], during: list[Action]) -> Outage:
    """`before` reaches the bot, then the platform goes down; `during` is written while it is
    down; the platform comes back and the bot catches up."""
    outage = Outage(kind)
    emu.arm_outage("502" if kind == "502" else "timeout")  # "refused": held until cut
    for action in before:
        action.inject(emu)
    await emu.wait_for(lambda: emu.outage is not None, 30)
    if kind == "refused":
        await link.down()
    outage.began = time.monotonic()
    for action in during:
        action.inject(emu)
    while time.monotonic() < outage.began + OUTAGE_SECONDS:
        outage.samples.append(await bot.health())
        await asyncio.sleep(SAMPLE_EVERY)
    outage.samples.append(await bot.health())
    await link.up()
    emu.end_outage()
    outage.ended = time.monotonic()
    await settled(bot, emu, RECOVER_WITHIN)
    outage.recovered = time.monotonic()
    return outage


def check_running(outage: Outage, emu: RecordingEmulator) -> None:
    """/healthz answered all along, with the answers waiting longer and longer; and the
    platform really took nothing meanwhile."""
    assert all(s is not None and s["status"] == 200 and s["ok"] for s in outage.samples), \
        outage.samples
    first, last = outage.samples[0], outage.samples[-1]
    assert first is not None and last is not None
    assert last["outbox_depth"] > 0
    assert last["outbox_oldest_seconds"] > first["outbox_oldest_seconds"]
    assert not [c for c in emu.sends() if outage.began < c.at < outage.ended]


async def test_platform_outages_lose_nothing_and_deliver_in_order(
        bot: BotProcess, emu: RecordingEmulator, link: PlatformLink, database_url: str,
        report: Callable[[str], None]) -> None:
    rng = random.Random(SEED)
    world = World.build(MEMBERS, TERRITORIES)
    world.populate(emu)
    await bot.start()
    await bind_groups(emu, world)
    actions: list[Action] = []
    outages = []
    for number, kind in enumerate(OUTAGES):
        before = [choose_territory(world.place_of(m), m) for m in world.members if number == 0]
        before += [propose(world.place_of(m), m, f"k{m}o{number}x{n}", rng)
                   for n in range(2) for m in world.members]
        during = [propose(world.place_of(m), m, f"k{m}o{number}late", rng)
                  for m in world.members]
        outages.append(await go_through(kind, bot, emu, link, before, during))
        check_running(outages[-1], emu)
        actions += before + during
    assert await bot.stop() == 0

    result = audit(actions, emu, await read(database_url), bot.kills, bot.launches)
    report(f"actions {result.actions}, acknowledged {result.acknowledged}, lost "
           f"{len(result.lost)}, duplicates {len(result.duplicates)}, resends "
           f"{len(result.resends)}; " + "; ".join(o.figures() for o in outages))
    assert not result.failures, "\n".join(result.failures)
    assert not result.resends


async def test_flood_control_is_waited_out(sqlite_bot: BotProcess, emu: RecordingEmulator,
                                           report: Callable[[str], None]) -> None:
    """A 429 with `retry_after`: the same call is not made again before that long, for a
    message (PTB waits once in place, then the outbox postpones it) and for getUpdates."""
    bot = sqlite_bot
    world = World.build(3, 1)
    world.populate(emu)
    place, member = world.places[0], world.members[1]
    await bot.start()
    await bind_groups(emu, world)
    polls = len(emu.arrivals_of("getUpdates"))  # the one waiting now has passed the check
    emu.fail_next("getUpdates", 429, retry_after=RETRY_AFTER)
    emu.fail_next("sendMessage", 429, retry_after=RETRY_AFTER, times=2, chat_id=member)
    await ask(emu, member, member, f"/territorio {place.name}", lambda text: "vale per" in text)

    sends = [c.at for c in emu.arrivals_of("sendMessage", member)]
    fetches = [c.at for c in emu.arrivals_of("getUpdates")][polls:polls + 2]
    assert len(sends) == 3 and len(fetches) == 2
    gaps = [b - a for a, b in pairwise(sends)] + [fetches[1] - fetches[0]]
    shown = ", ".join(f"{gap:.1f} s" for gap in gaps)
    report(f"after a 429 with retry_after {RETRY_AFTER} s, the same call came again after "
           f"{shown} (sendMessage twice, getUpdates)")
    assert all(gap >= RETRY_AFTER for gap in gaps), gaps


async def test_a_group_at_its_rate_limit_holds_back_no_other_chat(
        sqlite_bot: BotProcess, emu: RecordingEmulator, report: Callable[[str], None]) -> None:
    """Telegram takes 20 messages a minute in a group; past that, PTB's rate limiter waits
    in place before each one. Meanwhile a member's private answer goes out at once: it does
    not queue behind the group's wait."""
    bot = sqlite_bot
    rng = random.Random(SEED)
    world = World.build(GROUP_BACKLOG + 2, 1)  # the administrator, the writers, the probe
    world.populate(emu)
    place = world.places[0]
    *writers, probe = world.members[1:]
    await bot.start()
    await bind_groups(emu, world)
    # Written while the platform is briefly down: the whole backlog waits when it is back.
    emu.arm_outage("502")
    for member in writers:
        choose_territory(place, member).inject(emu)
        propose(place, member, f"k{member}", rng).inject(emu)
    await emu.wait_for(lambda: emu.outage is not None, 30)

    async def queued() -> bool:
        health = await bot.health()
        return health is not None and health["outbox_depth"] >= 3 * len(writers)

    await eventually(queued, 60, "the answers queued")
    emu.end_outage()

    def in_group() -> list[float]:
        return [c.at for c in emu.sends() if c.chat_id == place.chat_id]

    await emu.wait_for(lambda: len(in_group()) >= GROUP_BURST, 60)
    asked = len(in_group())
    reply = await ask(emu, probe, probe, f"/territorio {place.name}",
                      lambda text: "vale per" in text)
    meanwhile = [at for at in in_group()[asked:] if at < reply.at]
    report(f"group backlog {len(writers)} messages: {len(meanwhile)} went to the group "
           f"between a private command and its answer")
    assert len(meanwhile) <= 1
    assert len([at for at in in_group() if at < reply.at]) <= len(writers)  # still waiting
    assert await bot.stop() == 0
