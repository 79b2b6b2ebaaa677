"""How fast this machine is today: the issue's naive reference workloads, measured again.

    .venv/bin/python bench/reference.py [--db sqlite|postgres|both] [--commands N] [--runs K]

The machine is a shared 2-core VM whose speed varies by up to 40 % from one day to the next,
so figures from different days compare only through a calibration run on each day. The
issue gives reference figures for this kind of machine (2 cores, noisy; medians): one
SQLAlchemy ORM session a command on aiosqlite (select a member, insert an event row and an
outbox row, commit) about 255 commands/s; the same through asyncpg about 350 commands/s,
650 with 8 concurrent tasks; raw SQLite in WAL mode about 45,000 small transactions/s. This
script runs those naive workloads with its own tiny schema (not the project's models, nor
`storage.db.Database`: stock `create_async_engine`, `async_sessionmaker`, one session and one
transaction a command), each `--runs` times after a short warm-up, and prints for each the
median rate, the min–max range over the runs, the CPU time an operation (this process,
every thread: aiosqlite's included, PostgreSQL's server not) and the factor today's rate /
the reference rate; the machine factor at the end is the median of the SQLite workloads'.
Timing only: nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import database

MEMBERS = 1000
WARMUP = 100  # commands before timing: pool connections opened, statements compiled
CONCURRENCY = 8
RAW_FACTOR = 20  # raw SQLite transactions per ORM command: each is ~200 times cheaper

# The reference figures (commands or transactions a second, medians).
REF_ORM_SQLITE = 255.0
REF_RAW_SQLITE = 45_000.0
REF_ORM_PG = 350.0
REF_ORM_PG_CONCURRENT = 650.0


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    chat: Mapped[str] = mapped_column(String(100))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Outbox(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    chat: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Sessions = async_sessionmaker[Any]


@dataclass
class Result:
    name: str
    unit: str
    reference: float
    rates: list[float]
    cpu_ms: list[float]

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def factor(self) -> float:
        return self.rate / self.reference

    def line(self) -> str:
        runs = f"({min(self.rates):.1f}–{max(self.rates):.1f})"
        return (f"{self.name:32} {self.rate:9.1f} {self.unit + '/s':14} {runs:19}   "
                f"CPU {statistics.median(self.cpu_ms):6.3f} ms each   "
                f"× {self.factor:.2f} of {self.reference:,.0f}/s")


async def command(sessions: Sessions, member_id: int, n: int) -> None:
    """One naive command: its own session and transaction, a select and two inserts."""
    async with sessions() as s, s.begin():
        member = await s.get(Member, member_id)
        assert member is not None
        payload = json.dumps({"command": "/idea", "n": n, "member": member.id})
        s.add(Event(member_id=member.id, kind="command", payload=payload))
        s.add(Outbox(member_id=member.id, chat=member.chat, text=f"Reply {n} to {member.name}",
                     payload=payload))


async def sequential(sessions: Sessions, ids: list[int]) -> None:
    for n, member_id in enumerate(ids):
        await command(sessions, member_id, n)


async def concurrent(sessions: Sessions, ids: list[int]) -> None:
    """`CONCURRENCY` tasks, each running its share of the commands one after another."""
    await asyncio.gather(*(sequential(sessions, ids[t::CONCURRENCY])
                           for t in range(CONCURRENCY)))


async def timed(work: Callable[[list[int]], Awaitable[None]],
                ids: list[int]) -> tuple[float, float]:
    """(operations a second, CPU ms an operation) of one run of `work` over `ids`."""
    cpu, wall = time.process_time(), time.perf_counter()
    await work(ids)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(ids) / wall, cpu * 1000 / len(ids)


def sqlite_pragmas(engine: AsyncEngine) -> None:
    """WAL and synchronous=NORMAL on every new connection, as the naive design does."""

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


async def seeded(url: str) -> tuple[AsyncEngine, Sessions]:
    """An engine on `url` with the schema created and `MEMBERS` members in it."""
    engine = create_async_engine(url)
    if url.startswith("sqlite"):
        sqlite_pragmas(engine)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        s.add_all(Member(id=i, name=f"member {i}", chat=f"t{i % 10}")
                  for i in range(1, MEMBERS + 1))
    return engine, sessions


async def orm_workload(sessions: Sessions, name: str, reference: float, commands: int,
                       runs: int, parallel: bool) -> Result:
    rng = random.Random(7)
    work = functools.partial(concurrent if parallel else sequential, sessions)
    await work([rng.randint(1, MEMBERS) for _ in range(WARMUP)])
    rates, cpu = [], []
    for _ in range(runs):
        rate, cpu_ms = await timed(work, [rng.randint(1, MEMBERS) for _ in range(commands)])
        rates.append(rate)
        cpu.append(cpu_ms)
    return Result(name, "commands", reference, rates, cpu)


def raw_sqlite(transactions: int, runs: int) -> Result:
    """Raw `sqlite3`, WAL, synchronous=NORMAL: one INSERT and one COMMIT a transaction."""
    rates, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, member_id INTEGER, "
                        "payload TEXT, created_at TEXT)")

            def run(count: int) -> None:
                for n in range(count):
                    con.execute("BEGIN")
                    con.execute("INSERT INTO events (member_id, payload, created_at) "
                                "VALUES (?, ?, ?)", (n % MEMBERS + 1, '{"n": 1}',
                                                     "2026-01-01T00:00:00+00:00"))
                    con.execute("COMMIT")

            run(WARMUP * RAW_FACTOR)
            for _ in range(runs):
                c, w = time.process_time(), time.perf_counter()
                run(transactions)
                c, w = time.process_time() - c, time.perf_counter() - w
                rates.append(transactions / w)
                cpu.append(c * 1000 / transactions)
        finally:
            con.close()
    return Result("raw sqlite3, WAL, sequential", "transactions", REF_RAW_SQLITE, rates, cpu)


async def sqlite_workloads(commands: int, runs: int) -> list[Result]:
    async with database("sqlite") as url:
        engine, sessions = await seeded(url)
        try:
            orm = await orm_workload(sessions, "ORM session/command, aiosqlite", REF_ORM_SQLITE,
                                     commands, runs, parallel=False)
        finally:
            await engine.dispose()
    print(orm.line(), flush=True)
    raw = raw_sqlite(commands * RAW_FACTOR, runs)
    print(raw.line(), flush=True)
    return [orm, raw]


async def postgres_workloads(commands: int, runs: int) -> list[Result]:
    results = []
    async with database("postgres") as url:
        engine, sessions = await seeded(url)
        try:
            for name, reference, parallel in (
                ("ORM session/command, asyncpg", REF_ORM_PG, False),
                (f"  same, {CONCURRENCY} concurrent tasks", REF_ORM_PG_CONCURRENT, True),
            ):
                result = await orm_workload(sessions, name, reference, commands, runs, parallel)
                print(result.line(), flush=True)
                results.append(result)
        finally:
            await engine.dispose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--commands", type=int, default=2000,
                        help=f"ORM commands a run (raw SQLite: {RAW_FACTOR} times as many)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.runs} runs of {args.commands} commands ({args.commands * RAW_FACTOR} raw "
          f"transactions), {MEMBERS} members; median rate (min–max), factor vs the issue's "
          "reference", flush=True)
    lite = await sqlite_workloads(args.commands, args.runs) if args.db != "postgres" else []
    pg = await postgres_workloads(args.commands, args.runs) if args.db != "sqlite" else []
    label, basis = ("SQLite", lite) if lite else ("PostgreSQL", pg)
    factor = statistics.median(r.factor for r in basis)
    print(f"machine factor (median of the {label} workloads): {factor:.2f} × the issue's "
          "reference machine")


if __name__ == "__main__":
    asyncio.run(main())
