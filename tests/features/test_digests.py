"""Digests with the real sections: the staff digest across several territories (each in one
line, totals, the most supported ideas, ideas waiting, moderation, quiet territories, the
chart), the territory digest's meetups window, bounded queries, the schedules across the
October change of the clocks, a crash between two chats of one run, and each digest of a
shared tick in a transaction of its own, delivered as soon as it is committed."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import RetryLater
from bot.app import App
from bot.digests import chart
from bot.digests.compose import compose
from bot.digests.engine import plans, scope_for
from bot.digests.sections import DigestKind, DigestScope, SectionResult
from bot.messages import OutMessage
from bot.outbox import Outbox
from storage.db import Database
from storage.models import Chat
from storage.models.digests import DigestRun
from storage.models.ideas import HIDDEN_IDEAS_INDEX
from tests.support import Bot, run_script

ROME = ZoneInfo("Europe/Rome")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@contextmanager
def counting(bot: Bot) -> Iterator[list[int]]:
    """Counts the SQL statements run inside the block (in `counted[0]`)."""
    counted = [0]

    def count(*_: object) -> None:
        counted[0] += 1

    engine = bot.app.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def digest(bot: Bot, chat: str, kind: DigestKind, start: datetime,
                 end: datetime) -> tuple[list[OutMessage], int]:
    """The digest `kind` of `chat` for [start, end), composed (nothing is claimed or sent),
    and how many SQL statements composing it took."""
    services = bot.app.services
    async with bot.app.db.transaction() as session:
        found = await session.scalar(select(Chat).where(Chat.external_id == chat))
        assert found is not None
        plan = next(p for p in await plans(session, services, [found.id]) if p.kind == kind)
        outbox = Outbox(session, bot.clock, services.platforms, "Europe/Rome")
        scope = await scope_for(session, plan, outbox.chat_target(found, plan.territory),
                                start, end)
        with counting(bot) as statements:
            messages = await compose(session, services, scope)
    return messages, statements[0]


def texts(messages: list[OutMessage]) -> str:
    return "\n".join(m.text.plain() for m in messages)


async def territory(bot: Bot, name: str, admin: str = "giulia") -> str:
    chat = name.lower()
    bot.admins.add((admin, chat))
    await bot.send(admin, chat, f"/territorio {name}")
    return chat


def number_in(replies: list[str], pattern: str) -> int:
    found = re.search(pattern, "\n".join(replies))
    assert found is not None, replies
    return int(found.group(1))


IDEAS = (
    "Un orto condiviso nel cortile della sede", "Una biblioteca degli attrezzi da prestare",
    "Un corso di fotografia per principianti", "Un cineforum il giovedì sera in sala grande",
    "Una ciclofficina popolare aperta il sabato", "Un coro di quartiere con prove settimanali",
    "Laboratori di teatro per ragazze e ragazzi", "Lezioni di yoga al parco la domenica",
    "Un torneo di scacchi tra territori", "Cene multietniche con ricette dal mondo",
    "Scambio di lingue tra soci stranieri e italiani", "Sportello informatico per anziani",
    "Un laboratorio di ceramica e terracotta", "Falegnameria condivisa con banchi da lavoro",
    "Escursioni in montagna una volta al mese", "Compostaggio collettivo degli scarti",
    "Repair café per piccoli elettrodomestici", "Serate di musica dal vivo con band locali",
)


async def busy_week(bot: Bot, chat: str, n: int) -> None:
    """A week's worth of everything in one territory: ideas supported, an answer, a hidden
    idea, a meetup with answers, a poll answered and closed, a facilitator named. `n` picks
    ideas unlike those of the other weeks (0 to 5)."""
    first = await bot.send("marco", chat, f"/idea {IDEAS[3 * n]}")
    number = number_in(first, r"Idea #(\d+)")
    await bot.send("sara", chat, f"/idea {IDEAS[3 * n + 1]} #servizi")
    await bot.send("piero", chat, f"/idea {IDEAS[3 * n + 2]}")
    for member in ("sara", "piero", "anna"):
        await bot.send(member, chat, f"/sostengo {number}")
    await bot.send("giulia", chat, f"/stato {number} adottata Partiamo a marzo")
    await bot.send("giulia", chat, f"/nascondi {number + 2} è pubblicità")
    await bot.send("marco", chat, "/facilitatore marco")  # refused: not an administrator
    await bot.send("giulia", chat, "/facilitatore sara")
    meetup = await bot.send("marco", chat, "/incontro Cena | dopodomani alle 19 | "
                                           "Trattoria da Mario")
    meetup_number = number_in(meetup, r"incontro n\. (\d+)")
    await bot.send("sara", chat, f"/partecipo {meetup_number} sì")
    poll = await bot.send("giulia", chat, "/sondaggio Mercatino? | sabato | domenica")
    poll_number = number_in(poll, r"Sondaggio n\. (\d+)")
    await bot.send("sara", chat, f"/vota {poll_number} 1")
    await bot.send("giulia", chat, f"/chiudi {poll_number}")


async def test_the_staff_digest_tells_each_territory_in_one_line(sqlite_url: str) -> None:
    start = datetime(2026, 10, 1, 10, 0, tzinfo=ROME)
    bot = await Bot.started(sqlite_url, now=start, staff=["anna"])
    await bot.send("anna", "sede", "/staff")
    for name in ("Milano", "Bologna", "Torino", "Genova"):
        await territory(bot, name)
    await bot.send("luca", "torino", "/idea Una festa d'estate per tutti i soci del territorio")
    await bot.send("luca", "genova", "/idea Un gruppo d'acquisto per la frutta di stagione")
    bot.clock.advance(timedelta(days=35))  # Thursday 5 November: Torino and Genova quiet
    week = bot.clock.now() - timedelta(days=7)
    await busy_week(bot, "milano", 1)
    await bot.send("luca", "bologna", "/idea Una sede aperta anche il sabato mattina")
    bot.clock.advance(timedelta(hours=1))
    messages, _ = await digest(bot, "sede", "staff_weekly", week, bot.clock.now())
    text = texts(messages)
    assert text.startswith("Riepilogo settimanale per lo staff\n\nPeriodo: 29 ottobre – "
                           "5 novembre 2026.\n\nTotali (variazione rispetto al periodo "
                           "precedente)\n\n")
    # Each territory with some activity in one line, without zeros; the hidden idea is not
    # counted; Torino and Genova, quiet, have no line.
    assert ("Territori\n\n• Milano — Sondaggi chiusi: 1 · Risposte ai sondaggi: 1 · Idee "
            "proposte: 2 · Sostegni alle idee: 3 · Idee con una risposta: 1 · Soci attivi: 4\n"
            "• Bologna — Idee proposte: 1 · Soci attivi: 1\n\n") in text
    assert "• Idee proposte: 3 (+3)" in text and "• Soci attivi: 5 (+5)" in text
    assert ("Idee più sostenute\n\n• Milano · #3 Un cineforum il giovedì sera in sala grande "
            "— 3 👍 · adottata (+3 in questo periodo)") in text
    assert "Moderazione\n\n• Milano · giulia ha segnato l'idea #3 come adottata" in text
    assert "• Milano · giulia ha nascosto l'idea #5: è pubblicità" in text
    assert "• Milano · giulia ha nominato sara facilitatore" in text
    assert "• Milano · giulia ha chiuso il sondaggio n. 1 prima della scadenza" in text
    assert ("In attesa di una risposta da più di 14 giorni: 2 idee\n\n"
            "• Torino · #1 Una festa d'estate per tutti i soci del territorio — proposta 35 "
            "giorni fa\n• Genova · #2 Un gruppo d'acquisto per la frutta di stagione — "
            "proposta 35 giorni fa") in text
    assert "Nessuna attività da 30 giorni in 2 territori: Genova, Torino" in text
    [picture] = [m for m in messages if m.attachment]
    assert picture is messages[-1]
    assert picture.attachment is not None and picture.attachment.is_image
    assert picture.attachment.data.startswith(PNG_MAGIC)
    assert len(picture.attachment.data) < 100_000
    assert picture.attachment.filename == "attivita-2026-11-05.png"
    daily, _ = await digest(bot, "sede", "staff", week, bot.clock.now())
    assert not any(m.attachment for m in daily)  # the chart goes with the weekly one
    await bot.stop()


async def test_a_week_both_told_and_charted_is_counted_once(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The weekly staff digest's own week is also its chart's last week, and the week it
    compares with the chart's last but one: each is counted once, and told in both places."""
    bot = await Bot.started(sqlite_url, now=datetime(2026, 11, 2, 10, 0, tzinfo=ROME),
                            staff=["anna"])
    await bot.send("anna", "sede", "/staff")
    await busy_week(bot, await territory(bot, "Milano"), 0)  # 4 members take part
    bot.clock.advance(timedelta(days=7))
    await busy_week(bot, "milano", 1)
    await bot.send("luca", "milano", "/sostengo 1")  # a fifth member
    bot.clock.advance(timedelta(hours=1))
    charted: list[list[int]] = []

    async def drawn(scope: DigestScope, weekly: list[list[object]]) -> list[OutMessage]:
        charted.extend(chart.weekly_members(weekly).values())  # type: ignore[arg-type]
        return []

    monkeypatch.setattr(chart, "message", drawn)
    columns: list[int] = []

    def count_columns(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if "FROM ideas" in sql and "GROUP BY ideas.territory_id, ideas.author_id" in sql:
            columns.append(sql.count("count(CASE"))

    event.listen(bot.app.db.engine.sync_engine, "before_cursor_execute", count_columns)
    end = bot.clock.now()
    messages, _ = await digest(bot, "sede", "staff_weekly", end - timedelta(days=7), end)
    assert "• Soci attivi: 5 (+1)" in texts(messages)
    assert charted == [[0, 0, 0, 0, 0, 0, 4, 5]]
    # The week, the week before, 30 days and 8 weeks: 11 periods, of which 9 differ.
    assert columns == [9]
    await bot.stop()


async def test_an_automatic_hide_is_moderation_without_an_actor(sqlite_url: str) -> None:
    bot = await Bot.started(sqlite_url, staff=["anna"], ideas={"report_threshold": 2})
    start = bot.clock.now()
    await bot.send("anna", "sede", "/staff")
    await territory(bot, "Milano")
    await bot.send("marco", "milano", "/idea Vendiamo tutto e compriamo una barca a vela")
    await bot.send("sara", "milano", "/segnala 1")
    await bot.send("piero", "milano", "/segnala 1")
    bot.clock.advance(timedelta(minutes=1))
    text = texts((await digest(bot, "sede", "staff", start, bot.clock.now()))[0])
    assert "• Milano · idea #1 nascosta dopo 2 segnalazioni" in text
    await bot.stop()


async def staff_and_busy_weeks(url: str) -> tuple[Bot, datetime]:
    """A bot whose "sede" chat is the staff's, allowed the commands of busy weeks; and the
    moment it started."""
    bot = await Bot.started(url, staff=["anna"], ideas={"daily_limit": 50},
                            limits={"commands_per_minute": 1000})
    start = bot.clock.now()
    await bot.send("anna", "sede", "/staff")
    return bot, start


async def test_building_a_digest_takes_the_same_queries_for_2_or_6_territories(
        database_url: str) -> None:
    bot, start = await staff_and_busy_weeks(database_url)
    for n, name in enumerate(("Milano", "Bologna")):
        await busy_week(bot, await territory(bot, name), n)
    bot.clock.advance(timedelta(hours=1))
    _, few = await digest(bot, "sede", "staff_weekly", start, bot.clock.now())
    _, few_here = await digest(bot, "milano", "territory", start, bot.clock.now())
    for n, name in enumerate(("Torino", "Genova", "Bari", "Pisa"), start=2):
        await busy_week(bot, await territory(bot, name), n)
        await busy_week(bot, "milano", n)
    bot.clock.advance(timedelta(hours=1))
    messages, many = await digest(bot, "sede", "staff_weekly", start, bot.clock.now())
    _, many_here = await digest(bot, "milano", "territory", start, bot.clock.now())
    assert "• Pisa — " in texts(messages)
    assert many == few
    assert many_here <= few_here + 1  # "the 10 most supported of 15" counts them once more
    await bot.stop()


# Tables whose rows pile up with the cooperative's history: a digest reads the period's rows
# of these through an index, never all of them (SQLite's plans, which have no statistics).
HISTORY = ("ideas", "idea_supports", "idea_events", "meetups", "meetup_answers", "polls",
           "poll_votes", "audit_log")
# ...except the index of hidden ideas alone, whose supports are left out: a handful.
FEW = f"SCAN ideas USING INDEX {HIDDEN_IDEAS_INDEX}"


async def test_staff_digests_read_the_periods_rows_not_the_whole_history(
        sqlite_url: str) -> None:
    bot, start = await staff_and_busy_weeks(sqlite_url)
    await busy_week(bot, await territory(bot, "Milano"), 0)
    bot.clock.advance(timedelta(hours=1))
    statements: list[tuple[str, object]] = []
    engine = bot.app.db.engine.sync_engine

    def keep(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", keep)
    for kind in ("staff_weekly", "staff"):
        await digest(bot, "sede", kind, start, bot.clock.now())
    event.remove(engine, "before_cursor_execute", keep)
    plans = await bot.app.db.run(lambda conn: [
        row[-1] for sql, params in statements if sql.lstrip().startswith("SELECT")
        for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)])
    await bot.stop()
    assert any(step.startswith("SEARCH meetups") for step in plans)
    assert FEW in plans
    assert [step for step in plans
            if (step.startswith(tuple(f"SCAN {table} " for table in HISTORY)) and step != FEW)
            or step in {f"SCAN {table}" for table in HISTORY}] == []


async def test_the_territory_digest_looks_14_days_ahead_for_meetups(sqlite_url: str) -> None:
    bot = await Bot.started(sqlite_url)  # Tuesday 1 December 2026
    start = bot.clock.now()
    await territory(bot, "Milano")
    for when in ("lunedì 7 dicembre alle 19", "lunedì 14 dicembre alle 19",
                 "sabato 19 dicembre alle 19"):
        await bot.send("marco", "milano", f"/incontro Riunione | {when} | Sede")
    await bot.send("marco", "milano", "/annulla_incontro 2 pioggia")
    await bot.send("sara", "milano", "/partecipo 1 sì")
    await bot.send("piero", "milano", "/partecipo 1 no")
    bot.clock.advance(timedelta(minutes=1))
    end = datetime(2026, 12, 7, 9, 0, tzinfo=ROME)  # Monday's digest
    text = texts((await digest(bot, "milano", "territory", start, end))[0])
    assert ("Incontri nei prossimi 14 giorni\n\n"
            "• n. 1 · lunedì 7 dicembre 2026, ore 19:00 · Riunione — ci sono 2, forse 0, "
            "non vengono 1\n"
            "• n. 3 · sabato 19 dicembre 2026, ore 19:00 · Riunione — ci sono 1, forse 0, "
            "non vengono 0") in text  # no. 2 is cancelled
    after = datetime(2026, 12, 14, 9, 0, tzinfo=ROME)  # the next Monday
    text = texts((await digest(bot, "milano", "territory", end, after))[0])
    assert ("Incontri che si sono tenuti\n\n• n. 1 · lunedì 7 dicembre 2026, ore 19:00 · "
            "Riunione — 2 persone avevano detto che ci sarebbero state") in text
    await bot.stop()


async def test_without_matplotlib_the_digest_goes_without_its_chart(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = await Bot.started(sqlite_url, staff=["anna"])
    start = bot.clock.now()
    await bot.send("anna", "sede", "/staff")
    await busy_week(bot, await territory(bot, "Milano"), 1)
    bot.clock.advance(timedelta(hours=1))
    with_chart, _ = await digest(bot, "sede", "staff_weekly", start, bot.clock.now())
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    assert not chart.available()
    without, _ = await digest(bot, "sede", "staff_weekly", start, bot.clock.now())
    assert with_chart[-1].attachment is not None
    assert [m.text for m in without] == [m.text for m in with_chart[:-1]]
    await bot.stop()


def test_the_chart_is_a_small_png_drawn_the_same_each_time() -> None:
    pytest.importorskip("matplotlib")
    lines = [(f"Territorio {n}", [n, n + 1, 0, 3, 2, 7, n, 1]) for n in range(6)]
    others = ("altri 994 territori", [40, 38, 45, 50, 41, 39, 60, 52])
    labels = [f"{day} ott" for day in range(1, 9)]
    first = chart.draw("Soci che hanno partecipato", labels, lines, others)
    assert first.startswith(PNG_MAGIC) and len(first) < 100_000
    assert chart.draw("Soci che hanno partecipato", labels, lines, others) == first


DST_SCRIPT = """\
:admin giulia@milano
:staff anna
giulia@milano: /territorio Milano
anna@sede: /staff
marco@milano: /idea Un orto condiviso nel cortile della sede
:wait 1d
sara@milano: /idea Una biblioteca degli attrezzi per i soci
:wait 1d
piero@milano: /idea Un corso di fotografia il sabato mattina
:wait 1d
luca@milano: /idea Una festa di fine anno in piazza per tutti
:wait 1d
giulia@milano: /riepilogo
anna@sede: /riepilogo
"""


async def test_schedules_keep_local_time_across_the_october_change(sqlite_url: str) -> None:
    # From Thursday 22 October 2026, 10:00; the clocks go back at 03:00 on Sunday 25.
    transcript = await run_script(DST_SCRIPT, sqlite_url,
                                  now=datetime(2026, 10, 22, 10, 0, tzinfo=ROME))
    assert transcript.count("→ sede: Riepilogo quotidiano per lo staff") == 3  # Fri, Sat, Sun
    assert transcript.count("→ sede: Riepilogo settimanale per lo staff") == 1  # Monday
    assert transcript.count("→ milano: Cosa è successo a Milano") == 1
    assert "Periodo: 22 ottobre – 26 ottobre 2026." in transcript
    assert ("Riepilogo qui: alle 09:00, solo il lunedì (0 9 * * MON); il prossimo lunedì "
            "2 novembre, 09:00.") in transcript
    assert "Riepilogo quotidiano qui: alle 08:00 (0 8 * * *); il prossimo martedì " \
           "27 ottobre, 08:00." in transcript
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            done = list(await session.scalars(select(DigestRun).order_by(DigestRun.period_end,
                                                                         DigestRun.kind)))
    finally:
        await database.dispose()
    local = [(r.kind, r.period_end.astimezone(ROME).strftime("%a %d %H:%M"),
              r.period_end.astimezone(UTC).hour) for r in done]
    assert local == [
        ("staff", "Fri 23 08:00", 6), ("staff", "Sat 24 08:00", 6),
        ("staff", "Sun 25 08:00", 7),  # winter time from here: 08:00 is 07:00 UTC
        ("staff", "Mon 26 08:00", 7), ("staff_weekly", "Mon 26 08:00", 7),
        ("territory", "Mon 26 09:00", 8)]
    assert [r.skipped for r in done] == [False, False, False, True, False, False]


async def test_a_crash_between_two_chats_of_one_run(sqlite_url: str) -> None:
    """Milano and Bologna are due at the same tick; the bot dies after Milano's digest went
    out and before Bologna's. After the restart Bologna gets its own, Milano nothing more."""
    bot = await Bot.started(sqlite_url)
    for name in ("Milano", "Bologna"):
        chat = await territory(bot, name)
        await bot.send("marco", chat, f"/idea Una cena tra i soci di {name} ogni mese")
    bot.adapter.sent.clear()
    original = bot.adapter.deliver

    async def deliver_then_die(item):  # type: ignore[no-untyped-def]
        if item.destination.chat_id == "bologna":
            raise RetryLater("the process is about to die")
        return await original(item)

    bot.adapter.deliver = deliver_then_die  # type: ignore[method-assign]
    await bot.app.scheduler.advance(bot.clock, timedelta(days=6))  # Monday 7, 10:00
    assert [s.item.destination.chat_id for s in bot.adapter.sent] == ["milano"]
    await bot.stop()
    revived = await Bot.started(sqlite_url, now=bot.clock.now() + timedelta(minutes=5))
    assert [(s.item.destination.chat_id, s.text.splitlines()[0])
            for s in revived.adapter.sent] == [("bologna", "Cosa è successo a Bologna")]
    await revived.app.scheduler.advance(revived.clock, timedelta(days=1))
    assert len(revived.adapter.sent) == 1
    async with revived.app.db.transaction() as session:
        kinds = [r.kind for r in await session.scalars(select(DigestRun))]
    assert kinds == ["territory", "territory"]
    await revived.stop()


class ProcessDied(BaseException):
    """The process dies here: nothing in the bot catches it."""


class Faults:
    """A digest section that fails in the territory digests of the territories named in
    `where`, with the exception given there."""

    def __init__(self) -> None:
        self.where: dict[str, BaseException] = {}

    async def section(self, session: AsyncSession, scope: DigestScope) -> SectionResult:
        for place in scope.territories if scope.kind == "territory" else ():
            if place.name in self.where:
                raise self.where[place.name]
        return SectionResult()

    def prepare(self, app: App) -> None:
        app.services.registry.digest_section(self.section)


async def told(database_url: str) -> list[tuple[str, str]]:
    """(chat, local period end) of every digest claimed, in the order they were claimed."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            rows = (await session.execute(
                select(Chat.external_id, DigestRun.period_end)
                .join(Chat, Chat.id == DigestRun.chat_id).order_by(DigestRun.id))).all()
    finally:
        await database.dispose()
    return [(chat, end.astimezone(ROME).strftime("%a %d %H:%M")) for chat, end in rows]


def digests_sent(bot: Bot) -> list[tuple[str, str]]:
    """(chat, period) of each territory digest that reached a chat."""
    return [(s.item.destination.chat_id or "", s.text.splitlines()[2]) for s in bot.adapter.sent
            if s.text.startswith("Cosa è successo a")]


async def test_each_digest_of_a_shared_tick_is_a_transaction_of_its_own(
        database_url: str) -> None:
    """Milano, Bologna and Torino share Monday 09:00. Bologna's digest fails: the other two
    go out and Bologna's stays due, to go out (late) once the fault is gone. A week later the
    process dies while composing Bologna's: Milano's, composed before, stays told; after the
    restart Bologna and Torino get theirs, and nobody gets one twice."""
    faults = Faults()
    bot = await Bot.started(database_url, prepare=faults.prepare)  # Tuesday 1 December
    for n, name in enumerate(("Milano", "Bologna", "Torino")):
        await bot.send("marco", await territory(bot, name), f"/idea {IDEAS[n]}")
    faults.where["Bologna"] = RuntimeError("this territory's digest fails")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=6))  # Monday 7, 10:00
    first_week = "Periodo: 1 dicembre – 7 dicembre 2026."
    assert digests_sent(bot) == [("milano", first_week), ("torino", first_week)]
    assert await told(database_url) == [("milano", "Mon 07 09:00"), ("torino", "Mon 07 09:00")]
    del faults.where["Bologna"]
    await bot.app.scheduler.advance(bot.clock, timedelta(minutes=5))
    assert digests_sent(bot)[2:] == [("bologna", first_week)]
    assert "In ritardo" in bot.adapter.sent[-1].text
    for n, chat in enumerate(("milano", "bologna", "torino"), start=3):
        await bot.send("sara", chat, f"/idea {IDEAS[n]}")
    faults.where["Bologna"] = ProcessDied()
    with pytest.raises(ProcessDied):
        await bot.app.scheduler.advance(bot.clock, timedelta(days=7))  # Monday 14, 09:00
    assert (await told(database_url))[3:] == [("milano", "Mon 14 09:00")]
    second_week = "Periodo: 7 dicembre – 14 dicembre 2026."
    assert digests_sent(bot)[3:] == [("milano", second_week)]  # delivered once committed
    await bot.stop()
    del faults.where["Bologna"]
    revived = await Bot.started(database_url, now=bot.clock.now() + timedelta(minutes=5),
                                prepare=faults.prepare)
    await revived.app.scheduler.advance(revived.clock, timedelta(days=1))
    assert digests_sent(revived) == [("bologna", second_week), ("torino", second_week)]
    assert sorted((await told(database_url))[3:]) == [
        ("bologna", "Mon 14 09:00"), ("milano", "Mon 14 09:00"), ("torino", "Mon 14 09:00")]
    await revived.stop()
