"""What follows a poll: the not-yet-answered reminder (once), and the meetup made of a
date poll's winner with the yes-voters marked "maybe". The clock starts on Tuesday
1 December 2026 at 10:00 in Rome."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import Conversation, Member
from storage.models.meetups import Meetup, MeetupAnswer
from storage.models.polls import Poll
from tests.support import Bot

DATES = ("Cena? | venerdì 18 dicembre alle 20 | sabato 19 dicembre alle 20 | "
         "domenica 20 dicembre alle 13")


def to(bot: Bot, where: str, since: int = 0) -> list[str]:
    """Texts sent to a chat, or privately to a user (`dm:NAME`), from index `since` on."""
    out = []
    for sent in bot.adapter.sent[since:]:
        dest = sent.item.destination
        if (dest.chat_id == where) or (where.startswith("dm:") and dest.user_id == where[3:]):
            out.append(sent.text)
    return out


async def answers(bot: Bot, meetup_id: int) -> dict[str, str]:
    async with bot.app.db.transaction() as session:
        found = await session.execute(
            select(Member.display_name, MeetupAnswer.answer)
            .join(MeetupAnswer, MeetupAnswer.member_id == Member.id)
            .where(MeetupAnswer.meetup_id == meetup_id))
        return dict(found.all())


async def test_the_not_yet_answered_are_reminded_once(bot: Bot) -> None:
    # Known to Milano: sara chose it in private, luca answered an earlier poll, paolo
    # proposed an idea there.
    await bot.send("sara", "dm-sara", "/territorio Milano")
    await bot.send("paolo", "milano", "/idea Un corso sui bandi europei per i soci")
    await bot.send("giulia", "milano", "/sondaggio Prima? | a | b")
    await bot.send("luca", "milano", "/vota 1 1")
    await bot.send("giulia", "milano", "/sondaggio Pizza? | margherita | marinara | "
                                       "chiude: venerdì alle 18")
    await bot.send("marco", "milano", "/vota 2 1")
    since = len(bot.adapter.sent)
    await bot.app.scheduler.advance(bot.clock, timedelta(days=2, hours=7))  # Thu 17:00
    assert to(bot, "milano", since) == []
    await bot.app.scheduler.advance(bot.clock, timedelta(hours=2))  # Thu 19:00
    [in_chat] = to(bot, "milano", since)
    assert in_chat.startswith("⏰ Il sondaggio n. 2, Pizza?, chiude tra 24 ore")
    # giulia (who launched it), luca, sara and paolo have not answered; marco has.
    assert "4 soci non hanno ancora risposto." in in_chat
    for name in ("giulia", "luca", "sara", "paolo"):
        [private] = to(bot, f"dm:{name}", since)
        assert private.startswith("⏰ Non hai ancora risposto al sondaggio n. 2 di Milano")
        assert "Per rispondere, scrivi /vota 2 1 2." in private
    assert to(bot, "dm:marco", since) == []
    reminded = len(bot.adapter.sent)
    await bot.app.scheduler.advance(bot.clock, timedelta(hours=3))
    assert len(bot.adapter.sent) == reminded
    # Another start on the same database (a restart) finds nothing left to remind.
    revived = await Bot.started(bot.app.config.database.url, now=bot.clock.now())
    await revived.app.delivery.drain()
    assert revived.adapter.sent == []
    await revived.stop()
    [_, poll] = await polls(bot)
    assert poll.reminded_at is not None


async def polls(bot: Bot) -> list[Poll]:
    async with bot.app.db.transaction() as session:
        return list(await session.scalars(select(Poll).order_by(Poll.id)))


async def test_a_short_poll_has_no_reminder_and_a_late_one_is_sent_if_still_open(
        database_url: str) -> None:
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/sondaggio Oggi? | a | b | chiude: domani alle 9")
    await bot.send("giulia", "milano", "/sondaggio Presto? | a | b | chiude: sabato alle 10")
    short, later = await polls(bot)
    assert short.remind_at is None
    assert later.remind_at == later.closes_at - timedelta(hours=24)
    await bot.stop()
    # Down from Tuesday to Friday 20:00: the reminder is late but the poll still open.
    revived = await Bot.started(database_url, now=bot.clock.now() + timedelta(days=3, hours=10))
    await revived.app.delivery.drain()
    texts = revived.adapter.texts("milano")
    assert any(t.startswith("⏰ Il sondaggio n. 2, Presto?, chiude tra 14 ore") for t in texts)
    assert any("Il sondaggio n. 1 è chiuso" in t for t in texts)
    await revived.stop()


async def test_a_date_poll_becomes_a_meetup_with_its_yes_voters_maybe(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    await bot.send("marco", "milano", "/vota 1 1 2")
    await bot.send("anna", "milano", "/vota 1 2")
    await bot.send("luca", "milano", "/vota 1 3")
    await bot.send("giulia", "milano", "/vota 1 2")  # the facilitator's own yes: going
    assert await bot.send("giulia", "milano", "/crea_incontro 1") == [
        "Il sondaggio n. 1 è ancora aperto. Per chiuderlo ora: /chiudi 1"]
    await bot.send("giulia", "milano", "/chiudi 1")
    result = bot.adapter.sent[-1]
    assert result.item.message.key == "poll:1:result"
    [[create]] = result.item.message.actions
    assert create.label == "📅 Crea incontro"
    assert await bot.press("marco", "milano", create.token) == (
        "Solo i facilitatori di Milano possono creare un incontro da un sondaggio.")
    assert await bot.press("giulia", "milano", create.token) == "Dove sarà? Rispondi nella chat."
    since = len(bot.adapter.sent)
    await bot.send("giulia", "milano", "Trattoria da Mario")
    async with bot.app.db.transaction() as session:
        [meetup] = list(await session.scalars(select(Meetup)))
        [poll] = list(await session.scalars(select(Poll)))
        assert await session.scalar(select(Conversation)) is None
    assert (meetup.title, meetup.place) == ("Cena?", "Trattoria da Mario")
    assert meetup.starts_at.isoformat() == "2026-12-19T19:00:00+00:00"
    assert poll.meetup_id == meetup.id
    assert await answers(bot, meetup.id) == {"giulia": "going", "marco": "maybe",
                                             "anna": "maybe"}
    for name in ("marco", "anna"):
        [invitation] = to(bot, f"dm:{name}", since)
        assert "Avevi detto sì a questa data, quindi ti ho segnato come «forse»." in invitation
        assert "/partecipo 1 sì" in invitation
    assert to(bot, "dm:luca", since) == []
    assert "È diventato l'incontro n. 1." in to(bot, "milano", since)[-2]
    assert await bot.press("giulia", "milano", create.token) == (
        "Il sondaggio n. 1 è già diventato l'incontro n. 1.")


async def test_a_tie_asks_which_date_and_the_command_takes_the_place(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    await bot.send("marco", "milano", "/vota 1 1")
    await bot.send("anna", "milano", "/vota 1 3")
    await bot.send("giulia", "milano", "/chiudi 1")
    result = bot.adapter.sent[-1]
    assert "🤝 Parità tra venerdì 18 dicembre 2026, ore 20:00 e domenica 20 dicembre 2026, "\
           "ore 13:00: 1 voto ciascuna." in result.text
    assert [row[0].label for row in result.item.message.actions] == [
        "📅 1. venerdì 18 dicembre 2026, ore 20:00", "📅 3. domenica 20 dicembre 2026, ore 13:00"]
    assert (await bot.send("giulia", "milano", "/crea_incontro 1"))[0].startswith(
        "Nel sondaggio n. 1 non ha vinto una sola data")
    assert (await bot.send("giulia", "milano", "/crea_incontro 1 7"))[0].startswith(
        "Il sondaggio n. 1 ha le opzioni da 1 a 3.")
    await bot.send("giulia", "milano", "/crea_incontro 1 3 | Parco Sempione")
    assert await answers(bot, 1) == {"giulia": "going", "anna": "maybe"}


async def test_an_anonymous_date_poll_marks_nobody(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES + " | anonimo | luogo: Circolo")
    await bot.send("marco", "milano", "/vota 1 2")
    await bot.send("giulia", "milano", "/chiudi 1")
    replies = await bot.send("giulia", "milano", "/crea_incontro 1")
    assert replies[-1] == ("Il sondaggio era anonimo, quindi non ho segnato nessuno: ognuno "
                           "risponde sul biglietto dell'incontro.")
    assert await answers(bot, 1) == {"giulia": "going"}


async def test_a_plain_poll_cannot_become_a_meetup(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio Pizza? | margherita | marinara")
    await bot.send("marco", "milano", "/vota 1 1")
    await bot.send("giulia", "milano", "/chiudi 1")
    assert "/crea_incontro" not in bot.adapter.sent[-1].text
    assert (await bot.send("giulia", "milano", "/crea_incontro 1"))[0].startswith(
        "Il sondaggio n. 1 non è sulle date")
