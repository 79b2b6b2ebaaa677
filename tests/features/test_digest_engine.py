"""Digest delivery: schedules in territory time, exactly once, late after downtime, preview.

A test section stands in for the features' sections: it lists the territories created in
the period, which the tests control with `/territorio`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import Capabilities, RetryLater
from bot.app import App
from bot.digests.schedule import Schedule, describe
from bot.digests.sections import DigestScope, SectionResult
from bot.messages import paragraph
from storage.models import Territory
from storage.models.digests import DigestRun
from tests.support import Bot

ROME = ZoneInfo("Europe/Rome")


async def new_territories(session: AsyncSession, scope: DigestScope) -> SectionResult:
    rows = (await session.execute(
        select(Territory.id, Territory.name, *scope.tally(Territory.created_at))
        .where(*scope.during(Territory.created_at))
        .group_by(Territory.id, Territory.name).order_by(Territory.name))).all()
    if not rows:
        return SectionResult()
    result = SectionResult([] if scope.counts_only else [
        paragraph("Nuovi territori: " + ", ".join(name for _, name, *_ in rows))])
    result.count("Ideas proposed", ((territory_id, *n) for territory_id, _, *n in rows))
    return result


async def started(database_url: str, now: datetime, max_text: int = 4096,
                  **config: object) -> Bot:
    def prepare(app: App) -> None:
        app.services.registry.digest_section(new_territories)
        app.services.platforms.add("memory", Capabilities(max_text=max_text), "/")

    bot = await Bot.started(database_url, now=now, staff=["anna"], prepare=prepare, **config)
    bot.admins.update({("giulia", "milano"), ("luca", "bologna")})
    return bot


@pytest.fixture
async def bot(sqlite_url: str) -> AsyncIterator[Bot]:
    # Thursday 15 October 2026, 10:00 in Rome; the clocks go back on Sunday 25 October.
    bot = await started(sqlite_url, datetime(2026, 10, 15, 10, 0, tzinfo=ROME))
    yield bot
    await bot.stop()


def sent_to(bot: Bot, chat: str) -> list[tuple[str, str]]:
    """(local time of sending, text) of what reached `chat`."""
    return [(s.item.destination.chat_id or "", s.text) for s in bot.adapter.sent
            if s.item.destination.chat_id == chat]


async def runs(bot: Bot) -> list[DigestRun]:
    async with bot.app.db.transaction() as session:
        return list(await session.scalars(select(DigestRun).order_by(DigestRun.id)))


def test_schedule_ticks_follow_territory_time_across_daylight_saving() -> None:
    weekly = Schedule.parse("0 9 * * MON", ROME)
    ticks = weekly.ticks_between(datetime(2026, 10, 15, tzinfo=UTC),
                                 datetime(2026, 11, 3, tzinfo=UTC))
    assert [t.astimezone(ROME).strftime("%a %d %H:%M") for t in ticks] == [
        "Mon 19 09:00", "Mon 26 09:00", "Mon 02 09:00"]
    assert [t.hour for t in ticks] == [7, 8, 8]  # UTC: summer time, then winter time


def test_schedules_in_words() -> None:
    assert describe("0 9 * * MON", "it") == "Alle 09:00, solo il lunedì"
    assert describe("0 9 * * MON", "en") == "At 09:00, only on Monday"
    assert describe("30 18 * * MON-FRI", "it") == "Alle 18:30, lunedì al venerdì"


async def test_weekly_digest_once_a_week_in_territory_time(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=4))  # to Monday 19, 10:00
    digests = [s for s in bot.adapter.sent if "What happened" in s.text
               or "Cosa è successo" in s.text]
    assert len(digests) == 1
    assert "Nuovi territori: Milano" in digests[0].text
    assert "Periodo: 15 ottobre – 19 ottobre 2026." in digests[0].text
    await bot.send("luca", "bologna", "/territorio Bologna")
    bot.adapter.sent.clear()
    await bot.app.scheduler.advance(bot.clock, timedelta(days=7))  # past Monday 26, 09:00 CET
    texts = [s.text for s in bot.adapter.sent]
    assert len(texts) == 2  # one digest for each territory chat
    assert all("Nuovi territori: Bologna" in t for t in texts)
    done = [r for r in await runs(bot) if not r.skipped]
    assert [r.period_end.astimezone(ROME).strftime("%d %H:%M") for r in done] == [
        "19 09:00", "26 09:00", "26 09:00"]
    assert not any(r.late for r in done)


async def test_an_empty_period_sends_nothing_or_one_line(sqlite_url: str) -> None:
    now = datetime(2026, 10, 15, 10, 0, tzinfo=ROME)
    bot = await started(sqlite_url, now)
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=4))
    bot.adapter.sent.clear()
    await bot.app.scheduler.advance(bot.clock, timedelta(days=7))
    assert bot.adapter.sent == []
    assert (await runs(bot))[-1].skipped
    await bot.stop()

    bot = await started(sqlite_url.replace("test.db", "line.db"), now,
                        digests={"empty": "line"})
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=4))
    bot.adapter.sent.clear()
    await bot.app.scheduler.advance(bot.clock, timedelta(days=7))
    assert [s.text for s in bot.adapter.sent] == [
        "Cosa è successo a Milano\n\nNiente di nuovo in questo periodo."]
    await bot.stop()


async def test_preview_has_no_side_effects(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/territorio Milano")
    bot.clock.advance(timedelta(minutes=1))
    replies = await bot.send("marco", "milano", "/riepilogo anteprima")
    assert "Anteprima" in replies[0] and "Nuovi territori: Milano" in replies[1]
    assert await runs(bot) == []
    await bot.app.scheduler.advance(bot.clock, timedelta(days=4))
    assert any("Nuovi territori: Milano" in s.text for s in bot.adapter.sent[len(replies) + 1:])


async def test_schedule_changed_by_command(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/territorio Milano")
    assert await bot.send("marco", "milano", "/riepilogo orario 0 18 * * FRI") == [
        "Solo i facilitatori di Milano possono farlo: gli amministratori della chat, i soci "
        "con questo ruolo e lo staff."]
    bad = await bot.send("giulia", "milano", "/riepilogo orario ogni venerdì")
    assert bad[0].startswith("ogni venerdì non è un orario che capisco.")
    assert await bot.send("giulia", "milano", "/riepilogo orario 0 18 * * FRI") == [
        "Fatto: il riepilogo arriverà alle 18:00, solo il venerdì; il prossimo venerdì "
        "16 ottobre, 18:00."]
    bot.adapter.sent.clear()
    await bot.app.scheduler.advance(bot.clock, timedelta(days=2))
    assert len(bot.adapter.sent) == 1
    assert (await runs(bot))[0].period_end == datetime(2026, 10, 16, 16, 0, tzinfo=UTC)


async def test_downtime_of_three_periods_sends_one_late_digest(sqlite_url: str) -> None:
    bot = await started(sqlite_url, datetime(2026, 10, 15, 10, 0, tzinfo=ROME))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.stop()
    bot.clock.advance(timedelta(days=22))  # down from Thursday 15 to Friday 6 November
    revived = await started(sqlite_url, bot.clock.now())
    texts = [s.text for s in revived.adapter.sent]
    assert len(texts) == 1
    assert "In ritardo: questo riepilogo era previsto per lunedì 19 ottobre, 09:00." in texts[0]
    assert "Nuovi territori: Milano" in texts[0]
    assert [r.late for r in await runs(revived)] == [True]
    await revived.app.scheduler.advance(revived.clock, timedelta(days=1))
    assert len(revived.adapter.sent) == 1
    await revived.stop()


async def test_a_crash_between_two_deliveries_of_one_digest(sqlite_url: str) -> None:
    bot = await started(sqlite_url, datetime(2026, 10, 15, 10, 0, tzinfo=ROME), max_text=60)
    for name in ("Milano", "Bologna", "Torino", "Genova"):
        await bot.send("giulia", "milano", f"/territorio {name}")
    bot.adapter.sent.clear()
    # The second part fails: the bot dies before it is delivered.
    original = bot.adapter.deliver
    calls = 0

    async def deliver_then_die(item):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RetryLater("the process is about to die")
        return await original(item)

    bot.adapter.deliver = deliver_then_die  # type: ignore[method-assign]
    await bot.app.scheduler.advance(bot.clock, timedelta(days=4))
    first = [s.text for s in bot.adapter.sent]
    assert len(first) == 1
    await bot.stop()
    revived = await started(sqlite_url, bot.clock.now() + timedelta(minutes=5), max_text=60)
    rest = [s.text for s in revived.adapter.sent]
    assert rest and first[0] not in rest
    assert "Genova" in " ".join(first + rest)
    assert len([r for r in await runs(revived) if not r.skipped]) == 1
    await revived.stop()


async def test_staff_digests_daily_and_weekly(bot: Bot) -> None:
    await bot.send("anna", "sede", "/staff")
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=1))  # Friday 16, 10:00
    daily = sent_to(bot, "sede")[1:]
    assert len(daily) == 1 and "Riepilogo quotidiano per lo staff" in daily[0][1]
    assert "Idee proposte: 1 (+1)" in daily[0][1]
    await bot.send("luca", "bologna", "/territorio Bologna")
    await bot.app.scheduler.advance(bot.clock, timedelta(days=3))  # to Monday 19, 10:00
    saturday, monday = (text for _, text in sent_to(bot, "sede")[2:])  # Sunday: nothing new
    assert "Riepilogo quotidiano" in saturday and "Bologna" in saturday
    assert "Riepilogo settimanale per lo staff" in monday
    assert "Nuovi territori: Bologna, Milano" in monday  # the weekly one tells the whole week
    kinds = {(r.kind, r.skipped) for r in await runs(bot) if r.chat_id == 1}
    assert ("staff", True) in kinds  # Monday's daily digest: covered by the weekly one


async def test_digest_now_is_for_staff(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/territorio Milano")
    refused = await bot.send("giulia", "milano", "/riepilogo ora")
    assert refused == ["Solo lo staff della cooperativa può farlo."]
    bot.clock.advance(timedelta(minutes=1))
    sent = await bot.send("anna", "milano", "/riepilogo ora")
    assert len(sent) == 1 and "Nuovi territori: Milano" in sent[0]
    assert await bot.send("anna", "milano", "/riepilogo ora") == [
        "Niente di nuovo da raccontare dall'ultimo riepilogo; il prossimo periodo parte da ora."]
    async with bot.app.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(DigestRun)) == 1
