"""What one command of the throughput mix costs: statements, transactions and CPU time.

    .venv/bin/python bench/command_cost.py [--commands 600] [--db sqlite|postgres|both]

The same territories, members and mixed stream as `bench/throughput.py` (core path, one
command after another, delivery included), counted with SQLAlchemy's engine events:
statements sent to the database (SQLite's `BEGIN IMMEDIATE` included, PostgreSQL's implicit
`BEGIN` not), transactions begun, and this process's CPU time (every thread: aiosqlite's
included, PostgreSQL's server not). Counts do not depend on the machine; CPU time is steadier
than the wall clock when the machine is shared. Listening to the engine sends every
statement through SQLAlchemy's own execution, `storage.core`'s too (so that it can be
counted): the CPU time here is that of SQLAlchemy's way, not the bot's; `throughput.py`
gives the bot's. Timing only: nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import PG_ADMIN, prepare, stream

from tests.support import Bot


async def measure(url: str, commands: int) -> None:
    bot = await Bot.started(url, limits={"commands_per_minute": 1_000_000},
                            ideas={"daily_limit": 1_000_000})
    work = stream(await prepare(bot, 10, 200), commands)
    counted = {"statements": 0, "transactions": 0}
    engine = bot.app.db.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: object) -> None:
        counted["statements"] += 1

    @event.listens_for(engine, "begin")
    def _transaction(*_: object) -> None:
        counted["transactions"] += 1

    cpu, wall = time.process_time(), time.perf_counter()
    for who, chat, text in work:
        await bot.send(who, chat, text)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await bot.stop()
    print(f"{url.split(':', 1)[0]:20} {counted['statements'] / commands:5.1f} statements  "
          f"{counted['transactions'] / commands:4.2f} transactions  "
          f"{cpu * 1000 / commands:6.2f} ms CPU a command   ({commands / wall:.1f} commands/s "
          f"wall, {commands} commands)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=600)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", args.commands)
    if args.db in ("postgres", "both"):
        import asyncpg

        name = f"pzb_cost_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await measure(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", args.commands)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
