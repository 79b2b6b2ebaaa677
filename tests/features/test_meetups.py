"""Meetups through the core with in-memory adapters, checked against the database too
(SQLite and PostgreSQL): answers and the waiting list, refusals that leave nothing behind,
the daylight-saving weekend, calendar files, reminders after downtime, the guided form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from bot.events import ActionEvent
from bot.messages import Action
from storage.models import Member
from storage.models.meetups import Meetup, MeetupAnswer, MeetupReminder
from tests.support import Bot

ROME = ZoneInfo("Europe/Rome")




async def count(bot: Bot, model: type) -> int:
    async with bot.app.db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def card(bot: Bot, chat: str, number: int = 1) -> tuple[str, list[Action]]:
    """The latest version of meetup `number`'s card in `chat`: its text and buttons."""
    for sent in reversed(bot.adapter.sent):
        message = sent.item.message
        if message.key == f"meetup:{number}" and sent.item.destination.chat_id == chat:
            return message.text.plain(), [a for row in message.actions for a in row]
    raise AssertionError(f"no card {number} in {chat}")


async def answers(bot: Bot, meetup: int = 1) -> dict[str, list[str]]:
    async with bot.app.db.transaction() as session:
        found = await session.execute(
            select(MeetupAnswer.answer, Member.display_name)
            .join(Member, Member.id == MeetupAnswer.member_id)
            .where(MeetupAnswer.meetup_id == meetup)
            .order_by(MeetupAnswer.queue, MeetupAnswer.answered_at, MeetupAnswer.id))
        result: dict[str, list[str]] = {}
        for answer, name in found:
            result.setdefault(answer, []).append(name)
        return result


async def test_waiting_list_in_order_and_promotion(bot: Bot) -> None:
    await bot.send("giulia", "milano",
                   "/incontro Cena | sabato alle 19 | Trattoria da Mario | posti: 2")
    for name in ("marco", "anna", "luca", "sara"):
        await bot.send(name, "milano", "/partecipo 1 sì")
    assert await answers(bot) == {"going": ["giulia", "marco"],
                                  "waiting": ["anna", "luca", "sara"]}
    # a second answer replaces the first; the first waiting member takes the place
    replies = await bot.send("marco", "milano", "/partecipo 1 forse")
    assert await answers(bot) == {"going": ["giulia", "anna"], "maybe": ["marco"],
                                  "waiting": ["luca", "sara"]}
    assert any("si è liberato un posto per Cena" in r for r in replies)
    private = [s for s in bot.adapter.sent if s.item.destination.user_id == "anna"]
    assert len(private) == 1
    # a waiting member saying yes again keeps their place
    assert await bot.send("sara", "milano", "/partecipo 1 sì") == [
        "Sei già in lista d'attesa, numero 2."]
    # more seats: the waiting list moves up in order; fewer seats bump nobody
    await bot.send("giulia", "milano", "/modifica 1 posti 3")
    assert await answers(bot) == {"going": ["giulia", "anna", "luca"], "maybe": ["marco"],
                                  "waiting": ["sara"]}
    await bot.send("giulia", "milano", "/modifica 1 posti 1")
    assert (await answers(bot))["going"] == ["giulia", "anna", "luca"]
    text, buttons = card(bot, "milano")
    assert "Ci sono (3 su 1): giulia, anna, luca" in text
    assert "Lista d'attesa: sara" in text
    assert [b.label for b in buttons] == ["Ci sono", "Forse", "Non vengo", "Calendario"]
    assert [b.emoji for b in buttons] == ["✅", "🤔", "❌", "📅"]
    assert [b.command for b in buttons] == ["/partecipo 1 sì", "/partecipo 1 forse",
                                            "/partecipo 1 no", "/calendario 1"]


