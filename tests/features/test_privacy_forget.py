"""/dimenticami (/forgetme): personal data deleted, contributions kept as "a member"'s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func

from storage.models import ActionToken, Conversation, Identity, Member, OutboxMessage, Role
from storage.models.audit import AuditEntry
from storage.models.ideas import IdeaSupport
from storage.models.meetups import MeetupAnswer
from storage.models.polls import PollVote
from tests.features.privacy_world import World, buttons

ASKED = ("Vuoi che ti dimentichi? Cancello il tuo account e tutto ciò che dice chi sei: nome, "
         "ruoli, conversazioni in corso.")
DONE = ("Fatto: ti ho dimenticato. Ciò che hai dato resta, a nome di un socio. Se mi scrivi di "
        "nuovo, per me sarai una persona nuova.")


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    """Marco proposes an idea, supports Giulia's, goes to her meetup, votes in her poll, is a
    facilitator and has a conversation in progress."""
    world = await World.started(database_url)
    say = world.say
    await say("memory", "giulia", "milano", "/territorio Milano", admin=True)
    await say("memory", "marco", "milano",
              "/idea Creare uno spazio di coworking a Milano per i soci")
    await say("memory", "giulia", "milano", "/idea Una biblioteca degli attrezzi in condominio")
    await say("memory", "marco", "milano", "/sostengo 2")
    await say("memory", "luca", "milano", "/sostengo 1")
    await say("memory", "giulia", "milano", "/incontro Cena | sabato alle 19 | Da Mario")
    await say("memory", "marco", "milano", "/partecipo 1 sì")
    await say("memory", "giulia", "milano",
              "/sondaggio Quando? | sabato alle 10 | domenica alle 10", admin=True)
    await say("memory", "marco", "milano", "/vota 1 1 2")
    await say("memory", "luca", "milano", "/vota 1 1")
    await say("memory", "giulia", "milano", "/facilitatore @marco", admin=True)
    await say("memory", "marco", "dm-marco", "/territorio Milano")
    await say("memory", "marco", "milano", "/incontro")  # a guided conversation waits
    await say("memory", "marco", "dm-marco", "/imiei_dati")  # a private message kept
    yield world
    await world.stop()


async def tallies(world: World) -> dict[int, int]:
    """Votes per option of poll 1."""
    rows = await world.rows(PollVote.option_id, func.count(PollVote.id),
                            where=[PollVote.poll_id == 1], group_by=[PollVote.option_id])
    return dict(sorted(rows))  # type: ignore[arg-type]


async def confirm_by_button(world: World, user: str = "marco", chat: str = "milano") -> str:
    sent = await world.send("memory", user, chat, "/dimenticami")
    assert sent[-1].text.startswith(ASKED)
    [button] = buttons(sent[-1])
    assert button.label == "Sì, dimenticami" and button.command == "/dimenticami conferma"
    toast = await world.press("memory", user, chat, button.token)
    assert toast is not None
    return toast


async def test_personal_data_goes_and_counts_stay(world: World) -> None:
    supports_before = await world.count(IdeaSupport)
    tallies_before = await tallies(world)
    assert await confirm_by_button(world) == "Fatto: ti ho dimenticato."
    assert world.latest_keyed("memory", "privacy-forget:2").text == DONE  # the question, edited

    # nothing says who marco was
    assert await world.count(Identity, Identity.user_id == "marco") == 0
    assert await world.count(Member, Member.display_name == "marco") == 0
    assert await world.count(Role) == 0
    assert await world.count(Conversation) == 0
    assert await world.count(ActionToken, ActionToken.member_id == 2) == 0
    assert await world.count(OutboxMessage, OutboxMessage.identity_id.is_not(None)) == 0
    [(name, home)] = await world.rows(Member.display_name, Member.home_territory_id,
                                      where=[Member.id == 2])
    assert name == "\x1eanonymous\x1e" and home is None

    # what marco contributed still counts
    assert await world.count(IdeaSupport) == supports_before
    assert await world.count(IdeaSupport, IdeaSupport.member_id == 2) == 1
    assert await world.count(MeetupAnswer, MeetupAnswer.answer == "going") == 2
    assert await tallies(world) == tallies_before == {1: 2, 2: 1}

    # the cards now read "un socio", with the same counts
    idea = world.latest_keyed("memory", "idea:1").text
    assert "di un socio" in idea and "marco" not in idea and "1 sostenitore" in idea
    meetup = world.latest_keyed("memory", "meetup:1").text
    assert "Ci sono (2): giulia, un socio" in meetup
    result = (await world.say("memory", "giulia", "milano", "/chiudi 1", admin=True))[-1]
    assert "1. sabato 5 dicembre 2026, ore 10:00 — 2 (un socio, luca)" in result
    assert "2. domenica 6 dicembre 2026, ore 10:00 — 1 (un socio)" in result

    [entry] = await world.rows(AuditEntry.action, AuditEntry.subject, AuditEntry.details,
                               where=[AuditEntry.action == "privacy.forget"])
    assert entry == ("privacy.forget", "member:2", {"accounts": 1})

    # the same account later is somebody new
    assert await world.say("memory", "marco", "milano", "/chi") == [
        "Sei marco (memory).\n\nRuoli: socio.\n\nTerritorio: Milano."]
    [(new_member,)] = await world.rows(Identity.member_id, where=[Identity.user_id == "marco"])
    assert new_member != 2
    await world.say("memory", "marco", "milano", "/sostengo 2")
    assert "2 sostenitori" in world.latest_keyed("memory", "idea:2").text


async def test_confirm_by_text_in_either_language(world: World) -> None:
    assert await world.say("memory", "marco", "milano", "/dimenticami forse") == [
        "Per confermare manda /dimenticami conferma."]
    assert await world.count(Identity, Identity.user_id == "marco") == 1
    replies = await world.say("memory", "marco", "milano", "/dimenticami conferma")
    assert replies[-1] == DONE
    assert replies[0].startswith("💡 Idea #1")  # the card of marco's idea now reads "un socio"
    assert len(replies) == 3  # and the meetup's
    assert await world.count(Identity, Identity.user_id == "marco") == 0
    assert await world.say("memory", "luca", "dm-luca", "/forgetme confirm") == [DONE]  # no card
    assert await world.count(Identity) == 1  # giulia


async def test_the_button_is_the_member_s_own_and_lasts_ten_minutes(world: World) -> None:
    sent = await world.send("memory", "marco", "milano", "/dimenticami")
    [button] = buttons(sent[-1])
    assert await world.press("memory", "luca", "milano", button.token) == (
        "Questo pulsante è per un'altra persona.")
    assert await world.count(Identity, Identity.user_id == "luca") == 1
    world.clock.advance(timedelta(minutes=11))
    assert await world.press("memory", "marco", "milano", button.token) == (
        "Questo pulsante non è più valido.")
    assert await world.count(Identity, Identity.user_id == "marco") == 1
    # after forgetting, the old button is nobody's
    await world.say("memory", "marco", "milano", "/dimenticami conferma")
    assert await world.press("memory", "marco", "milano", button.token) == (
        "Questo pulsante non è più valido.")


async def test_every_linked_account_is_forgotten(database_url: str) -> None:
    world = await World.started(database_url, ("memory", "memory2"))
    await world.say("memory", "giulia", "milano", "/territorio Milano", admin=True)
    await world.say("memory", "marco", "dm-marco", "/collega")
    code = world.private("memory", "marco")[-1].text.split(": ")[1].split(" ")[0]
    await world.say("memory2", "marco.mx", "dm-marco.mx", f"/collega {code}")
    assert await world.count(Identity, Identity.member_id == 2) == 2
    sent = await world.send("memory2", "marco.mx", "dm-marco.mx", "/dimenticami")
    assert sent[-1].text.startswith("Vuoi che ti dimentichi? Cancello i tuoi 2 account "
                                    "collegati")
    await world.say("memory2", "marco.mx", "dm-marco.mx", "/dimenticami conferma")
    assert await world.count(Identity) == 1  # giulia
    [entry] = await world.rows(AuditEntry.details, where=[AuditEntry.action == "privacy.forget"])
    assert entry == ({"accounts": 2},)
    await world.stop()
