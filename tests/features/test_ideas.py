"""Ideas, event by event, with the database checked: submission and its limits, support and
withdrawal (buttons, reactions, text), the similar-idea question, lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot.events import ActionEvent
from bot.messages import Action
from storage.models import ActionToken
from storage.models.ideas import Idea, IdeaSupport, IdeaTheme
from tests.support import Bot

COWORKING = "Creare uno spazio di coworking a Milano per i soci"
COWORKING_AGAIN = "Uno spazio coworking per i soci di Milano"
COURSE = "Un corso di formazione sui bandi europei"


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    bot = await Bot.in_territory(database_url, ideas={"daily_limit": 3})
    yield bot
    await bot.stop()


def card(bot: Bot, idea: int, chat: str = "milano") -> tuple[str, list[Action], str]:
    """The latest version of an idea's card in a chat: text, actions, platform message id."""
    for sent in reversed(bot.adapter.sent):
        message = sent.item.message
        if message.key == f"idea:{idea}" and sent.item.destination.chat_id == chat:
            return sent.text, [a for row in message.actions for a in row], sent.message_id
    raise AssertionError(f"no card of idea {idea} in {chat}")


def lines(text: str) -> list[str]:
    """A message as lines, without the blank ones between paragraphs."""
    return [line for line in text.splitlines() if line]


def supporters(bot: Bot, idea: int) -> str:
    return next(line for line in lines(card(bot, idea)[0]) if line.startswith("Stato:"))


class TestSubmission:
    async def test_an_idea_with_themes_is_stored_and_its_card_posted(self, bot: Bot) -> None:
        replies = await bot.send("marco", "milano",
                                 f"/idea {COWORKING} #Spazi #networking #spazi")
        assert replies == [card(bot, 1)[0]]
        assert lines(replies[0]) == [
            "💡 Idea #1 · Milano", COWORKING, "di marco · #networking #spazi",
            "Stato: nuova · 0 sostenitori"]
        async with bot.app.db.transaction() as session:
            idea = await session.get_one(Idea, 1)
            themes = set(await session.scalars(select(IdeaTheme.theme)))
        assert (idea.text, idea.status, idea.hidden) == (COWORKING, "new", None)
        assert themes == {"spazi", "networking"}
        assert [a.label for a in card(bot, 1)[1]] == ["Sostengo 👍", "Ritiro il sostegno"]
        assert [a.command for a in card(bot, 1)[1]] == ["/sostengo 1", "/ritiro 1"]

    async def test_hashtags_inside_the_text_stay_and_count_as_themes(self, bot: Bot) -> None:
        await bot.send("marco", "milano", "/idea Un corso di #formazione sui bandi #Città")
        async with bot.app.db.transaction() as session:
            idea = await session.get_one(Idea, 1)
            themes = set(await session.scalars(select(IdeaTheme.theme)))
        assert idea.text == "Un corso di #formazione sui bandi"
        assert themes == {"formazione", "città"}

    @pytest.mark.parametrize(("text", "expected"), [
        ("/idea Corto #spazi #bandi", "Un'idea ha almeno 10 caratteri"),
        ("/idea " + "parola " * 200,
         "Un'idea è lunga al massimo 1000 caratteri, e questa ne ha 1399"),
        (f"/idea {COURSE} #a1 #b2 #c3 #d4 #e5 #f6", "Al massimo 5 temi per un'idea"),
        (f"/idea {COURSE} #{'x' * 40}", "Un tema è lungo al massimo 30 caratteri"),
    ])
    async def test_wrong_submissions_are_explained_and_write_nothing(
            self, bot: Bot, text: str, expected: str) -> None:
        [reply] = await bot.send("marco", "milano", text)
        assert reply.startswith(expected)
        assert await bot.count(Idea) == 0
        assert await bot.count(IdeaTheme) == 0

    async def test_a_number_shows_an_idea_and_only_of_this_territory(self, bot: Bot) -> None:
        bot.admins.add(("anna", "roma"))
        await bot.send("anna", "roma", "/territorio Roma")
        await bot.send("anna", "roma", f"/idea {COURSE}")
        assert await bot.send("marco", "milano", "/idea 1") == [
            "Non c'è un'idea #1 per Milano. L'elenco: /idee"]
        [shown] = await bot.send("luca", "roma", "/idea #1")
        assert shown.startswith("💡 Idea #1 · Roma")
        assert "proposta da anna" in shown

    async def test_the_daily_limit_is_a_rolling_day(self, bot: Bot) -> None:
        ideas = ["Una cena tra soci ogni mese", COURSE, "Una bacheca online di collaborazioni"]
        for text in ideas:
            await bot.send("marco", "milano", f"/idea {text}")
            bot.clock.advance(timedelta(hours=1))
        late = "/idea Un'assemblea online per chi vive lontano"
        [refusal] = await bot.send("marco", "milano", late)
        assert refusal == ("Nelle ultime 24 ore hai già proposto 3 idee, il massimo per un giorno. "
                           "Puoi proporre la prossima da mercoledì 2 dicembre 2026, ore 10:00.")
        assert await bot.count(Idea) == 3
        bot.clock.advance(timedelta(hours=20, minutes=59))
        assert (await bot.send("marco", "milano", late))[0].startswith("Nelle ultime 24 ore")
        bot.clock.advance(timedelta(minutes=1))
        assert (await bot.send("marco", "milano", late))[0].startswith("💡 Idea #4")
        # another member has a limit of their own
        assert (await bot.send("luca", "milano", "/idea Un gruppo di acquisto solidale")
                )[0].startswith("💡 Idea #5")

    async def test_in_a_private_chat_the_territory_chosen_there_counts(self, bot: Bot) -> None:
        assert await bot.send("marco", "dm-marco", f"/idea {COURSE}") == [
            "Prima scegli il tuo territorio: /territorio Milano"]
        await bot.send("marco", "dm-marco", "/territorio Milano")
        bot.adapter.sent.clear()
        await bot.send("marco", "dm-marco", f"/idea {COURSE} #bandi")
        assert bot.adapter.texts("dm-marco") == [
            "Fatto: l'idea #1 è pubblicata nelle chat di Milano. I soci possono sostenerla con "
            "/sostengo 1."]
        assert card(bot, 1)[0].startswith("💡 Idea #1 · Milano")
        assert (await bot.send("marco", "dm-marco", "/idee"))[0].startswith("Idee di Milano")


