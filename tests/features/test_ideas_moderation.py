"""Facilitators' answers and moderation, with the database checked: status changes and who
is told (privately, or named in the chat where there are no private messages), hiding,
showing, and reports up to the threshold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.base import Capabilities
from adapters.memory import MemoryAdapter
from bot.app import App
from bot.clock import FakeClock
from bot.events import ChatRef, CommandEvent, Sender
from bot.messages import Mention, Paragraph
from bot.roles import StaffList
from storage.models.ideas import Idea, IdeaEvent, IdeaReport
from tests.support import DEFAULT_NOW, Bot, make_config

COWORKING = "Creare uno spazio di coworking a Milano per i soci"


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    bot = await Bot.in_territory(database_url, ideas={"report_threshold": 2})
    await bot.send("marco", "milano", f"/idea {COWORKING} #spazi")
    yield bot
    await bot.stop()


async def idea(bot: Bot) -> Idea:
    async with bot.app.db.transaction() as session:
        return await session.get_one(Idea, 1)


async def events(bot: Bot) -> list[tuple[str, str | None, str | None]]:
    async with bot.app.db.transaction() as session:
        rows = await session.scalars(select(IdeaEvent).order_by(IdeaEvent.id))
        return [(e.kind, e.status, e.note) for e in rows]


def private(bot: Bot) -> dict[str, list[str]]:
    """What each person was told privately."""
    told: dict[str, list[str]] = {}
    for sent in bot.adapter.sent:
        if sent.item.destination.user_id:
            told.setdefault(sent.item.destination.user_id, []).append(sent.text)
    return told


def latest_card(bot: Bot) -> tuple[str, int]:
    sent = [s for s in bot.adapter.sent if s.item.message.key == "idea:1"][-1]
    return sent.text, len(sent.item.message.actions)


class TestStatus:
    async def test_the_author_and_supporters_are_told_and_the_card_shows_it(self,
                                                                           bot: Bot) -> None:
        for user in ("luca", "sara", "giulia"):
            await bot.send(user, "milano", "/sostengo 1")
        replies = await bot.send("giulia", "milano",
                                 "/stato 1 adottata La presentiamo all'assemblea")
        assert "L'idea #1 ora è adottata. Ho avvisato le 3 persone che la seguono." in replies
        told = private(bot)
        assert sorted(told) == ["luca", "marco", "sara"]  # not giulia, who decided
        assert told["marco"][0].split("\n\n") == [
            f"L'idea #1 «{COWORKING}» ora è adottata.",
            "Risposta dei facilitatori: La presentiamo all'assemblea",
            "Dettagli: /idea 1"]
        text, _ = latest_card(bot)
        assert "Stato: adottata · 3 sostenitori" in text
        assert "Risposta dei facilitatori: La presentiamo all'assemblea" in text
        stored = await idea(bot)
        assert (stored.status, stored.answer) == ("adopted", "La presentiamo all'assemblea")
        assert await events(bot) == [("status", "adopted", "La presentiamo all'assemblea")]

    async def test_words_of_either_language_and_a_new_answer_replaces_the_old(
            self, bot: Bot) -> None:
        await bot.send("giulia", "milano", "/stato 1 discussing Giovedì")
        await bot.send("giulia", "milano", "/stato 1 Set-Aside")
        stored = await idea(bot)
        assert (stored.status, stored.answer) == ("set_aside", None)
        assert await bot.send("giulia", "milano", "/stato 1 accantonata") == [
            "L'idea #1 è già accantonata."]
        assert [e[:2] for e in await events(bot)] == [
            ("status", "discussing"), ("status", "set_aside")]

    @pytest.mark.parametrize(("user", "command", "expected"), [
        ("marco", "/stato 1 adottata", "Solo i facilitatori di Milano possono farlo"),
        ("giulia", "/stato 1 approvata", "Scegli lo stato: discussione, adottata o accantonata"),
        ("giulia", "/stato", "Quale idea? Scrivi il suo numero, per esempio /stato 3 adottata"),
        ("giulia", "/stato 7 adottata", "Non c'è un'idea #7 per Milano"),
        ("giulia", "/stato 1 adottata " + "molto " * 200,
         "Una risposta è lunga al massimo 1000 caratteri, e questa ne ha 1199."),
    ])
    async def test_refusals_change_nothing(self, bot: Bot, user: str, command: str,
                                           expected: str) -> None:
        [reply] = await bot.send(user, "milano", command)
        assert reply.startswith(expected)
        assert (await idea(bot)).status == "new"
        assert await events(bot) == []

    async def test_without_private_messages_they_are_named_in_the_chat(
            self, database_url: str) -> None:
        adapter = MemoryAdapter(capabilities=Capabilities(buttons=True, edits=True))
        app = App(make_config(database_url), [adapter], clock=FakeClock(DEFAULT_NOW),
                  staff=StaffList({}), background=False)
        await app.start()
        n = iter(range(1, 100))

        async def send(user: str, text: str, admin: bool = False) -> None:
            name, _, args = text[1:].partition(" ")
            await app.dispatcher.handle(CommandEvent(
                "memory", str(next(n)), ChatRef("memory", "milano", title="milano"),
                Sender(user, user.title(), is_chat_admin=admin), name=name, args=args))
            await app.delivery.drain()

        try:
            await send("giulia", "/territorio Milano", admin=True)
            await send("marco", f"/idea {COWORKING}")
            await send("luca", "/sostengo 1")
            adapter.sent.clear()
            await send("giulia", "/stato 1 discussione", admin=True)
            [named] = [s.item.message for s in adapter.sent if s.text.startswith("Marco, Luca")]
            assert named.text.plain().split("\n\n")[:2] == [
                "Marco, Luca", f"L'idea #1 «{COWORKING}» ora è in discussione."]
            first = named.text.blocks[0]
            assert isinstance(first, Paragraph)
            assert first.children[0] == Mention("Marco", "marco", "memory")
            assert all(s.item.destination.user_id is None for s in adapter.sent)
        finally:
            await app.stop()


class TestHiding:
    async def test_hide_keeps_the_idea_out_of_lists_and_tells_the_author(self,
                                                                         bot: Bot) -> None:
        assert await bot.send("giulia", "milano", "/nascondi 1") == [
            "Scrivi il motivo: l'autore lo leggerà. Esempio: /nascondi 3 è una pubblicità"]
        assert (await bot.send("marco", "milano", "/nascondi 1 spam"))[0].startswith(
            "Solo i facilitatori")
        await bot.send("giulia", "milano", "/nascondi 1 È un doppione")
        assert (await idea(bot)).hidden == "moderator"
        assert await events(bot) == [("hidden", None, "È un doppione")]
        assert latest_card(bot) == ("L'idea #1 è stata nascosta dai facilitatori.", 0)
        assert private(bot)["marco"] == [
            f"La tua idea #1 «{COWORKING}» è stata nascosta dai facilitatori. "
            "Il motivo: È un doppione"]
        assert (await bot.send("luca", "milano", "/idee"))[0].startswith("Ancora nessuna idea")
        assert await bot.send("luca", "milano", "/idea 1") == [
            "L'idea #1 è stata nascosta dai facilitatori."]
        assert await bot.send("luca", "milano", "/sostengo 1") == [
            "L'idea #1 per ora è nascosta: non si può sostenere."]
        [review] = await bot.send("giulia", "milano", "/idea 1")
        assert COWORKING in review and "giulia l'ha nascosta — È un doppione" in review

    async def test_unhide_brings_it_back(self, bot: Bot) -> None:
        assert await bot.send("giulia", "milano", "/mostra 1") == ["L'idea #1 non è nascosta."]
        await bot.send("giulia", "milano", "/nascondi 1 È un doppione")
        await bot.send("giulia", "milano", "/mostra 1")
        assert (await idea(bot)).hidden is None
        assert [e[0] for e in await events(bot)] == ["hidden", "shown"]
        text, rows = latest_card(bot)
        assert text.startswith("💡 Idea #1") and rows == 1
        assert private(bot)["marco"][-1] == "La tua idea #1 è di nuovo visibile."


class TestReports:
    async def count_reports(self, bot: Bot, *where: object) -> int:
        async with bot.app.db.transaction() as session:
            return await session.scalar(
                select(func.count()).select_from(IdeaReport).where(*where)) or 0

    async def test_distinct_reports_hide_until_a_facilitator_reviews(self, bot: Bot) -> None:
        assert await bot.send("luca", "milano", "/segnala 1 pubblicità") == [
            "Grazie: i facilitatori controlleranno l'idea #1."]
        assert await bot.send("luca", "milano", "/segnala 1") == [
            "Hai già segnalato l'idea #1."]
        assert await bot.send("marco", "milano", "/segnala 1") == [
            "Non puoi segnalare una tua idea. Per ritirarla, chiedi a un facilitatore."]
        assert (await idea(bot)).hidden is None
        replies = await bot.send("sara", "milano", "/segnala 1")
        assert (await idea(bot)).hidden == "reports"
        assert ("Facilitatori: l'idea #1 è stata segnalata da 2 soci ed è nascosta finché uno "
                "di voi non la controlla. /mostra 1 la mostra di nuovo; /nascondi 1 MOTIVO la "
                "tiene nascosta.") in replies
        assert private(bot)["marco"] == [
            "La tua idea #1 è stata segnalata da alcuni soci: resta nascosta finché un "
            "facilitatore non la controlla."]
        assert latest_card(bot)[1] == 0
        assert await bot.send("anna", "milano", "/segnala 1") == [
            "L'idea #1 è già nascosta: i facilitatori lo sanno."]

        await bot.send("giulia", "milano", "/mostra 1")
        assert await self.count_reports(bot, IdeaReport.reviewed_at.is_(None)) == 0
        assert await self.count_reports(bot) == 2  # kept, for the record
        await bot.send("anna", "milano", "/segnala 1")
        assert (await idea(bot)).hidden is None  # one new report is not two
        await bot.send("paolo", "milano", "/segnala 1")
        assert (await idea(bot)).hidden == "reports"
        assert [e[0] for e in await events(bot)] == ["reported", "shown", "reported"]

    async def test_a_facilitator_can_keep_a_reported_idea_hidden_with_a_reason(
            self, bot: Bot) -> None:
        await bot.send("luca", "milano", "/segnala 1")
        await bot.send("sara", "milano", "/segnala 1")
        await bot.send("giulia", "milano", "/nascondi 1 Pubblicità di un corso privato")
        stored = await idea(bot)
        assert stored.hidden == "moderator"
        assert await self.count_reports(bot, IdeaReport.reviewed_at.is_(None)) == 0


class TestDigest:
    async def test_the_digest_tells_new_ideas_and_answers_not_hidden_ones(self,
                                                                          bot: Bot) -> None:
        await bot.send("luca", "milano", "/idea Un corso di formazione sui bandi europei #bandi")
        await bot.send("sara", "milano", "/idea Una cena tra soci ogni mese")
        await bot.send("sara", "milano", "/sostengo 1")
        await bot.send("giulia", "milano", "/stato 1 discussione Ne parliamo giovedì")
        await bot.send("giulia", "milano", "/nascondi 3 fuori tema")
        bot.clock.advance(timedelta(minutes=1))
        replies = await bot.send("giulia", "milano", "/riepilogo anteprima")
        digest = "\n".join(replies)
        assert "Nuove idee" in digest
        assert f"#1 {COWORKING} — 1 👍 · in discussione · #spazi" in digest
        assert "#2 Un corso di formazione sui bandi europei — 0 👍 · nuova · #bandi" in digest
        assert "Risposte alle idee" in digest
        assert f"#1 {COWORKING} — in discussione: Ne parliamo giovedì" in digest
        assert "cena" not in digest
