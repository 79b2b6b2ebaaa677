"""What one digest costs on a big cooperative: SQLite and PostgreSQL, full scale and a tenth.

    .venv/bin/python bench/digest.py [--db sqlite|postgres|both] [--scales 1,0.1]
                                     [--explain] [--seed 7] [--keep FOLDER]

Full scale is 1,000 territories, 100,000 ideas, 1,000,000 supports and 10,000 meetups, with
20,000 members, 50,000 meetup answers, 5,000 polls (100,000 answers) and 10,000 audit
entries, spread over the year before Tuesday 1 December 2026; built with SQLAlchemy Core
`insert()` in batches (executemany) on a schema made by the migrations. Then it composes
the weekly staff digest (with its chart), the daily staff digest and the weekly digest of
one territory, each once cold (the first after the bot's start, which has loaded the chart
library, `bot.runtime.prepare_digest_chart`, and tuned the cycle collector,
`tune_collector`) and three times warm, and prints the median
warm run: its time and this process's CPU time (every thread; on a busy machine a truer
cost than the wall clock). One more run, recorded, gives the number of SQL statements and
the time inside the database driver (SQL): recording sends every statement through
SQLAlchemy's own execution, slower than the bot's way, so it is not the one timed. Then the
scheduler's run at a tick every territory shares (Monday 09:00, with the staff's weekly
digest), one transaction per digest: how long it takes and how long the longest transaction
lasts (on SQLite, the time other writers wait). `--explain` also prints the plan of every
statement that reads a whole table or index (SQLite `SCAN`, PostgreSQL `Seq Scan`) and the
slowest statements.

PostgreSQL runs on a temporary database at 127.0.0.1:5432 (user postgres), dropped after;
it is ANALYZEd after loading (autovacuum would do it), SQLite is not (the bot never does).
`--keep FOLDER` keeps each SQLite database built there (one file per scale and seed) and
later runs use a copy of it instead of building again: quicker to iterate.
Timing only: nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.base import Capabilities
from bot.clock import FakeClock
from bot.config import Config
from bot.context import Services
from bot.digests.compose import compose
from bot.digests.engine import DigestJob
from bot.digests.sections import DigestKind, DigestScope
from bot.features import build_registry
from bot.outbox import Outbox, Platforms
from bot.roles import StaffList
from bot.runtime import prepare_digest_chart, tune_collector
from scheduler.service import SchedulerService
from storage.db import Database
from storage.models import Chat, Member, OutboxMessage, Territory
from storage.models.audit import AuditEntry
from storage.models.digests import DigestRun
from storage.models.ideas import Idea, IdeaEvent, IdeaSupport
from storage.models.meetups import Meetup, MeetupAnswer
from storage.models.polls import Poll, PollOption, PollVote

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ROME).astimezone(UTC)  # a Tuesday
YEAR = timedelta(days=365)
BATCH = 10_000
WARM_RUNS = 3  # each digest is composed once cold, then this many times: the median is shown
FULL = {"territories": 1_000, "members": 20_000, "ideas": 100_000, "supports": 1_000_000,
        "meetups": 10_000, "answers_per_meetup": 5, "polls": 5_000, "votes_per_poll": 20,
        "audit": 10_000}


@dataclass(frozen=True)
class Scale:
    """FULL times `factor` (rates per meetup and per poll stay as they are)."""

    factor: float

    def __getitem__(self, name: str) -> int:
        if name.endswith(("_per_meetup", "_per_poll")):
            return FULL[name]
        return max(1, round(FULL[name] * self.factor))


# --- building the database ---------------------------------------------------------------


def _ago(rng: random.Random, within: timedelta = YEAR) -> datetime:
    return NOW - timedelta(seconds=rng.random() * within.total_seconds())


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _load(conn: AsyncConnection, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    for batch in _batches(rows):
        # run_sync: storage.sqlite_inline's statements need no awaiting (storage.db.run)
        await conn.run_sync(lambda sync, batch=batch: sync.execute(insert(table), batch))
        count += len(batch)
    return count


async def build(db: Database, scale: Scale, seed: int) -> dict[str, int]:
    """The whole cooperative, in one transaction; how many rows went into each table."""
    await db.upgrade()
    rng = random.Random(seed)
    n_ter, n_mem = scale["territories"], scale["members"]
    per_territory = max(1, n_mem // n_ter)  # members live in one territory each

    def people(territory: int) -> range:
        first = (territory - 1) * per_territory + 1
        return range(first, first + per_territory)

    idea_times: list[datetime] = [NOW] * (scale["ideas"] + 1)
    idea_places: list[int] = [0] * (scale["ideas"] + 1)
    counts: dict[str, int] = {}
    async with db.engine.begin() as conn:
        counts["territories"] = await _load(conn, Territory.__table__, (
            {"id": t, "name": f"Territorio {t:04d}", "slug": f"t{t}",
             "timezone": "Europe/Rome", "created_at": NOW - YEAR - timedelta(days=30)}
            for t in range(1, n_ter + 1)))
        counts["chats"] = await _load(conn, Chat.__table__, (
            {"id": c, "platform": "bench", "external_id": f"c{c}", "title": f"chat {c}",
             "is_private": False, "kind": "staff" if c == n_ter + 1 else "territory",
             "territory_id": None if c == n_ter + 1 else c, "locale": "it", "active": True,
             "created_at": NOW - YEAR} for c in range(1, n_ter + 2)))
        counts["members"] = await _load(conn, Member.__table__, (
            {"id": m, "display_name": f"Socio {m}",
             "home_territory_id": (m - 1) // per_territory + 1 if m <= n_ter * per_territory
             else None, "created_at": NOW - YEAR} for m in range(1, n_mem + 1)))

        def ideas() -> Iterator[dict[str, Any]]:
            for i in range(1, scale["ideas"] + 1):
                territory = rng.randint(1, n_ter)
                created = _ago(rng)
                idea_times[i], idea_places[i] = created, territory
                status = rng.choices(["new", "discussing", "adopted", "set_aside"],
                                     [80, 10, 5, 5])[0]
                yield {"id": i, "territory_id": territory,
                       "author_id": rng.choice(people(territory)),
                       "text": f"Idea numero {i} per il territorio {territory}",
                       "status": status, "answer": None if status == "new" else "Ne parliamo",
                       "hidden": "moderator" if rng.random() < 0.01 else None,
                       "created_at": created, "updated_at": created}

        counts["ideas"] = await _load(conn, Idea.__table__, ideas())

        def supports() -> Iterator[dict[str, Any]]:
            mean = scale["supports"] / scale["ideas"]  # 10: each idea 0 to 20, as it comes
            for i in range(1, scale["ideas"] + 1):
                share = min(per_territory, rng.randint(0, round(2 * mean)))
                for member in rng.sample(people(idea_places[i]), share):
                    later = idea_times[i] + timedelta(days=rng.random() * 30)
                    yield {"idea_id": i, "member_id": member, "territory_id": idea_places[i],
                           "created_at": min(later, NOW)}

        counts["idea_supports"] = await _load(conn, IdeaSupport.__table__, supports())
        counts["idea_events"] = await _load(conn, IdeaEvent.__table__, (
            {"idea_id": i, "kind": "status", "status": "discussing", "note": "Ne parliamo",
             "actor_id": rng.choice(people(idea_places[i])),
             "created_at": min(idea_times[i] + timedelta(days=rng.random() * 20), NOW)}
            for i in range(1, scale["ideas"] + 1, 10)))

        starts: list[datetime] = [NOW] * (scale["meetups"] + 1)
        places: list[int] = [0] * (scale["meetups"] + 1)

        def meetups() -> Iterator[dict[str, Any]]:
            for m in range(1, scale["meetups"] + 1):
                territory = rng.randint(1, n_ter)
                start = NOW - YEAR + timedelta(days=rng.random() * 395)  # a month ahead too
                starts[m], places[m] = start, territory
                yield {"id": m, "uid": f"{m}@bench", "territory_id": territory,
                       "organiser_id": rng.choice(people(territory)), "title": f"Incontro {m}",
                       "starts_at": start, "place": "Sede",
                       "status": "cancelled" if rng.random() < 0.05 else "scheduled",
                       "sequence": 0, "created_at": start - timedelta(days=10),
                       "updated_at": start - timedelta(days=10),
                       "concluded_at": start if start < NOW else None}

        counts["meetups"] = await _load(conn, Meetup.__table__, meetups())
        counts["meetup_answers"] = await _load(conn, MeetupAnswer.__table__, (
            {"meetup_id": m, "member_id": member,
             "answer": rng.choices(["going", "maybe", "no"], [60, 25, 15])[0],
             "answered_at": min(starts[m] - timedelta(days=rng.random() * 9), NOW)}
            for m in range(1, scale["meetups"] + 1)
            for member in rng.sample(people(places[m]),
                                     min(scale["answers_per_meetup"], per_territory))))

        closes: list[datetime] = [NOW] * (scale["polls"] + 1)
        poll_places: list[int] = [0] * (scale["polls"] + 1)

        def polls() -> Iterator[dict[str, Any]]:
            for p in range(1, scale["polls"] + 1):
                territory = rng.randint(1, n_ter)
                created = _ago(rng)
                close = created + timedelta(days=7)
                closes[p], poll_places[p] = close, territory
                closed = close <= NOW
                yield {"id": p, "territory_id": territory,
                       "creator_id": rng.choice(people(territory)),
                       "question": f"Sondaggio {p}?", "kind": "text", "mode": "pick",
                       "anonymous": False, "hidden_results": False, "closes_at": close,
                       "status": "closed" if closed else "open",
                       "closed_at": close if closed else None,
                       "final_voters": 10 if closed else None, "created_at": created}

        counts["polls"] = await _load(conn, Poll.__table__, polls())
        counts["poll_options"] = await _load(conn, PollOption.__table__, (
            {"id": 2 * p - 1 + o, "poll_id": p, "position": o, "label": f"opzione {o + 1}",
             "final_yes": 5 if closes[p] <= NOW else None,
             "final_maybe": 0 if closes[p] <= NOW else None,
             "final_no": 0 if closes[p] <= NOW else None}
            for p in range(1, scale["polls"] + 1) for o in (0, 1)))
        counts["poll_votes"] = await _load(conn, PollVote.__table__, (
            {"poll_id": p, "option_id": 2 * p - 1 + o, "member_id": member, "answer": "yes",
             "voted_at": min(closes[p] - timedelta(days=rng.random() * 7), NOW)}
            for p in range(1, scale["polls"] + 1)
            for member in rng.sample(people(poll_places[p]),
                                     min(scale["votes_per_poll"] // 2, per_territory))
            for o in (0, 1)))
        counts["audit_log"] = await _load(conn, AuditEntry.__table__, (
            {"at": _ago(rng), "actor_id": rng.randint(1, n_mem), "action": "idea.hide",
             "territory_id": rng.randint(1, n_ter), "subject": f"idea:{rng.randint(1, 9)}",
             "details": {"reason": "fuori tema"}} for _ in range(scale["audit"])))
        if db.dialect == "postgresql":
            await conn.run_sync(lambda sync: sync.execute(text("ANALYZE")))
    return counts


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Statement:
    sql: str
    parameters: Any
    seconds: float


class Recorder:
    """Every statement run on the engine while recording, with its time. Listening sends
    every statement through SQLAlchemy's own execution (`storage.core._listened`), a slower
    way than the bot's: only the run that counts statements is recorded."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.statements: list[Statement] = []

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            event.remove(self.engine, "before_cursor_execute", self._before)
            event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, sql: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, sql: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        took = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.statements.append(Statement(sql, parameters, took))


