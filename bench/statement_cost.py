"""What one small statement costs, each way a use case can run it, inside a transaction.

    .venv/bin/python bench/statement_cost.py [--db sqlite|postgres|both] [--runs 3000]

Two statements: a select by two parameters that finds no row (the rights check of /chi),
and one that reads five rows with an aware UTC time each (the daily idea limit). Each runs
`--runs` times through `AsyncSession.execute`, through the session's `Connection.execute`
(`run_sync`), and as a `storage.core.Statement`; prints microseconds a statement (medians of
three rounds). Timing only: nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from throughput import database

from storage import core
from storage.db import Database
from storage.models import Member, Role, Territory
from storage.models.ideas import Idea

NOW = datetime.now(UTC)
GRANTED = select(Role.territory_id).where(Role.member_id == bindparam("member_id"),
                                          Role.role == bindparam("role"))
SUBMITTED = (select(Idea.created_at).where(Idea.author_id == bindparam("author_id"),
                                           Idea.created_at > bindparam("since"))
             .order_by(Idea.created_at))


async def seed(session: AsyncSession) -> int:
    territory = Territory(name="Bench", slug="bench", timezone="Europe/Rome", created_at=NOW)
    member = Member(display_name="Bench", created_at=NOW)
    session.add_all([territory, member])
    await session.flush()
    session.add_all(Idea(territory_id=territory.id, author_id=member.id, text=f"idea {n}",
                         status="new", created_at=NOW, updated_at=NOW) for n in range(5))
    await session.flush()
    return member.id


def ways(session: AsyncSession, statement: Select[Any],
         params: dict[str, Any]) -> dict[str, Callable[[], Awaitable[Any]]]:
    prepared = core.Statement(statement)

    async def orm() -> Any:
        return (await session.execute(statement, params)).all()

    async def connection() -> Any:
        return await session.run_sync(
            lambda sync: sync.connection().execute(statement, params).all())

    async def driver() -> Any:
        return await core.rows(session, prepared, params)

    return {"AsyncSession.execute": orm, "Connection.execute": connection,
            "core.Statement": driver}


async def measure(url: str, runs: int) -> None:
    db = Database(url)
    await db.upgrade()
    async with db.transaction() as session:
        member_id = await seed(session)
        cases = {"no row": (GRANTED, {"member_id": member_id, "role": "facilitator"}),
                 "5 rows, times": (SUBMITTED, {"author_id": member_id,
                                               "since": NOW - timedelta(days=1)})}
        for case, (statement, params) in cases.items():
            for way, call in ways(session, statement, params).items():
                rounds = []
                for _ in range(3):
                    started = time.perf_counter()
                    for _ in range(runs):
                        await call()
                    rounds.append((time.perf_counter() - started) / runs)
                print(f"{url.split(':')[0]:22} {case:14} {way:22} "
                      f"{statistics.median(rounds) * 1e6:7.1f} µs")
    await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3000)
    args = parser.parse_args()
    for kind in ("sqlite", "postgres"):
        if args.db in (kind, "both"):
            async with database(kind) as url:
                await measure(url, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
