"""The polls section of digests: closed polls with their result, open ones with their
deadline and leader, the period half-open, and a fixed number of queries however many
territories and polls there are."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select

from bot.digests.sections import DigestKind, DigestScope, SectionResult
from bot.messages import RichText
from bot.outbox import Outbox
from bot.polls.digest import polls_section
from bot.polls.scoring import YNM, Count, key, leaders, points, ranking
from storage.models import Chat, Territory
from tests.support import Bot


async def section(bot: Bot, kind: DigestKind, start: datetime, end: datetime,
                  chat: str = "milano") -> tuple[SectionResult, int]:
    """The section for `chat`'s territory (or all territories, for staff: the pass that
    counts, as a staff digest's lists count nothing), and how many SQL statements it took."""
    statements = 0

    def counted(*_: object) -> None:
        nonlocal statements
        statements += 1

    engine = bot.app.db.engine.sync_engine
    async with bot.app.db.transaction() as session:
        found = await session.scalar(select(Chat).where(Chat.external_id == chat))
        assert found is not None and found.territory_id is not None
        territory = await session.get_one(Territory, found.territory_id)
        territories = ((territory,) if kind == "territory"
                       else tuple(await session.scalars(select(Territory))))
        outbox = Outbox(session, bot.clock, bot.app.services.platforms, "Europe/Rome")
        scope = DigestScope(kind, start, end, outbox.chat_target(found, territory), territories,
                            counts_only=kind != "territory")
        event.listen(engine, "before_cursor_execute", counted)
        try:
            result = await polls_section(session, scope)
        finally:
            event.remove(engine, "before_cursor_execute", counted)
    return result, statements


def text(result: SectionResult) -> str:
    return RichText(tuple(result.blocks)).plain()


async def test_closed_polls_with_their_result_and_open_ones_with_deadline(
        database_url: str) -> None:
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    start = bot.clock.now()
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/sondaggio Pizza? | margherita | marinara")
    await bot.send("giulia", "milano", "/sondaggio Festa? | piazza | circolo | "
                                       "risultati: alla chiusura")
    await bot.send("marco", "milano", "/vota 1 2")
    await bot.send("anna", "milano", "/vota 2 1")
    bot.clock.advance(timedelta(hours=1))
    await bot.send("giulia", "milano", "/chiudi 1")
    end = bot.clock.now() + timedelta(hours=1)
    result, _ = await section(bot, "territory", start, end)
    assert text(result) == (
        "Sondaggi chiusi\n\n"
        "• n. 1 Pizza? — ha scelto marinara (1 risposta)\n\n"
        "Sondaggi aperti\n\n"
        "• n. 2 Festa?, chiude martedì 8 dicembre 2026, ore 10:00 — risultati alla chiusura")
    assert len(result.tally().active_members) == 2
    assert result.tally().metrics == {"Polls closed": 1, "Poll answers": 2}
    # [start, end): a poll closed at the very end of the period is still open in it.
    result, _ = await section(bot, "territory", start, start + timedelta(hours=1))
    assert "Sondaggi chiusi" not in text(result)
    assert "n. 1 Pizza?, chiude" in text(result)
    await bot.stop()


async def test_the_section_takes_the_same_queries_for_one_poll_or_many(sqlite_url: str) -> None:
    bot = await Bot.started(sqlite_url)
    start = bot.clock.now()
    towns = ["Milano", "Roma", "Bari", "Pisa"]
    for town in towns:
        chat = town.lower()
        bot.admins.add(("giulia", chat))
        await bot.send("giulia", chat, f"/territorio {town}")
    await bot.send("giulia", "milano", "/sondaggio A? | a | b")
    await bot.send("giulia", "milano", "/chiudi 1")
    await bot.send("giulia", "milano", "/sondaggio B? | a | b")
    end = bot.clock.now() + timedelta(hours=1)
    _, few = await section(bot, "staff", start, end)
    for town in towns:
        for n in range(3):
            await bot.send("giulia", town.lower(), f"/sondaggio {town} {n}? | a | b")
            await bot.send("marco", town.lower(), "/vota 3 1")
    await bot.send("giulia", "roma", "/chiudi 6")
    result, many = await section(bot, "staff", start, end)
    assert many == few
    milano, roma = 1, 2
    assert result.tally().counts == {milano: {"Polls closed": 1, "Poll answers": 1},
                             roma: {"Polls closed": 1}}
    await bot.stop()


def test_ranking_in_yes_maybe_no() -> None:
    counts = [Count(1, 2, 1), Count(1, 2, 0), Count(2, 0, 1), Count(0, 0, 3)]
    assert [points(c, YNM) for c in counts] == [2.0, 2.0, 2.0, 0.0]
    assert ranking(counts, YNM) == [1, 0, 2, 3]  # the same score: fewer no first
    assert leaders(counts, YNM) == [1]
    assert key(Count(0, 1, 0), YNM) > key(Count(0, 0, 0), YNM)  # an if need be is half a yes
    assert leaders([Count(0, 0, 2), Count(0, 0, 1)], YNM) == []  # only no: no winner


def test_ranking_when_choosing() -> None:
    assert leaders([Count(2), Count(3), Count(3)], "pick") == [1, 2]  # a tie
    assert leaders([Count(), Count()], "pick") == []
    assert points(Count(3), "pick") == 3.0