def services_for(url: str) -> Services:
    platforms = Platforms()
    platforms.add("bench", Capabilities(files=True, images=True, max_text=4096), "/")
    return Services(config=Config.model_validate({"database": {"url": url}}),
                    clock=FakeClock(NOW), platforms=platforms, registry=build_registry(),
                    staff=StaffList({}))


@dataclass
class Measured:
    seconds: float
    cpu: float  # this process's CPU time (every thread): what the digest costs the bot's host
    messages: int


async def measure(db: Database, services: Services, kind: DigestKind,
                  territory_id: int | None, recorder: Recorder | None = None) -> Measured:
    """Time, CPU time and messages of one digest of `kind` ending now; its statements go to
    `recorder`, if given."""
    length = timedelta(days=1 if kind == "staff" else 7)
    async with db.transaction() as session:
        territories = tuple(await session.scalars(
            select(Territory).order_by(Territory.name) if territory_id is None
            else select(Territory).where(Territory.id == territory_id)))
        chat = await session.get_one(Chat, territory_id or len(territories) + 1)
        outbox = Outbox(session, services.clock, services.platforms, "Europe/Rome")
        target = outbox.chat_target(chat, territories[0] if territory_id else None)
        scope = DigestScope(kind, NOW - length, NOW, target, territories)
        with recorder.recording() if recorder else contextlib.nullcontext():
            started, cpu = time.perf_counter(), time.process_time()
            messages = await compose(session, services, scope)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Measured(took, cpu, len(messages))


