"""Polls through the core with the in-memory adapter (native polls, buttons, edits, private
messages): who may launch, answers of every kind, closing, anonymity, hidden results.

The clock starts on Tuesday 1 December 2026 at 10:00 in Rome.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.events import PollAnswerEvent
from storage.models import OutboxMessage, PostedMessage
from storage.models.audit import AuditEntry
from storage.models.polls import Poll, PollOption, PollVote
from tests.support import Bot

DATES = ("Cena? | venerdì 18 dicembre alle 20 | sabato 19 dicembre alle 20 | "
         "domenica 20 dicembre alle 13")




async def votes(bot: Bot, poll_id: int = 1) -> dict[str, list[tuple[int, str]]]:
    """Who answered what: member name → [(option number, answer)]."""
    from storage.models import Member

    async with bot.app.db.transaction() as session:
        found = await session.execute(
            select(Member.display_name, PollOption.position, PollVote.answer)
            .join(PollVote, PollVote.member_id == Member.id)
            .join(PollOption, PollOption.id == PollVote.option_id)
            .where(PollVote.poll_id == poll_id).order_by(Member.display_name, PollOption.position))
        out: dict[str, list[tuple[int, str]]] = {}
        for name, position, answer in found:
            out.setdefault(name, []).append((position + 1, answer))
        return out


def last_card(bot: Bot, poll_id: int = 1) -> str:
    cards = [s for s in bot.adapter.sent if s.item.message.key == f"poll:{poll_id}:card"]
    return cards[-1].text


def native_message_id(bot: Bot, poll_id: int = 1, chat: str = "milano") -> str:
    [sent] = [s for s in bot.adapter.sent if s.item.message.poll is not None
              and s.item.message.key == f"poll:{poll_id}"
              and s.item.destination.chat_id == chat]
    return sent.message_id


async def answer_natively(bot: Bot, user: str, options: tuple[int, ...], *,
                          message_id: str | None = None, chat: str = "milano") -> None:
    event = PollAnswerEvent(**bot.event(user, chat), poll_id="native-1", options=options,
                            message_id=message_id or native_message_id(bot))
    await bot.app.dispatcher.handle(event)
    await bot.app.delivery.drain()


async def test_a_member_is_refused_politely_and_nothing_is_written(bot: Bot) -> None:
    replies = await bot.send("marco", "milano", "/sondaggio Quando? | sabato alle 19 | "
                                                "domenica alle 18")
    assert replies == [
        "I sondaggi li lanciano i facilitatori di Milano: gli amministratori della chat, i soci "
        "con questo ruolo e lo staff. Chiedi a uno di loro, oppure proponi tu un incontro con "
        "/incontro."]
    assert await bot.rows(Poll) == []


async def test_a_poll_is_a_native_poll_and_a_card(bot: Bot) -> None:
    replies = await bot.send("giulia", "milano", "/sondaggio " + DATES)
    card, native = [s for s in bot.adapter.sent if s.item.message.key
                    and s.item.message.key.startswith("poll:1")]
    assert card.item.message.key == "poll:1:card" and native.item.message.key == "poll:1"
    spec = native.item.message.poll
    assert spec is not None and spec.multiple and not spec.anonymous
    assert spec.options == ("venerdì 18 dicembre 2026, ore 20:00",
                            "sabato 19 dicembre 2026, ore 20:00",
                            "domenica 20 dicembre 2026, ore 13:00")
    assert "Rispondi nel sondaggio qui sotto, oppure scrivi /vota 1 1 2" in card.text
    assert replies[-1] == ("Il sondaggio n. 1 è aperto fino a martedì 8 dicembre 2026, ore "
                           "10:00. Per chiuderlo prima: /chiudi 1")
    [poll] = await bot.rows(Poll)
    assert (poll.kind, poll.mode, poll.status) == ("date", "pick", "open")
    # Closes by default a day before the first date, or in 7 days if that is sooner.
    assert poll.closes_at == bot.clock.now() + timedelta(days=7)
    assert poll.remind_at == poll.closes_at - timedelta(hours=24)


async def test_text_votes_change_and_withdraw(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    assert await bot.send("marco", "milano", "/vota 1 1 2") == [
        "Segnato per il sondaggio n. 1: 1 e 2.", last_card(bot)]
    await bot.send("anna", "milano", "/vota #1 3")
    assert await votes(bot) == {"anna": [(3, "yes")], "marco": [(1, "yes"), (2, "yes")]}
    await bot.send("marco", "milano", "/vota 1 2")  # the latest answer replaces the earlier
    assert await votes(bot) == {"anna": [(3, "yes")], "marco": [(2, "yes")]}
    assert "1. venerdì 18 dicembre 2026, ore 20:00 — 0" in last_card(bot)
    assert "2. sabato 19 dicembre 2026, ore 20:00 — 1" in last_card(bot)
    assert await bot.send("marco", "milano", "/vota 1 2") == ["Era già segnato."]
    assert (await bot.send("marco", "milano", "/vota 1 -"))[0] == (
        "Le tue risposte al sondaggio n. 1 sono ritirate.")
    assert await votes(bot) == {"anna": [(3, "yes")]}
    assert "Ha risposto 1 persona." in last_card(bot)


@pytest.mark.parametrize(("args", "reply"), [
    ("", "Scrivi il numero del sondaggio e le opzioni che scegli. Esempio: /vota 3 1 2. "
         "/sondaggi mostra i sondaggi aperti."),
    ("1", "Quali opzioni? Esempio: /vota 1 1 2"),
    ("1 4", "Il sondaggio n. 1 ha le opzioni da 1 a 3; «4» non è tra queste. Esempio: /vota 1 1 2"),
    ("1 0", "Il sondaggio n. 1 ha le opzioni da 1 a 3; «0» non è tra queste. Esempio: /vota 1 1 2"),
    ("1 ¹", "Il sondaggio n. 1 ha le opzioni da 1 a 3; «¹» non è tra queste. Esempio: /vota 1 1 2"),
    ("9 1", "Non c'è un sondaggio numero 9 a Milano. /sondaggi li mostra."),
    ("uno 1", "Quale sondaggio? Scrivi il suo numero, come in /vota 3 1 2. /sondaggi li mostra."),
    ("1 " + "1 " * 50, "Sono tante risposte: un sondaggio ha al massimo 10 opzioni. Esempio: "
                       "/vota 3 1 2"),
    ("1 99999999999999999999", "Il sondaggio n. 1 ha le opzioni da 1 a 3; «99999999999999999999» "
                               "non è tra queste. Esempio: /vota 1 1 2"),
])
async def test_wrong_votes_are_explained(sqlite_url: str, args: str, reply: str) -> None:
    bot = await Bot.started(sqlite_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    assert await bot.send("marco", "milano", f"/vota {args}") == [reply]
    assert await votes(bot) == {}
    await bot.stop()


async def test_native_answers_count_and_what_the_records_do_not_back_is_dropped(
        bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    await answer_natively(bot, "bruno", (0, 2))
    await answer_natively(bot, "carla", (1,))
    await answer_natively(bot, "carla", ())  # taken back
    await answer_natively(bot, "dario", (1, 7, -1))  # 7 and -1 are no options
    assert await votes(bot) == {"bruno": [(1, "yes"), (3, "yes")], "dario": [(2, "yes")]}
    sent = len(bot.adapter.sent)
    # Not the poll's message, a message of another chat, the card instead of the poll.
    await answer_natively(bot, "elena", (0,), message_id="nope")
    await answer_natively(bot, "elena", (0,), chat="roma")
    card_id = next(s.message_id for s in bot.adapter.sent if s.item.message.key == "poll:1:card")
    await answer_natively(bot, "elena", (0,), message_id=card_id)
    assert "elena" not in await votes(bot)
    assert len(bot.adapter.sent) == sent  # dropped without a word
    await bot.send("giulia", "milano", "/chiudi 1")
    await answer_natively(bot, "elena", (0,))  # after closing
    assert "elena" not in await votes(bot)


async def test_yes_maybe_no_ranks_half_points_and_breaks_ties_by_fewer_no(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio Dove? | piazza | circolo | parco | "
                                       "modo: sì-forse-no")
    await bot.send("marco", "milano", "/vota 1 1 sì 2 forse 3 no")
    await bot.send("anna", "milano", "/vota 1 1 forse 2 si")
    await bot.send("luca", "milano", "/vota 1 1 2 se serve 3 sì")
    await bot.send("sara", "milano", "/vota 1 3 yes 1 no")
    # piazza: 1 yes 2 maybe 1 no = 2; circolo: 1 yes 2 maybe 0 no = 2; parco: 2 yes 1 no = 2
    assert "1. piazza — ✅ 1 · 🤔 2 · ❌ 1" in last_card(bot)
    await bot.send("giulia", "milano", "/chiudi 1")
    result = bot.adapter.texts("milano")[-1]
    assert ("🏆 Vince circolo, con punteggio 2: pari a piazza e parco, ma con meno no."
            in result)
    assert "3. parco — ✅ 2 (luca, sara) · 🤔 0 · ❌ 1 (marco)" in result


async def test_yes_maybe_no_buttons_set_and_withdraw_one_option(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio Dove? | piazza | circolo | "
                                       "modo: sì-forse-no")
    card = next(s for s in bot.adapter.sent if s.item.message.key == "poll:1:card")
    buttons = [a for row in card.item.message.actions for a in row]
    assert [b.label for b in buttons] == ["1 ✅", "1 🤔", "1 ❌", "2 ✅", "2 🤔", "2 ❌"]
    assert await bot.press("marco", "milano", buttons[1].token) == "piazza: forse"
    assert await bot.press("marco", "milano", buttons[3].token) == "circolo: sì"
    assert await bot.press("marco", "milano", buttons[0].token) == "piazza: sì"
    assert await votes(bot) == {"marco": [(1, "yes"), (2, "yes")]}
    assert await bot.press("marco", "milano", buttons[3].token) == "Ritirato: circolo"
    assert await votes(bot) == {"marco": [(1, "yes")]}
    # A token is valid only in the chat it was given in.
    assert await bot.press("marco", "roma", buttons[4].token) == "Questo pulsante non è più valido."


async def test_hidden_results_show_only_how_many_answered_until_closing(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio Festa? | piazza | circolo | "
                                       "risultati: alla chiusura")
    # Hidden results are not a native poll: a Telegram poll shows its counts to voters.
    assert not any(s.item.message.poll for s in bot.adapter.sent)
    await bot.send("marco", "milano", "/vota 1 1")
    await bot.send("anna", "milano", "/vota 1 1 2")
    card = last_card(bot)
    assert "1. piazza\n2. circolo\n" in card and "—" not in card.split("Hanno risposto")[0]
    assert "Hanno risposto 2 persone." in card
    listing = await bot.send("luca", "milano", "/sondaggi")
    assert "risultati alla chiusura" in listing[0] and "piazza" not in listing[0]
    await bot.send("giulia", "milano", "/chiudi 1")
    assert "1. piazza — 2" in last_card(bot)
    assert "1. piazza — 2 (marco, anna)" in bot.adapter.texts("milano")[-1]


async def test_a_deadline_past_600_seconds_closes_the_poll_after_a_restart(
        database_url: str) -> None:
    bot = await Bot.started(database_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", "/sondaggio Pizza? | margherita | marinara | "
                                       "chiude: oggi alle 14")
    await answer_natively(bot, "marco", (1,))
    poll_message = native_message_id(bot)
    await bot.stop()

    later = bot.clock.now() + timedelta(hours=5)  # the bot was down at the deadline
    revived = await Bot.started(database_url, now=later)
    await revived.app.delivery.drain()
    [poll] = await revived.rows(Poll)
    assert (poll.status, poll.closed_by) == ("closed", None)
    assert poll.closed_at == later  # late, and once
    closes = [s for s in revived.adapter.sent if s.item.message.close_poll]
    assert [(c.item.edit_of, c.item.message.key) for c in closes] == [(poll_message, "poll:1")]
    result = revived.adapter.texts("milano")[-1]
    assert "🏆 Vince marinara, con 1 voto." in result and "(marco)" in result
    await revived.app.scheduler.advance(revived.clock, timedelta(days=1))
    assert len([s for s in revived.adapter.sent if s.item.message.close_poll]) == 1
    await revived.stop()


async def test_early_close_by_a_facilitator_is_audited(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    assert (await bot.send("marco", "milano", "/chiudi 1"))[0].startswith(
        "Solo i facilitatori di Milano possono chiudere il sondaggio n. 1")
    await bot.send("giulia", "milano", "/chiudi 1")
    [poll] = await bot.rows(Poll)
    assert poll.status == "closed" and poll.closed_by is not None
    [entry] = await bot.rows(AuditEntry, AuditEntry.action == "poll.close")
    assert entry.subject == "poll:1" and entry.actor_id == poll.closed_by
    assert "Chiuso in anticipo da giulia." in bot.adapter.texts("milano")[-1]
    assert await bot.send("giulia", "milano", "/chiudi 1") == ["Il sondaggio n. 1 è già chiuso."]


async def test_an_anonymous_poll_keeps_counts_and_no_voter_after_closing(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio Aperti la domenica? | sì | no | anonimo")
    assert not any(s.item.message.poll for s in bot.adapter.sent)  # buttons, never native
    card = next(s for s in bot.adapter.sent if s.item.message.key == "poll:1:card")
    yes = card.item.message.actions[0][0]
    await bot.press("marco", "milano", yes.token)
    await bot.send("bruno", "dm-bruno", "/territorio Milano")
    assert await bot.send("bruno", "dm-bruno", "/vota 1 2") == [
        "Segnato: la tua risposta al sondaggio n. 1 conta, e nessuno la vede.", last_card(bot)]
    await bot.send("anna", "milano", "/vota 1 1")
    assert len(await bot.rows(PollVote)) == 3
    await bot.send("giulia", "milano", "/chiudi 1")
    assert await bot.rows(PollVote) == []  # no row links a voter to a choice any more
    options = await bot.rows(PollOption)
    assert [(o.final_yes, o.final_maybe, o.final_no) for o in options] == [(2, 0, 0),
                                                                           (1, 0, 0)]
    [poll] = await bot.rows(Poll)
    assert poll.final_voters == 3
    result = bot.adapter.texts("milano")[-1]
    assert "1. sì — 2\n2. no — 1" in result and "Hanno risposto 3 persone." in result
    everything = "\n".join(bot.adapter.texts())
    for name in ("marco", "bruno", "anna"):
        assert f"({name}" not in everything and f"{name})" not in everything


async def test_a_vote_is_checked_against_the_territory_of_the_chat(bot: Bot) -> None:
    bot.admins.add(("luca", "roma"))
    await bot.send("luca", "roma", "/territorio Roma")
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    assert await bot.send("marco", "roma", "/vota 1 1") == [
        "Non c'è un sondaggio numero 1 a Roma. /sondaggi li mostra."]
    # In private, a member who chose no territory and is not known to Milano is refused.
    assert await bot.send("marco", "dm-marco", "/vota 1 1") == [
        "Prima scegli il tuo territorio: /territorio Milano"]
    assert await votes(bot) == {}
    # Known to Milano (an answer there): private answers are taken.
    await bot.send("marco", "milano", "/vota 1 1")
    await bot.send("marco", "dm-marco", "/vota 1 2")
    assert await votes(bot) == {"marco": [(2, "yes")]}


@pytest.mark.parametrize(("args", "start"), [
    ("", "Scrivi la domanda e almeno due opzioni, separate da |."),
    ("Solo domanda | una", "Scrivi la domanda e almeno due opzioni"),
    ("D? | sabato alle 19 | domenica", "A che ora, domenica 6 dicembre 2026?"),
    ("D? | sabato alle 19 | sabato 5 dicembre alle 19", "Due opzioni sono lo stesso momento"),
    ("D? | a | b | chiude: ieri alle 10", "lunedì 30 novembre 2026, ore 10:00"),
    ("D? | a | b | chiude: 5 dicembre 2028 alle 10", "martedì 5 dicembre 2028, ore 10:00"),
    ("D? | a | b | chiude: venerdì alle 18 | chiude: sabato alle 18", "chiude: sabato alle 18 c'è "
                                                                     "due volte"),
    ("D? | sabato alle 19 | domenica alle 19 | chiude: lunedì alle 10",
     "Il sondaggio deve chiudere prima della sua prima data"),
    ("D? | oggi alle 11 | oggi alle 12", "La prima data è vicina"),
    ("D? | a | b | modo: boh", "Non conosco il modo «boh»."),
    ("D? | a | b | risultati: forse", "Scrivi | risultati: alla chiusura"),
    ("D? | a | b | anonimo: no", "anonimo: no: scrivi solo | anonimo."),
    ("D? | a | b | luogo: " + "x" * 201, "Un luogo ha al massimo 200 caratteri"),
    ("D" * 201 + " | a | b", "Una domanda ha al massimo 200 caratteri (questa ne ha 201)."),
    ("D? | a | " + "b" * 101, "L'opzione 2 è troppo lunga"),
    ("D? | " + " | ".join(str(n) for n in range(11)), "Un sondaggio ha da 2 a 10 opzioni; "
                                                      "questo ne ha 11."),
])
async def test_wrong_polls_are_explained_and_leave_nothing(sqlite_url: str, args: str,
                                                           start: str) -> None:
    bot = await Bot.started(sqlite_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    [reply] = await bot.send("giulia", "milano", f"/sondaggio {args}")
    assert start in reply
    assert await bot.rows(Poll) == [] and await bot.rows(PollOption) == []
    await bot.stop()


@pytest.mark.parametrize(("args", "kind", "labels"), [
    ("Quante pizze? | 2 | 3 | 4", "text", ["2", "3", "4"]),
    ("Mese della fiera? | marzo | aprile", "text", ["marzo", "aprile"]),
    ("Quando? | sabato alle 19 | non posso", "text", ["sabato alle 19", "non posso"]),
    ("When? | Saturday at 7pm | 2026-12-06 18:00 | closes: Friday at 6pm", "date", None),
])
async def test_which_polls_are_date_polls(sqlite_url: str, args: str, kind: str,
                                          labels: list[str] | None) -> None:
    bot = await Bot.started(sqlite_url)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("giulia", "milano", f"/sondaggio {args}")
    [poll] = await bot.rows(Poll)
    options = await bot.rows(PollOption)
    assert poll.kind == kind
    if labels is not None:
        assert [o.label for o in options] == labels
    else:
        assert all(o.starts_at for o in options)
    await bot.stop()


async def test_days_without_a_time_make_a_plain_poll_and_say_so(bot: Bot) -> None:
    replies = await bot.send("giulia", "milano", "/sondaggio Giorno del mercato? | sabato | "
                                                 "domenica")
    assert replies[-1].endswith(
        "Le opzioni non hanno un orario, quindi è un sondaggio semplice. Per un sondaggio di "
        "date che possa diventare un incontro, dai a ognuna un orario, per esempio sabato "
        "alle 19.")


async def test_settings_in_english_and_a_poll_from_a_private_chat(bot: Bot) -> None:
    await bot.send("giulia", "dm-giulia", "/territorio Milano")
    bot.app.services.staff.add("memory", "giulia")  # facilitator outside the chat: staff
    replies = await bot.send("giulia", "dm-giulia", "/poll Where? | square | club | "
                                                    "mode: yes-maybe-no | results: at closing | "
                                                    "anonymous | closes: Friday at 6pm")
    [poll] = await bot.rows(Poll)
    assert (poll.mode, poll.hidden_results, poll.anonymous) == ("ynm", True, True)
    assert replies[-1].endswith("\n\nÈ nella chat di Milano.")
    assert bot.adapter.texts("milano")[1].startswith("📊 Where?")


async def test_outbox_holds_no_choice_of_an_anonymous_voter(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio Sì o no? | sì | no | anonimo")
    await bot.send("marco", "milano", "/vota 1 2")
    async with bot.app.db.transaction() as session:
        payloads = list(await session.scalars(select(OutboxMessage.payload)))
    assert not any("2" in str(p) and "marco" in str(p) for p in payloads)


async def test_posted_slots_name_the_native_poll(bot: Bot) -> None:
    await bot.send("giulia", "milano", "/sondaggio " + DATES)
    async with bot.app.db.transaction() as session:
        slots = set(await session.scalars(select(PostedMessage.slot)))
        polls = await session.scalar(select(func.count()).select_from(Poll))
    assert polls == 1
    assert {slot.split(":", 1)[1] for slot in slots} >= {"poll:1", "poll:1:card"}
