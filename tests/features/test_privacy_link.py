"""/collega (/link) and /scollega (/unlink): one person's accounts on two platforms as one
member — no double support, vote or answer — and apart again."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from storage.models import ActionToken, Identity, Member, Role
from storage.models.audit import AuditEntry
from storage.models.ideas import IdeaSupport
from storage.models.meetups import MeetupAnswer
from storage.models.polls import PollVote
from tests.features.privacy_world import World

TG, MX = "memory", "memory2"
INVALID = ("Questo codice non è valido: i codici durano 10 minuti e valgono una volta sola. "
           "Chiedine uno nuovo con /collega dal tuo altro account.")


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    """Milano has a chat on each platform; marco writes on both, as two members so far."""
    world = await World.started(database_url, (TG, MX))
    await world.say(TG, "giulia", "milano-tg", "/territorio Milano", admin=True)
    await world.say(MX, "anna", "milano-mx", "/territorio Milano", admin=True)
    yield world
    await world.stop()


async def code_for(world: World, platform: str, user: str, chat: str) -> str:
    await world.say(platform, user, chat, "/collega")
    text = world.private(platform, user)[-1].text
    found = re.search(r"\b([A-HJ-NP-Z2-9]{8})\b", text)
    assert found, text
    return found.group(1)


async def member_of(world: World, platform: str, user: str) -> int:
    [(member,)] = await world.rows(Identity.member_id, where=[
        Identity.platform == platform, Identity.user_id == user])
    return member


async def test_linked_accounts_count_once(world: World) -> None:
    say = world.say
    await say(TG, "giulia", "milano-tg", "/idea Una biblioteca degli attrezzi in condominio")
    await say(TG, "marco", "milano-tg", "/idea Creare uno spazio di coworking per i soci")
    await say(TG, "giulia", "milano-tg", "/incontro Cena | sabato alle 19 | Da Mario | posti: 2")
    await say(TG, "giulia", "milano-tg", "/sondaggio Quando? | sabato alle 10 | domenica alle 10",
              admin=True)
    await say(TG, "giulia", "milano-tg", "/facilitatore @marco", admin=True)
    # marco on the first platform
    await say(TG, "marco", "milano-tg", "/sostengo 1")
    await say(TG, "marco", "milano-tg", "/partecipo 1 sì")
    await say(TG, "marco", "milano-tg", "/vota 1 1")
    world.clock.advance(timedelta(minutes=1))
    # and again, not yet linked, on the second: the same idea, meetup and poll
    await say(MX, "marco.mx", "milano-mx", "/sostengo 1")
    await say(MX, "marco.mx", "milano-mx", "/sostengo 2")  # his own idea, as it will turn out
    await say(MX, "marco.mx", "milano-mx", "/partecipo 1 forse")
    await say(MX, "marco.mx", "milano-mx", "/vota 1 2")
    await say(MX, "luca", "milano-mx", "/partecipo 1 sì")  # the meetup is full: luca waits
    assert await world.count(IdeaSupport, IdeaSupport.idea_id == 1) == 2
    assert await world.count(PollVote) == 2
    assert "Lista d'attesa: luca" in world.latest_keyed(TG, "meetup:1").text
    tg_member, mx_member = await member_of(world, TG, "marco"), await member_of(world, MX,
                                                                                "marco.mx")

    code = await code_for(world, TG, "marco", "milano-tg")
    private = world.private(TG, "marco")[-1]
    assert private.item.destination.chat_id is None  # to the person, not the group
    assert world.adapters[TG].texts("milano-tg")[-1] == (
        "Te l'ho mandato in un messaggio privato. Non è arrivato? Apri una chat privata con me "
        "e chiedimelo di nuovo.")
    assert code not in " ".join(world.adapters[TG].texts("milano-tg"))

    replies = await say(MX, "marco.mx", "dm-marco.mx", f"/collega {code.lower()}")
    assert ("Fatto: questo account e il tuo account su memory ora sono un socio solo.\n\n"
            "I tuoi sostegni, le risposte e i voti contano una volta sola; dove entrambi gli "
            "account avevano risposto alla stessa cosa, ho tenuto la risposta più recente. "
            "/scollega annulla il collegamento.") in replies
    assert world.private(TG, "marco")[-1].text == (
        "Il tuo account su memory2 (marco.mx) ora è collegato a questo.")

    # one member, both accounts
    assert await member_of(world, MX, "marco.mx") == tg_member
    assert await world.count(Member, Member.id == mx_member) == 0
    # one support of idea 1; none of his own idea 2
    assert await world.count(IdeaSupport, IdeaSupport.idea_id == 1) == 1
    assert await world.count(IdeaSupport, IdeaSupport.idea_id == 2) == 0
    assert "Stato: nuova · 1 sostenitore" in world.latest_keyed(MX, "idea:1", "milano-mx").text
    # the latest answer (maybe, on the second platform) counts: his place goes to luca
    assert await world.rows(MeetupAnswer.member_id, MeetupAnswer.answer,
                            where=[MeetupAnswer.meetup_id == 1, MeetupAnswer.member_id ==
                                   tg_member]) == [(tg_member, "maybe")]
    card = world.latest_keyed(TG, "meetup:1", "milano-tg").text
    assert "Ci sono (2 su 2): giulia, luca" in card and "Forse: 1" in card
    assert world.private(MX, "luca")[-1].text.startswith("Buone notizie: si è liberato un posto")
    # polls: one voter, whose latest ballot counts (option 2, chosen on the second platform)
    assert await world.rows(PollVote.option_id, PollVote.member_id) == [(2, tg_member)]
    assert "Ha risposto 1 persona." in world.latest_keyed(TG, "poll:1:card", "milano-tg").text

    # from now on either account is the same member: no second support
    assert (await say(MX, "marco.mx", "milano-mx", "/sostengo 1"))[-1] == (
        "Sostieni già l'idea #1: conta una volta sola.")
    assert await world.count(IdeaSupport, IdeaSupport.idea_id == 1) == 1
    # roles are his on both
    assert "facilitatore di Milano" in (await say(MX, "marco.mx", "milano-mx", "/chi"))[-1]
    [(subject, details)] = await world.rows(
        AuditEntry.subject, AuditEntry.details, where=[AuditEntry.action == "identity.link"])
    assert (subject, details) == (f"member:{tg_member}",
                                  {"platform": MX, "merged_member": mx_member})


async def test_codes_expire_work_once_and_join_different_platforms_only(world: World) -> None:
    code = await code_for(world, TG, "marco", "dm-marco")
    assert world.private(TG, "marco")[-1].text.startswith(
        f"Il tuo codice per collegare un altro account: {code} (vale 10 minuti, una volta sola).")
    # nobody else on the same platform, and not the same account
    assert (await world.say(TG, "sara", "dm-sara", f"/collega {code}"))[-1] == (
        "Entrambi gli account sono su memory: collego solo account su piattaforme diverse, uno "
        "per piattaforma.")
    assert (await world.say(TG, "marco", "dm-marco", f"/collega {code}"))[-1].startswith(
        "Questo account è già collegato a quello che ha chiesto il codice.")
    assert (await world.say(MX, "marco.mx", "dm-marco.mx", "/collega 0O1I-ABCD"))[-1].startswith(
        "Questo non è uno dei miei codici")
    # ten minutes, then no more
    world.clock.advance(timedelta(minutes=10, seconds=1))
    assert await world.say(MX, "marco.mx", "dm-marco.mx", f"/collega {code}") == [INVALID]
    # a new code replaces the old one and works once
    old = code
    code = await code_for(world, TG, "marco", "dm-marco")
    assert await world.count(ActionToken, ActionToken.token == old) == 0
    world.clock.advance(timedelta(minutes=9))
    await world.say(MX, "marco.mx", "dm-marco.mx", f"/collega {code[:4]}-{code[4:]}")
    assert await member_of(world, MX, "marco.mx") == await member_of(world, TG, "marco")
    assert await world.say(MX, "sara.mx", "dm-sara.mx", f"/collega {code}") == [INVALID]
    assert await member_of(world, MX, "sara.mx") != await member_of(world, TG, "marco")
    # a third platform account cannot join a member that has one there already
    other = await code_for(world, MX, "sara.mx", "dm-sara.mx")
    assert (await world.say(MX, "marco.mx", "dm-marco.mx", f"/collega {other}"))[-1].startswith(
        "Entrambi gli account sono su memory2")
    # a code is no button
    assert await world.press(MX, "sara.mx", "dm-sara.mx", other) == (
        "Questo pulsante non è più valido.")


async def test_unlink_detaches_the_account_and_keeps_what_was_done(world: World) -> None:
    say = world.say
    await say(TG, "giulia", "milano-tg", "/idea Una biblioteca degli attrezzi in condominio")
    assert (await say(MX, "marco.mx", "dm-marco.mx", "/scollega"))[-1] == (
        "Questo account non è collegato a nessun altro. Per collegarne uno: /collega")
    code = await code_for(world, TG, "marco", "dm-marco")
    await say(MX, "marco.mx", "dm-marco.mx", f"/collega {code}")
    await say(MX, "marco.mx", "milano-mx", "/sostengo 1")
    member = await member_of(world, TG, "marco")

    replies = await say(MX, "marco.mx", "milano-mx", "/scollega")
    assert replies[-1] == (
        "Fatto: questo account non è più collegato al tuo account su memory.\n\n"
        "Ciò che hai fatto finora (idee, sostegni, risposte, voti, ruoli) resta con l'altro "
        "account; da ora questo conta per conto suo.")
    alone = await member_of(world, MX, "marco.mx")
    assert alone != member and await member_of(world, TG, "marco") == member
    assert await world.rows(IdeaSupport.member_id) == [(member,)]  # the support stayed
    assert (await say(MX, "marco.mx", "milano-mx", "/sostengo 1"))[-1] == (
        "Grazie: sostieni l'idea #1.")  # now a member of its own
    assert await world.count(IdeaSupport) == 2
    [(subject, details)] = await world.rows(AuditEntry.subject, AuditEntry.details,
                                            where=[AuditEntry.action == "identity.unlink"])
    assert (subject, details) == (f"member:{member}", {"platform": MX, "new_member": alone})
    assert await world.count(Role) == 0


async def test_english_and_no_private_messages_in_groups(world: World) -> None:
    await world.say(MX, "anna", "milano-mx", "/lingua en", admin=True)
    replies = await world.say(MX, "marco.mx", "milano-mx", "/link")
    assert replies[-1] == ("I sent it to you in a private message. Nothing there? Open a "
                           "private chat with me, then ask again.")
    assert world.private(MX, "marco.mx")[-1].text.startswith(
        "Your code to link another account: ")
    assert "/link " in world.private(MX, "marco.mx")[-1].text
    assert (await world.say(MX, "marco.mx", "milano-mx", "/unlink"))[-1] == (
        "This account is not linked to any other. To link one: /link")


async def test_the_member_left_behind_keeps_a_name_of_its_own(world: World) -> None:
    code = await code_for(world, TG, "marco", "dm-marco")
    await world.say(MX, "marco.mx", "dm-marco.mx", f"/collega {code}")
    member = await member_of(world, TG, "marco")
    await world.say(TG, "marco", "dm-marco", "/scollega")  # the account the name came from
    assert await world.rows(Member.display_name, where=[Member.id == member]) == [("marco.mx",)]
    assert await member_of(world, MX, "marco.mx") == member
    assert await member_of(world, TG, "marco") != member