# A plan line that reads a whole table or index: SQLite's SCAN (also "USING INDEX": every
# entry of the index), PostgreSQL's Seq Scan. Territories and their few companions are small
# whatever the scale of activity, and so are the rows a query has already narrowed down.
WHOLE_TABLE = {"sqlite": ("SCAN ",), "postgresql": ("Seq Scan",)}
SMALL = ("territories", "chats", "members", "CONSTANT ROW", "SUBQUERY", "(subquery-", "anon_")


async def explain(db: Database, statements: list[Statement]) -> None:
    """The plans that read a whole table, and the slowest statements."""
    marks = WHOLE_TABLE[db.dialect]
    prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    seen: set[str] = set()
    async with db.engine.connect() as conn:
        for statement in statements:
            if statement.sql in seen:
                continue
            seen.add(statement.sql)
            sql, parameters = prefix + statement.sql, statement.parameters
            rows = await conn.run_sync(
                lambda sync, sql=sql, parameters=parameters: sync.exec_driver_sql(
                    sql, parameters).all())
            plan = [str(row[-1]) for row in rows]
            scans = [line for line in plan if any(m in line for m in marks)
                     and not any(small in line for small in SMALL)]
            if scans:
                print(f"      whole table ({statement.seconds * 1000:.1f} ms): "
                      f"{' '.join(statement.sql.split())[:160]}")
                for line in scans:
                    print(f"        {line.strip()}")
    print("      slowest:")
    for statement in sorted(statements, key=lambda s: -s.seconds)[:5]:
        sql = " ".join(statement.sql.split())[:140]
        print(f"        {statement.seconds * 1000:8.1f} ms  {sql}")