class TestSupport:
    async def test_buttons_count_once_refuse_the_author_and_withdraw(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        support, withdraw = card(bot, 1)[1]
        assert await bot.press("luca", "milano", support.token) == (
            "Grazie: sostieni l'idea #1.")
        assert await bot.press("luca", "milano", support.token) == (
            "Sostieni già l'idea #1: conta una volta sola.")
        assert await bot.press("marco", "milano", support.token) == (
            "Non puoi sostenere una tua idea.")
        assert supporters(bot, 1) == "Stato: nuova · 1 sostenitore"
        assert await bot.count(IdeaSupport) == 1
        # a refusal to a button is a toast only: nothing is written in the chat
        assert not any("Non puoi" in text for text in bot.adapter.texts("milano"))
        assert await bot.press("luca", "milano", withdraw.token) == (
            "Non sostieni più l'idea #1.")
        assert await bot.press("luca", "milano", withdraw.token) == (
            "Non stavi sostenendo l'idea #1.")
        assert supporters(bot, 1) == "Stato: nuova · 0 sostenitori"
        assert await bot.count(IdeaSupport) == 0

    async def test_the_card_is_edited_in_place(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        _, [support, _], first_id = card(bot, 1)
        await bot.press("luca", "milano", support.token)
        await bot.press("sara", "milano", support.token)
        versions = [s for s in bot.adapter.sent if s.item.message.key == "idea:1"]
        assert [s.item.edit_of for s in versions] == [None, first_id, first_id]
        assert card(bot, 1)[1][0].token == support.token  # the same action, the same token

    async def test_the_reaction_supports_and_removing_it_withdraws(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        _, _, message_id = card(bot, 1)

        async def react(user: str, undo: bool = False) -> str | None:
            outcome = await bot.app.dispatcher.handle(ActionEvent(
                **bot.event(user, "milano"), message_id=message_id, key="👍", undo=undo))
            await bot.app.delivery.drain()
            return outcome.text if outcome else None

        assert await react("luca") == "Grazie: sostieni l'idea #1."
        assert await react("sara") == "Grazie: sostieni l'idea #1."
        assert supporters(bot, 1) == "Stato: nuova · 2 sostenitori"
        assert await react("luca", undo=True) == "Non sostieni più l'idea #1."
        assert await react("marco") == "Non puoi sostenere una tua idea."
        assert supporters(bot, 1) == "Stato: nuova · 1 sostenitore"
        assert await bot.count(IdeaSupport) == 1

    async def test_the_text_forms(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        assert (await bot.send("luca", "milano", "/sostengo #1"))[-1] == (
            "Grazie: sostieni l'idea #1.")
        assert await bot.send("luca", "milano", "/sostengo 1") == [
            "Sostieni già l'idea #1: conta una volta sola."]
        assert await bot.send("marco", "milano", "/sostengo 1") == [
            "Non puoi sostenere una tua idea."]
        assert await bot.send("luca", "milano", "/sostengo uno") == [
            "Quale idea? Scrivi il suo numero, per esempio /sostengo 3"]
        assert await bot.send("luca", "milano", "/sostengo 99999999999999") == [
            "Quale idea? Scrivi il suo numero, per esempio /sostengo 3"]
        assert (await bot.send("luca", "dm-luca", "/ritiro 1")) == [
            "Prima scegli il tuo territorio: /territorio Milano"]
        await bot.send("luca", "dm-luca", "/territorio Milano")
        assert (await bot.send("luca", "dm-luca", "/ritiro 1"))[-1] == (
            "Non sostieni più l'idea #1.")
        assert await bot.count(IdeaSupport) == 0

    async def test_a_duplicate_support_is_refused_by_the_database(self, bot: Bot) -> None:
        from bot.ideas.store import _insert_once

        await bot.send("marco", "milano", f"/idea {COWORKING}")
        await bot.send("luca", "milano", "/sostengo 1")
        async with bot.app.db.transaction() as session:
            luca = await session.scalar(select(IdeaSupport.member_id))
            row = IdeaSupport(idea_id=1, member_id=luca, created_at=bot.clock.now())
            assert await _insert_once(session, row) is False  # as if a second press raced in
            assert await session.scalar(select(func.count()).select_from(IdeaSupport)) == 1


class TestSimilarIdeas:
    async def test_a_near_duplicate_asks_first(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING} #spazi")
        [question] = await bot.send("luca", "milano", f"/idea {COWORKING_AGAIN}")
        assert question.startswith(f"Somiglia all'idea #1 di marco: «{COWORKING}»")
        assert await bot.count(Idea) == 1
        message = bot.adapter.sent[-1].item.message
        instead, publish = message.actions[0]
        assert (instead.label, publish.label) == ("Sostengo la #1 👍", "Pubblica comunque")
        assert (instead.command, publish.command) == ("/sostengo 1", "/pubblica")
        # only the author may choose
        assert await bot.press("sara", "milano", publish.token) == (
            "Questo pulsante è per un'altra persona.")
        assert await bot.press("luca", "milano", publish.token) == "L'idea #2 è pubblicata."
        assert await bot.count(Idea) == 2
        assert await bot.press("luca", "milano", publish.token) == (
            "Questo pulsante non è più valido.")
        assert await bot.count(Idea) == 2
        question_now = [s for s in bot.adapter.sent
                        if (s.item.message.key or "").startswith("idea-draft:")][-1]
        assert (question_now.text, question_now.item.message.actions) == (
            "Pubblicata come idea #2.", ())

    async def test_supporting_instead_settles_the_question(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        await bot.send("luca", "milano", f"/idea {COWORKING_AGAIN}")
        instead, _ = bot.adapter.sent[-1].item.message.actions[0]
        assert await bot.press("luca", "milano", instead.token) == "Grazie: sostieni l'idea #1."
        assert await bot.count(Idea) == 1
        assert await bot.count(IdeaSupport) == 1
        assert await bot.count(ActionToken, ActionToken.kind == "idea.publish") == 0
        assert await bot.send("luca", "milano", "/pubblica") == [
            "Qui non hai idee in attesa di pubblicazione. Per proporne una: /idea Un corso sui "
            "bandi europei per i soci #bandi #formazione"]

    async def test_typed_answers_and_expiry(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        await bot.send("luca", "milano", f"/idea {COWORKING_AGAIN}")
        assert (await bot.send("luca", "milano", "/sostengo 1"))[-1] == (
            "Grazie: sostieni l'idea #1.")
        assert "Sostieni l'idea #1 invece di proporla di nuovo." in bot.adapter.texts("milano")
        await bot.send("sara", "milano", f"/idea {COWORKING_AGAIN} #spazi")
        [published] = [t for t in await bot.send("sara", "milano", "/pubblica")
                       if t.startswith("💡")]
        assert lines(published)[1:3] == [COWORKING_AGAIN, "di sara · #spazi"]
        await bot.send("anna", "milano", f"/idea {COWORKING_AGAIN}")
        bot.clock.advance(timedelta(hours=1))
        assert (await bot.send("anna", "milano", "/pubblica"))[0].startswith(
            "Qui non hai idee in attesa")
        assert await bot.count(Idea) == 2

    async def test_an_unrelated_idea_is_posted_at_once(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        [posted] = await bot.send("luca", "milano", f"/idea {COURSE}")
        assert posted.startswith("💡 Idea #2")

    async def test_hidden_or_settled_ideas_are_not_compared(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        await bot.send("giulia", "milano", "/stato 1 adottata")
        assert (await bot.send("luca", "milano", f"/idea {COWORKING_AGAIN}"))[0].startswith(
            "💡 Idea #2")

    async def test_ones_own_similar_idea_offers_only_to_publish(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        [question] = await bot.send("marco", "milano", f"/idea {COWORKING_AGAIN}")
        assert question.startswith("Somiglia alla tua idea #1")
        [[publish]] = bot.adapter.sent[-1].item.message.actions
        assert publish.label == "Pubblica comunque"

    async def test_the_daily_limit_holds_for_a_draft_too(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING}")
        await bot.send("luca", "milano", f"/idea {COWORKING_AGAIN}")
        _, publish = bot.adapter.sent[-1].item.message.actions[0]
        for text in (COURSE, "Una cena tra soci ogni mese", "Una bacheca online di annunci"):
            await bot.send("luca", "milano", f"/idea {text}")
        assert (await bot.press("luca", "milano", publish.token) or "").startswith(
            "Nelle ultime 24 ore hai già proposto 3 idee")
        assert await bot.count(Idea) == 4  # marco's and luca's three


class TestLists:
    @pytest.fixture
    async def ideas(self, bot: Bot) -> None:
        await bot.send("marco", "milano", f"/idea {COWORKING} #spazi")
        bot.clock.advance(timedelta(minutes=5))
        await bot.send("luca", "milano", f"/idea {COURSE} #bandi #formazione")
        bot.clock.advance(timedelta(minutes=5))
        await bot.send("sara", "milano", "/idea Una cena tra soci ogni mese #convivialità")
        for user in ("sara", "anna"):
            await bot.send(user, "milano", "/sostengo 2")
        await bot.send("anna", "milano", "/sostengo 1")
        await bot.send("giulia", "milano", "/stato 3 discussione")

    @staticmethod
    def numbers(listing: str) -> list[str]:
        return [line.split()[1] for line in lines(listing) if line.startswith("• ")]

    async def test_by_support_newest_theme_and_status(self, bot: Bot, ideas: None) -> None:
        [top] = await bot.send("marco", "milano", "/idee")
        assert self.numbers(top) == ["#2", "#1", "#3"]
        assert lines(top)[0] == "Idee di Milano, prima le più sostenute"
        [newest] = await bot.send("marco", "milano", "/idee nuove")
        assert self.numbers(newest) == ["#3", "#2", "#1"]
        [theme] = await bot.send("marco", "milano", "/idee #Formazione top")
        assert self.numbers(theme) == ["#2"]
        [status] = await bot.send("marco", "milano", "/idee stato")
        assert lines(status)[1:3] == [
            "In discussione",
            "• #3 Una cena tra soci ogni mese — 0 👍 · in discussione · #convivialità"]
        assert self.numbers(status) == ["#3", "#2", "#1"]

    async def test_hidden_ideas_are_left_out(self, bot: Bot, ideas: None) -> None:
        await bot.send("giulia", "milano", "/nascondi 2 fuori tema")
        [top] = await bot.send("marco", "milano", "/idee")
        assert self.numbers(top) == ["#1", "#3"]

    async def test_long_lists_are_cut(self, bot: Bot) -> None:
        ideas = [COWORKING, COURSE, "Una cena tra soci ogni mese",
                 "Assicurazione di gruppo per l'attrezzatura", "Una biblioteca di attrezzi",
                 "Un orto condiviso sul terrazzo della sede", "Mostra fotografica dei lavori",
                 "Laboratorio teatrale aperto al quartiere", "Prove musicali in sala comune",
                 "Sportello legale una volta al mese", "Guida alla fatturazione elettronica",
                 "Un podcast con le storie di chi lavora con noi"]
        for n, text in enumerate(ideas):
            await bot.send(f"socio{n}", "milano", f"/idea {text}")
        assert await bot.count(Idea) == 12
        [top] = await bot.send("marco", "milano", "/idee")
        assert len(self.numbers(top)) == 10
        assert lines(top)[-1] == "…e altre 2. Un'idea per intero: /idea 1"



async def test_a_list_reads_only_its_territorys_supports(sqlite_url: str) -> None:
    """Every order's queries find the supports of the territory's ideas through an index
    (SQLite's plans): none reads all supports, whose number grows with the cooperative's
    whole history (`bench/commands_at_scale.py`: 130 ms a list at full scale before)."""
    bot = await Bot.in_territory(sqlite_url)
    try:
        await bot.send("marco", "milano", f"/idea {COWORKING} #spazi")
        await bot.send("luca", "milano", f"/idea {COURSE} #formazione")
        await bot.send("sara", "milano", "/sostengo 2")
        statements: list[tuple[str, object]] = []
        event.listen(bot.app.db.engine.sync_engine, "before_cursor_execute",
                     lambda _c, _cur, sql, params, *_: statements.append((sql, params)))
        for words in ("", " nuove", " stato", " #formazione top"):
            await bot.send("marco", "milano", f"/idee{words}")
        plans = await bot.app.db.run(lambda conn: [
            row[-1] for sql, params in statements if sql.lstrip().startswith("SELECT")
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)])
    finally:
        await bot.stop()
    assert any("idea_supports" in step for step in plans)
    assert not [step for step in plans if step.startswith("SCAN idea_supports")]