async def test_the_card_is_edited_in_place(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/incontro Cena | sabato alle 19 | Trattoria da Mario")
    _, buttons = card(bot, "milano")
    assert await bot.press("marco", "milano", buttons[0].token) == \
        "Segnato: ci sei. Ci vediamo lì!"
    versions = [s for s in bot.adapter.sent if s.item.message.key == "meetup:1"]
    assert len(versions) == 2
    assert versions[0].item.edit_of is None
    assert versions[1].item.edit_of == versions[0].message_id
    assert "Ci sono (2): giulia, marco" in versions[1].text


async def test_taking_a_reaction_back_withdraws_the_answer(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/incontro Cena | sabato alle 19 | Trattoria da Mario")
    _, buttons = card(bot, "milano")
    await bot.press("marco", "milano", buttons[1].token)
    assert await answers(bot) == {"going": ["giulia"], "maybe": ["marco"]}
    outcome = await bot.app.dispatcher.handle(ActionEvent(
        **bot.event("marco", "milano"), token=buttons[1].token, undo=True))
    assert outcome is not None and outcome.text == "La tua risposta è stata ritirata."
    assert await answers(bot) == {"going": ["giulia"]}


@pytest.mark.parametrize("command", [
    "/incontro Cena | sabato alle 19 | Trattoria da Mario | posti: 0",
    "/incontro Cena | sabato alle 19 | Trattoria da Mario | una | due",
    "/incontro Cena | sabato | Trattoria da Mario",
    "/incontro " + "x" * 121 + " | sabato alle 19 | Trattoria",
    "/incontro Cena | sabato alle 19 | " + "via " * 60,
    "/incontro Cena | sabato alle 19 | Trattoria | " + "bla " * 300,
    "/incontro Cena | sabato alle 19",
    "/incontro  |  | ",
])
async def test_a_refused_meetup_leaves_nothing_behind(bot: Bot, command: str) -> None:
    replies = await bot.send("giulia", "milano", command)
    assert len(replies) == 1
    assert "esempio" in replies[0].casefold() or "caratteri" in replies[0]
    for model in (Meetup, MeetupAnswer, MeetupReminder):
        assert await count(bot, model) == 0


async def test_a_refused_change_changes_nothing(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/incontro Cena | sabato alle 19 | Trattoria da Mario")
    before = (await bot.rows(Meetup))[0]
    reminders_before = len(await bot.rows(MeetupReminder))
    for command, who in [("/modifica 1 data ieri alle 19", "giulia"),
                         ("/modifica 1 posti tanti", "giulia"),
                         ("/modifica 1 titolo Pizza", "marco"),
                         ("/annulla_incontro 1", "marco"),
                         ("/modifica 9 titolo Pizza", "giulia")]:
        assert len(await bot.send(who, "milano", command)) == 1
    after = (await bot.rows(Meetup))[0]
    assert (after.title, after.starts_at, after.capacity, after.sequence, after.status) == (
        before.title, before.starts_at, before.capacity, before.sequence, before.status)
    assert len(await bot.rows(MeetupReminder)) == reminders_before


async def test_daylight_saving_weekend(database_url: str) -> None:
    """The clocks go back on Sunday 25 October 2026: stored in UTC, shown at 19:00."""
    bot = await Bot.started(database_url, now=datetime(2026, 10, 20, 10, 0, tzinfo=ROME))
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/incontro Sabato | sabato 24 ottobre alle 19 | Parco")
    await bot.send("giulia", "milano",
                   "/incontro Domenica | domenica 25 ottobre alle 19 | Parco")
    saturday, sunday = sorted(await bot.rows(Meetup), key=lambda m: m.id)
    assert saturday.starts_at == datetime(2026, 10, 24, 17, 0, tzinfo=UTC)
    assert sunday.starts_at == datetime(2026, 10, 25, 18, 0, tzinfo=UTC)
    assert "domenica 25 ottobre 2026, ore 19:00" in card(bot, "milano", 2)[0]
    assert "sabato 24 ottobre 2026, ore 19:00" in card(bot, "milano", 1)[0]
    due = sorted(r.due_at for r in await bot.rows(MeetupReminder,
                                              MeetupReminder.meetup_id == sunday.id))
    assert due == [datetime(2026, 10, 24, 18, 0, tzinfo=UTC),  # 24 h before: 20:00 CEST
                   datetime(2026, 10, 25, 16, 0, tzinfo=UTC)]
    event = (await calendar_of(bot, "milano", 2)).events[0]
    assert event.decoded("dtstart") == datetime(2026, 10, 25, 19, 0, tzinfo=ROME)
    assert event.decoded("dtstart").astimezone(UTC) == datetime(2026, 10, 25, 18, 0, tzinfo=UTC)
    assert event["dtstart"].params["TZID"] == "Europe/Rome"
    await bot.stop()


async def calendar_of(bot: Bot, chat: str, number: int) -> Calendar:
    await bot.send("giulia", chat, f"/calendario {number}")
    attachment = bot.adapter.sent[-1].item.message.attachment
    assert attachment is not None and attachment.mime_type == "text/calendar"
    return Calendar.from_ical(attachment.data)


async def test_calendar_files_parse_back_and_follow_changes(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/incontro Cena sociale | sabato 5 dicembre alle 19 | "
                                       "Trattoria da Mario, via Roma 1 | Porta da bere")
    await bot.send("anna", "milano", "/incontro Assemblea | domani 18:30 | "
                                     "https://meet.jit.si/piazza")
    first = (await calendar_of(bot, "milano", 1)).events[0]
    assert str(first["summary"]) == "Cena sociale"
    assert str(first["location"]) == "Trattoria da Mario, via Roma 1"
    assert first.decoded("dtstart") == datetime(2026, 12, 5, 19, 0, tzinfo=ROME)
    assert first.decoded("dtstart").astimezone(UTC) == datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
    assert first.decoded("dtend") - first.decoded("dtstart") == timedelta(hours=2)
    assert first["organizer"].params["CN"] == "giulia"
    assert "Porta da bere" in str(first["description"])
    assert "url" not in first
    assert (int(first["sequence"]), str(first["status"])) == (0, "CONFIRMED")
    uid = str(first["uid"])

    online = (await calendar_of(bot, "milano", 2)).events[0]
    assert str(online["url"]) == "https://meet.jit.si/piazza"

    await bot.send("giulia", "milano", "/modifica 1 data sabato 5 dicembre alle 20")
    edited = (await calendar_of(bot, "milano", 1)).events[0]
    assert (str(edited["uid"]), int(edited["sequence"])) == (uid, 1)
    assert edited.decoded("dtstart") == datetime(2026, 12, 5, 20, 0, tzinfo=ROME)

    await bot.send("giulia", "milano", "/annulla_incontro 1 pioggia")
    cancelled = (await calendar_of(bot, "milano", 1)).events[0]
    assert (str(cancelled["uid"]), int(cancelled["sequence"]), str(cancelled["status"])) == (
        uid, 2, "CANCELLED")

    await bot.send("giulia", "milano", "/calendario")
    everything = Calendar.from_ical(bot.adapter.sent[-1].item.message.attachment.data)
    assert [str(e["summary"]) for e in everything.events] == ["Assemblea"]
    assert [tz.tz_name for tz in everything.timezones] == ["Europe/Rome"]


async def test_the_calendar_button_answers_privately(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/incontro Cena | sabato alle 19 | Trattoria da Mario")
    _, buttons = card(bot, "milano")
    assert await bot.press("marco", "milano", buttons[3].token) == \
        "Ti ho mandato il file del calendario in privato."
    sent = bot.adapter.sent[-1].item
    assert sent.destination.user_id == "marco" and sent.message.attachment is not None
    assert sent.message.attachment.filename == "incontro-1.ics"


async def test_missed_reminders_after_downtime(database_url: str) -> None:
    """Down from before the 24 h reminder until after the 2 h one: only the 2 h one goes."""
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/incontro Aperitivo | domani 18:30 | Bar Centrale")
    await bot.send("marco", "milano", "/partecipo 1 sì")
    await bot.stop()

    restarted = await Bot.started(database_url, now=datetime(2026, 12, 2, 17, 0, tzinfo=ROME))
    reminders = [s for s in restarted.adapter.sent if "Promemoria" in s.text]
    assert [(s.item.destination.chat_id or s.item.destination.user_id) for s in reminders] == [
        "milano", "giulia", "marco"]
    assert all("tra 2 ore" in s.text for s in reminders)
    outcomes = {r.offset_minutes: r.outcome
                for r in await restarted.rows(MeetupReminder)}
    assert outcomes == {1440: "skipped", 120: "sent"}
    await restarted.stop()

    again = await Bot.started(database_url, now=datetime(2026, 12, 2, 17, 30, tzinfo=ROME))
    assert not [s for s in again.adapter.sent if "Promemoria" in s.text]
    await again.stop()


async def test_no_reminder_once_the_meetup_has_started(database_url: str) -> None:
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/incontro Aperitivo | domani 18:30 | Bar Centrale")
    await bot.stop()

    late = await Bot.started(database_url, now=datetime(2026, 12, 2, 20, 0, tzinfo=ROME))
    assert not [s for s in late.adapter.sent if "Promemoria" in s.text]
    assert {r.outcome for r in await late.rows(MeetupReminder)} == {"skipped"}
    assert "Si è svolto: 1 persona aveva detto che ci sarebbe stata." in card(late, "milano")[0]
    assert (await late.rows(Meetup))[0].concluded_at is not None
    await late.stop()


async def test_reminders_move_with_the_date(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/incontro Aperitivo | domani 18:30 | Bar Centrale")
    await bot.app.scheduler.advance(bot.clock, timedelta(hours=9))  # the 24 h one is sent
    await bot.send("giulia", "milano", "/modifica 1 data sabato alle 18:30")
    due = {r.offset_minutes: (r.due_at, r.outcome) for r in await bot.rows(MeetupReminder)}
    assert due == {1440: (datetime(2026, 12, 4, 17, 30, tzinfo=UTC), None),
                   120: (datetime(2026, 12, 5, 15, 30, tzinfo=UTC), None)}


async def test_reminder_offsets_are_checked(bot: Bot) -> None:
    for wrong in ("/promemoria 5m", "/promemoria 2h 2h", "/promemoria 1h 2h 3h 4h 5h",
                  "/promemoria 30 giorni", "/promemoria domani"):
        reply = await bot.send("giulia", "milano", wrong)
        assert "/promemoria 24h 2h" in reply[0], wrong
    await bot.send("giulia", "milano", "/promemoria 1g 90m")
    await bot.send("giulia", "milano", "/incontro Aperitivo | sabato alle 18:30 | Bar")
    assert sorted(r.offset_minutes for r in await bot.rows(MeetupReminder)) == [90, 1440]


async def test_the_guided_form_hears_only_its_member(bot: Bot) -> None:
    await bot.send("sara", "milano", "/incontro")
    await bot.send("sara", "milano", "Tombolata")
    assert await bot.send("marco", "milano", "domenica alle 17") == []
    await bot.send("sara", "milano", "domenica alle 17")
    await bot.send("sara", "milano", "Circolo ARCI")
    meetup = (await bot.rows(Meetup))[0]
    assert (meetup.title, meetup.place) == ("Tombolata", "Circolo ARCI")
    assert meetup.starts_at == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


async def test_a_forgotten_guided_form_lets_go(bot: Bot) -> None:
    await bot.send("sara", "milano", "/incontro")
    bot.clock.advance(timedelta(hours=1))
    assert await bot.send("sara", "milano", "ciao a tutti") == []
    assert await bot.send("sara", "milano", "come va?") == []
    assert await count(bot, Meetup) == 0


async def test_from_a_private_chat_for_the_home_territory(bot: Bot) -> None:
    await bot.send("marco", "dm-marco", "/territorio Milano")
    replies = await bot.send("marco", "dm-marco",
                             "/incontro Pizza | sabato alle 20 | Pizzeria Napoli")
    assert replies[-1].endswith("È nella chat di Milano.")
    assert "Ci sono (1): marco" in card(bot, "milano")[0]
    assert (await bot.send("marco", "dm-marco", "/partecipo 1 forse"))[0] == "Segnato: forse."
    assert "Forse: 1" in card(bot, "milano")[0]
