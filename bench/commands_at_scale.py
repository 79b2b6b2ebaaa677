"""The command mix served on a big cooperative's database: what history costs a command.

    .venv/bin/python bench/commands_at_scale.py [--scale 1] [--commands 1000]
                                                [--keep FOLDER] [--explain]

The database of `digest.py` at `--scale` (1: 1,000 territories, 100,000 ideas, about
1,000,000 supports, 10,000 meetups; built, or copied from `--keep` as `digest.py --keep`
left it), then the core path of `throughput.py` on it: ten more territories with their
members, and the mixed stream one command at a time. Prints commands per second, p50 and
p99 latency, and the slowest commands; `--explain` adds the plans of the statements that
read a whole table (SQLite's `SCAN`), which is how a query that grows with the whole
history shows up before it is slow. SQLite only. Timing only: nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest import Recorder, Scale, build, explain
from throughput import prepare, stream

from bot.runtime import tune_collector
from storage.db import Database
from tests.support import Bot


async def database(folder: Path, scale: Scale, keep: Path | None) -> Path:
    """A fresh copy of the digest benchmark's database (built first if need be)."""
    kept = keep / f"digest-{scale.factor:g}-7.db" if keep else folder / "built.db"
    if not kept.exists():
        await asyncio.to_thread(kept.parent.mkdir, parents=True, exist_ok=True)
        db = Database(f"sqlite+aiosqlite:///{kept}")
        try:
            await build(db, scale, seed=7)
        finally:
            await db.dispose()
    path = folder / "commands.db"
    await asyncio.to_thread(shutil.copyfile, kept, path)
    return path


async def run(scale: Scale, commands: int, keep: Path | None, show_plans: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = await database(Path(tmp), scale, keep)
        bot = await Bot.started(f"sqlite+aiosqlite:///{path}",
                                limits={"commands_per_minute": 1_000_000},
                                ideas={"daily_limit": 1_000_000})
        recorder = Recorder(bot.app.db)
        work = stream(await prepare(bot, 10, 200), commands)
        tune_collector()  # as `piazzabot run` does once started
        recorder.on = True
        timed = []
        started = time.perf_counter()
        for who, chat, text in work:
            t0 = time.perf_counter()
            await bot.send(who, chat, text)
            timed.append((time.perf_counter() - t0, text))
        elapsed = time.perf_counter() - started
        recorder.on = False
        cuts = statistics.quantiles([took for took, _ in timed], n=100)
        print(f"scale {scale.factor:g}: {commands / elapsed:7.1f} commands/s   "
              f"p50 {cuts[49] * 1000:5.1f} ms   p99 {cuts[98] * 1000:5.1f} ms   "
              f"({commands} commands)")
        kinds: dict[str, list[float]] = {}
        for took, text in timed:
            kinds.setdefault(text.split()[0], []).append(took)
        print("  median by command: " + ", ".join(
            f"{kind} {statistics.median(times) * 1000:.1f} ms" for kind, times in kinds.items()))
        print("  slowest: " + ", ".join(f"{text.split()[0]} {took * 1000:.0f} ms"
                                        for took, text in sorted(timed, reverse=True)[:5]))
        if show_plans:
            await explain(bot.app.db, recorder.statements)
        await bot.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--keep", type=Path, metavar="FOLDER",
                        help="the folder of digest.py --keep: reuse (or keep) the database")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    await run(Scale(args.scale), args.commands, args.keep, args.explain)


if __name__ == "__main__":
    asyncio.run(main())
