"""Resident size of the bot serving the Telegram stream with a big database behind it.

    .venv/bin/python bench/memory.py [--members 100000] [--chats 1000] [--db sqlite|postgres|both]

Before the bot starts, the database gets `--members` members with a Telegram identity each
and `--chats` territories with their groups, and a staff chat (SQLAlchemy Core inserts,
10,000 rows a statement): so the bot loads the weekly staff digest's chart library at start,
as a deployment with staff does (`bot.runtime.prepare_digest_chart`). The bot then serves
the Telegram path's stream (`telegram_path.run_bot`: 200 commands one at a time, then a
burst of 2,000); printed: the peak resident size of the bot's process (VmHWM) besides the
path's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert
from telegram_path import run_bot
from throughput import database, stream

from storage.db import Database
from storage.models import Chat, Identity, Member, Territory

BATCH = 10_000
TERRITORIES = 10
STREAM_MEMBERS = 200


async def fill(url: str, members: int, chats: int) -> None:
    """Members, their identities, territories with a group each and a staff chat, none of
    them the stream's (ids and names apart)."""
    db = Database(url)
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await session.execute(insert(Territory), [
            {"id": 1_000 + n, "name": f"Quartiere {n}", "slug": f"quartiere-{n}",
             "timezone": "Europe/Rome", "created_at": now} for n in range(chats)])
        await session.execute(insert(Chat), [
            {"id": 1_000 + n, "platform": "telegram", "external_id": str(-1_003_000_000_000 - n),
             "title": f"Quartiere {n}", "is_private": False, "kind": "territory",
             "territory_id": 1_000 + n, "locale": "it", "active": True, "created_at": now}
            for n in range(chats)] + [
            {"id": 1_000 + chats, "platform": "telegram", "external_id": "-1002999999999",
             "title": "Staff", "is_private": False, "kind": "staff", "territory_id": None,
             "locale": "it", "active": True, "created_at": now}])
        for start in range(0, members, BATCH):
            ids = range(1_000 + start, 1_000 + min(start + BATCH, members))
            await session.execute(insert(Member), [
                {"id": i, "display_name": f"Iscritto {i}", "created_at": now} for i in ids])
            await session.execute(insert(Identity), [
                {"id": i, "member_id": i, "platform": "telegram", "user_id": str(5_000_000 + i),
                 "display_name": f"Iscritto {i}", "username": None, "created_at": now}
                for i in ids])
    await db.dispose()


async def run(url: str, members: int, chats: int, commands: int, sample: int) -> None:
    started = time.perf_counter()
    await fill(url, members, chats)
    filled = time.perf_counter() - started
    people = [(f"m{m}", f"t{m % TERRITORIES}") for m in range(STREAM_MEMBERS)]
    work = stream(people, sample + commands)
    with tempfile.TemporaryDirectory() as tmp:
        figures = await run_bot(url, work[sample:], work[:sample], territories=TERRITORIES,
                                members=STREAM_MEMBERS, workdir=Path(tmp))
    name = url.split(":", 1)[0]
    print(f"{name:20} peak RSS {figures.peak_rss_kib / 1024:5.0f} MB with {members:,} members "
          f"and {chats:,} chats in the database (filled in {filled:.1f} s)")
    print(figures.line("  serving"))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--commands", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for kind in ("sqlite", "postgres"):
        if args.db in (kind, "both"):
            async with database(kind) as url:
                await run(url, args.members, args.chats, args.commands, args.sample)


if __name__ == "__main__":
    asyncio.run(main())