async def run(url: str, label: str, scale: Scale, seed: int, show_plans: bool,
              built_already: bool = False) -> None:
    db = Database(url)
    try:
        if built_already:
            await db.upgrade()  # kept from an earlier schema, maybe
            print(f"\n{label}, scale {scale.factor:g}: a copy of the kept database")
        else:
            started = time.perf_counter()
            counts = await build(db, scale, seed)
            built = time.perf_counter() - started
            print(f"\n{label}, scale {scale.factor:g}: built in {built:.1f} s — "
                  + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
        services = services_for(url)
        await prepare_digest_chart(db)  # as `piazzabot run` does at start: a staff chat
        tune_collector()  # and then this
        recorder = Recorder(db)
        middle = scale["territories"] // 2
        for kind, territory_id in (("staff_weekly", None), ("staff", None),
                                   ("territory", middle)):
            cold, *warm = [await measure(db, services, kind, territory_id)
                           for _ in range(1 + WARM_RUNS)]
            typical = sorted(warm, key=lambda m: m.seconds)[len(warm) // 2]  # the median
            await measure(db, services, kind, territory_id, recorder)
            statements = recorder.statements
            sql = sum(s.seconds for s in statements)
            name = f"{kind} digest" if territory_id is None else "territory digest (weekly)"
            print(f"  {name:26} cold {cold.seconds * 1000:6.0f} ms  "
                  f"warm {typical.seconds * 1000:6.0f} ms "
                  f"(SQL {sql * 1000:5.0f} ms, CPU {typical.cpu * 1000:5.0f} ms)  "
                  f"{len(statements):3} statements, {typical.messages} messages")
            if show_plans:
                await explain(db, statements)
        await shared_tick(db, services, scale)
    finally:
        await db.dispose()


class Transactions:
    """How long each transaction lasts, from its BEGIN to its COMMIT or ROLLBACK: on SQLite
    (BEGIN IMMEDIATE) the time it holds the write lock, other writers waiting."""

    def __init__(self, db: Database) -> None:
        self.seconds: list[float] = []
        engine = db.engine.sync_engine
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, conn: Any) -> None:
        conn.info["bench_began"] = time.perf_counter()

    def _end(self, conn: Any) -> None:
        began = conn.info.pop("bench_began", None)
        if began is not None:
            self.seconds.append(time.perf_counter() - began)


async def shared_tick(db: Database, services: Services, scale: Scale) -> None:
    """Monday 30 November, 09:00 with the default schedules: every territory's digest falls
    due at once (with the staff's weekly one, due at 08:00), each chat told up to a week
    before. The scheduler's run of the digest job, as the bot does it: each digest in a
    transaction of its own."""
    tick = datetime(2026, 11, 30, 9, 0, tzinfo=ROME).astimezone(UTC)
    async with db.transaction() as session:
        for chat in await session.scalars(select(Chat)):
            kinds = ["territory"] if chat.kind == "territory" else ["staff", "staff_weekly"]
            for kind in kinds:
                hour = 9 if kind == "territory" else 8
                before = tick - timedelta(days=1 if kind == "staff" else 7)
                end = before.astimezone(ROME).replace(hour=hour).astimezone(UTC)
                session.add(DigestRun(chat_id=chat.id, kind=kind, period_start=end - YEAR,
                                      period_end=end, created_at=end))
    transactions = Transactions(db)

    async def delivered() -> None:
        """Delivery is not measured here."""

    scheduler = SchedulerService(db, services, [DigestJob()], delivered)
    started = time.perf_counter()
    await scheduler.run_job("digests", tick)
    took = time.perf_counter() - started
    async with db.transaction() as session:
        told = await session.scalar(select(func.count()).select_from(DigestRun)
                                    .where(DigestRun.period_end > tick - timedelta(hours=2)))
        messages = await session.scalar(select(func.count()).select_from(OutboxMessage))
    longest = max(transactions.seconds)
    typical = statistics.median(transactions.seconds)
    print(f"  shared tick: {told:,} digests in {took:.1f} s, {len(transactions.seconds):,} "
          f"transactions (median {typical * 1000:.0f} ms, longest {longest * 1000:.0f} ms), "
          f"{messages:,} messages")


async def run_sqlite(scale: Scale, seed: int, show_plans: bool, keep: Path | None) -> None:
    """On a fresh database, or on a copy of the one kept in `keep` (built there first if
    missing): the shared tick writes, the kept one stays as built."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        kept = keep / f"digest-{scale.factor:g}-{seed}.db" if keep else None
        if kept is not None and not kept.exists():
            await asyncio.to_thread(keep.mkdir, parents=True, exist_ok=True)
            db = Database(f"sqlite+aiosqlite:///{kept}")
            try:
                await build(db, scale, seed)
            finally:
                await db.dispose()
        if kept is not None:
            shutil.copyfile(kept, path)
        await run(f"sqlite+aiosqlite:///{path}", "SQLite", scale, seed, show_plans,
                  built_already=kept is not None)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--scales", default="1,0.1")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, metavar="FOLDER",
                        help="keep the SQLite databases built here and reuse them")
    args = parser.parse_args()
    scales = [Scale(float(s)) for s in args.scales.split(",")]
    for scale in scales:
        if args.db in ("sqlite", "both"):
            await run_sqlite(scale, args.seed, args.explain, args.keep)
        if args.db in ("postgres", "both"):
            import asyncpg

            admin = await asyncpg.connect(PG_ADMIN)
            name = f"pzb_bench_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://",
                                                         "postgresql+asyncpg://")
                await run(f"{base}/{name}", "PostgreSQL", scale, args.seed, args.explain)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
