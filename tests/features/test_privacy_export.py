"""/imiei_dati (/mydata): everything stored about the member, as a JSON file, privately."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.base import Capabilities
from tests.features.privacy_world import World, buttons


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    world = await World.started(database_url)
    await world.say("memory", "giulia", "milano", "/territorio Milano", admin=True)
    yield world
    await world.stop()


def exported(world: World, user: str) -> dict[str, Any]:
    file = world.private("memory", user)[-1].item.message.attachment
    assert file is not None and file.mime_type == "application/json"
    return json.loads(file.data.decode("utf-8"))


async def test_the_file_holds_what_is_stored_about_the_member(world: World) -> None:
    await world.say("memory", "marco", "milano",
                    "/idea Creare uno spazio di coworking a Milano per i soci #spazi")
    await world.say("memory", "marco", "milano", "/incontro Cena | sabato alle 19 | Da Mario")
    await world.say("memory", "giulia", "milano", "/idea Una biblioteca degli attrezzi in "
                    "condominio")
    await world.say("memory", "marco", "milano", "/sostengo 2")
    await world.say("memory", "marco", "milano", "/segnala 2 doppione")
    await world.say("memory", "giulia", "milano", "/partecipo 1 forse")
    await world.say("memory", "giulia", "milano",
                    "/sondaggio Quando? | sabato alle 10 | domenica alle 10", admin=True)
    await world.say("memory", "marco", "milano", "/vota 1 2")
    await world.say("memory", "giulia", "milano", "/facilitatore @marco", admin=True)
    await world.say("memory", "marco", "dm-marco", "/territorio Milano")
    await world.say("memory", "marco", "milano", "/dimenticami")  # a button only for marco

    replies = await world.say("memory", "marco", "milano", "/imiei_dati")
    assert replies[-1] == ("Te l'ho mandato in un messaggio privato. Non è arrivato? Apri una "
                           "chat privata con me e chiedimelo di nuovo.")
    sent = world.private("memory", "marco")[-1]
    assert sent.item.message.attachment.filename == "piazzabot-i-miei-dati-2026-12-01.json"
    assert sent.text.startswith("Ecco tutto ciò che conservo su di te, in un file JSON.")
    data = exported(world, "marco")
    assert data["format"] == "piazzabot-export/1"
    assert data["generated_at"] == "2026-12-01T09:00:00Z"
    assert data["member"]["display_name"] == "marco"
    assert data["member"]["created_at"].endswith("Z")
    tables = data["tables"]
    [identity] = tables["identities.member_id"]
    assert (identity["platform"], identity["user_id"]) == ("memory", "marco")
    [role] = tables["roles.member_id"]
    assert role["role"] == "facilitator"
    [idea] = tables["ideas.author_id"]
    assert idea["text"] == "Creare uno spazio di coworking a Milano per i soci"
    assert [s["idea_id"] for s in tables["idea_supports.member_id"]] == [2]
    assert [r["reason"] for r in tables["idea_reports.member_id"]] == ["doppione"]
    [meetup] = tables["meetups.organiser_id"]
    assert meetup["title"] == "Cena"
    assert [a["answer"] for a in tables["meetup_answers.member_id"]] == ["going"]
    assert [(v["poll_id"], v["answer"]) for v in tables["poll_votes.member_id"]] == [(1, "yes")]
    assert tables["polls.creator_id"] == []  # giulia's poll is not marco's data
    [about] = tables["audit_log.subject"]
    assert about["action"] == "role.grant"
    [token] = tables["action_tokens.member_id"]
    assert token["kind"] == "privacy.forget" and "token" not in token  # no key handed out
    assert tables["roles.granted_by"] == [] and tables["conversations.member_id"] == []
    assert "giulia" not in json.dumps(tables)  # nothing of another member but ids

    giulia = exported_after(await world.say("memory", "giulia", "dm-giulia", "/mydata"), world)
    assert [r["member_id"] for r in giulia["tables"]["roles.granted_by"]] == [2]  # marco
    assert [a["action"] for a in giulia["tables"]["audit_log.actor_id"]] == ["role.grant"]
    assert giulia["member"]["home_territory_id"] is None


def exported_after(replies: list[str], world: World) -> dict[str, Any]:
    assert replies == ["Ecco tutto ciò che conservo su di te, in un file JSON. Per farlo "
                       "cancellare: /dimenticami"]  # in a private chat: only the file
    return exported(world, "giulia")


async def test_english_file_and_utf8(database_url: str) -> None:
    world = await World.started(database_url)
    await world.say("memory", "giulia", "milano", "/territorio Milano", admin=True)
    await world.say("memory", "giulia", "milano", "/lingua en", admin=True)
    await world.say("memory", "giulia", "milano", "/idea Più verde in città, perché sì: è così")
    assert await world.say("memory", "giulia", "milano", "/mydata") == [
        "Here is everything I store about you, as a JSON file. To have it deleted: /forgetme",
        "I sent it to you in a private message. Nothing there? Open a private chat with me, "
        "then ask again."]
    sent = world.private("memory", "giulia")[-1]
    raw = sent.item.message.attachment.data
    assert "Più verde in città".encode() in raw  # UTF-8, not \\u escapes
    assert raw.startswith(b'{\n  "format"')  # indented
    assert sent.item.message.attachment.filename == "piazzabot-my-data-2026-12-01.json"
    await world.stop()


async def test_no_private_channel_means_nothing_personal_in_the_group(database_url: str) -> None:
    world = await World.started(database_url, caps={
        "memory": Capabilities(buttons=True, files=True, direct_messages=False)})
    await world.say("memory", "giulia", "milano", "/territorio Milano", admin=True)
    sent = await world.send("memory", "marco", "milano", "/imiei_dati")
    assert [s.text for s in sent] == [
        "Da qui non posso scriverti in privato: apri una chat privata con me e mandami lì "
        "/imiei_dati."]
    assert sent[0].item.message.attachment is None
    assert sent[0].item.destination.chat_id == "milano"
    # asked in a private chat, the answer is in that chat
    sent = await world.send("memory", "marco", "dm-marco", "/imiei_dati")
    assert sent[0].item.destination.chat_id == "dm-marco"
    assert sent[0].item.message.attachment is not None
    assert not buttons(sent[0])
    await world.stop()
