"""Commands per second and latency: the core with the in-memory adapter, and the Telegram path.

    .venv/bin/python bench/throughput.py [--territories 10] [--members 200] [--commands 2000]
                                         [--db sqlite|postgres|both] [--path core|telegram|both]
                                         [--sample 200] [--batch 100] [--runs 3]
                                         [--profile FILE]

Path (a), `--path core` (the default): a mixed stream — propose an idea, support one, answer
a meetup, vote in a date poll, list ideas, /chi (20, 20, 20, 20, 12 and 8 %) — goes through
the dispatcher one event after another; each command's latency runs from the event entering
the dispatcher to its replies accepted by the adapter (delivery included). Prints commands
per second and p50 / p99 latency. Then the same stream again, sustained: the commands arrive
faster than they are handled, and go to the core in batches of `--batch`
(`Dispatcher.handle_many`, as a `getUpdates` answer does) while the background delivery loop
sends the replies, as in service; prints commands per second from the first batch to the
last reply accepted, the CPU time a command and the cycle collector's share of it;
`--runs` times (each with new commands, into the same database), then the median and the
range: on a noisy machine one run says little.

Path (b), `--path telegram`: the same stream said by members in their territories' groups,
to the real bot process against the Bot API emulator over HTTP, and the same number of
updates to a bare PTB echo bot, the ceiling (`telegram_path.py`). `--sample` commands are
timed one at a time, then `--commands` go in a burst; `--profile FILE` has py-spy sample the
bot during the burst into FILE.sqlite / FILE.postgresql (collapsed stacks).

Timing only: nothing here is a test. The fan-out and memory figures of issue 10 are
`fanout.py` and `memory.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.runtime import tune_collector
from storage.models import OutboxMessage
from tests.support import Bot

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DATES = "venerdì 18 dicembre alle 20 | sabato 19 dicembre alle 20 | domenica 20 dicembre alle 13"


async def prepare(bot: Bot, territories: int, members: int) -> list[tuple[str, str]]:
    """Bind the territories' chats, each with a meetup and a date poll (both numbered as
    the territory, from 1); (member, chat) pairs."""
    people = []
    for t in range(territories):
        chat = f"t{t}"
        bot.admins.add((f"admin{t}", chat))
        await bot.send(f"admin{t}", chat, f"/territorio Territorio {t}")
        await bot.send(f"admin{t}", chat, f"/incontro Cena {t} | domani alle 19 | Piazza {t}")
        await bot.send(f"admin{t}", chat, f"/sondaggio Cena {t}? | {DATES}")
    for m in range(members):
        people.append((f"m{m}", f"t{m % territories}"))
    return people


def stream(people: list[tuple[str, str]], count: int, seed: int = 7) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        who, chat = rng.choice(people)
        territory = int(chat[1:])
        kind = rng.random()
        if kind < 0.2:
            text = f"/idea Proposta numero {n} per il territorio {territory} #spazi"
        elif kind < 0.4:
            text = f"/sostengo {rng.randint(1, max(1, n // 4 + 1))}"
        elif kind < 0.6:
            text = f"/partecipo {territory + 1} {rng.choice(['sì', 'forse', 'no'])}"
        elif kind < 0.8:
            text = f"/vota {territory + 1} {rng.choice(['1', '2', '3', '1 2', '2 3', '-'])}"
        elif kind < 0.92:
            text = "/idee"
        else:
            text = "/chi"
        out.append((who, chat, text))
    return out


async def run(url: str, territories: int, members: int, commands: int, batch: int,
              runs: int) -> None:
    bot = await Bot.started(url, limits={"commands_per_minute": 1_000_000},
                            ideas={"daily_limit": 1_000_000})
    people = await prepare(bot, territories, members)
    tune_collector()  # as `piazzabot run` does once started
    work = stream(people, commands)
    latencies = []
    started = time.perf_counter()
    for who, chat, text in work:
        t0 = time.perf_counter()
        await bot.send(who, chat, text)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    name = url.split(":", 1)[0]
    print(f"{name:28} {commands / elapsed:8.1f} commands/s   p50 {cuts[49] * 1000:6.1f} ms   "
          f"p99 {cuts[98] * 1000:6.1f} ms   ({commands} commands, {territories} territories, "
          f"{members} members)")
    figures = [await sustained(bot, stream(people, commands, seed=8 + n), batch)
               for n in range(runs)]
    await bot.stop()
    if runs > 1:
        rates, cpus = zip(*figures, strict=True)
        print(f"  sustained, median of {runs:<4} {statistics.median(rates):8.1f} commands/s "
              f"({min(rates):.0f}–{max(rates):.0f})   CPU {statistics.median(cpus):5.2f} ms "
              f"a command ({min(cpus):.2f}–{max(cpus):.2f})")


async def sustained(bot: Bot, work: list[tuple[str, str, str]], batch: int
                    ) -> tuple[float, float]:
    """The stream in batches of `batch`, the delivery loop running in the background;
    commands per second, and CPU milliseconds a command."""
    events = [bot.message(who, chat, text) for who, chat, text in work]
    bot.adapter.sent.clear()  # a platform keeps what it was sent, not the bot: off its heap
    delivering = asyncio.create_task(bot.app.delivery.run_forever())
    collecting = CollectorTime()
    gc.callbacks.append(collecting)
    cpu, started = time.process_time(), time.perf_counter()
    for first in range(0, len(events), batch):
        await bot.app.dispatcher.handle_many(events[first:first + batch])
        await asyncio.sleep(0)  # the delivery loop's turn, as between two getUpdates
    # Until the last reply is accepted, polled (it is the loop's to send). The database is
    # asked only when nothing was sent since the last look: asked every time, its count
    # was 2-3 % of the CPU measured, none of it the bot's.
    seen = -1
    while len(bot.adapter.sent) != seen or await bot.count(
            OutboxMessage, OutboxMessage.state == "pending"):
        seen = len(bot.adapter.sent)
        await asyncio.sleep(0.005)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.callbacks.remove(collecting)
    delivering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await delivering
    rate, cpu_each = len(events) / elapsed, cpu * 1000 / len(events)
    sent = len(bot.adapter.sent)
    bot.adapter.sent.clear()
    print(f"  sustained, batches of {batch:<4} {rate:8.1f} commands/s   "
          f"CPU {cpu_each:5.2f} ms a command   ({sent} replies sent; "
          f"collector {collecting.seconds / elapsed:.1%} of the time, longest pause "
          f"{collecting.longest * 1000:.0f} ms)")
    return rate, cpu_each


class CollectorTime:
    """A `gc.callbacks` entry: how long the cycle collector's passes took, in all and at
    most."""

    def __init__(self) -> None:
        self.seconds = self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        self.seconds += took
        self.longest = max(self.longest, took)


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    """A fresh, empty database of `kind` (sqlite or postgres), dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    import asyncpg

    name = f"pzb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_telegram(url: str, territories: int, members: int, commands: int,
                       sample: int, profile: str | None) -> None:
    """Path (b): `sample` commands one at a time (latency), then `commands` in a burst."""
    from telegram_path import compare

    people = [(f"m{m}", f"t{m % territories}") for m in range(members)]
    work = stream(people, sample + commands)
    name = url.split(":", 1)[0]
    await compare(url, name, work[sample:], work[:sample], territories=territories,
                  members=members, profile=f"{profile}.{name.split('+')[0]}" if profile else None)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--territories", type=int, default=10)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--path", choices=["core", "telegram", "both"], default="core")
    parser.add_argument("--sample", type=int, default=200,
                        help="Telegram path: commands timed one at a time before the burst")
    parser.add_argument("--batch", type=int, default=100,
                        help="core path, sustained: events handed to the core at once")
    parser.add_argument("--runs", type=int, default=3,
                        help="core path: sustained runs, each of --commands new commands")
    parser.add_argument("--profile", help="Telegram path: py-spy samples of the bot's burst")
    args = parser.parse_args()
    for kind in ("sqlite", "postgres"):
        if args.db not in (kind, "both"):
            continue
        if args.path in ("core", "both"):
            async with database(kind) as url:
                await run(url, args.territories, args.members, args.commands, args.batch,
                          args.runs)
        if args.path in ("telegram", "both"):
            async with database(kind) as url:
                await run_telegram(url, args.territories, args.members, args.commands,
                                   args.sample, args.profile)


if __name__ == "__main__":
    asyncio.run(main())
