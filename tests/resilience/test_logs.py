"""The real bot process's logs: JSON lines with fields, and neither texts nor secrets.

`piazzabot run` with its default logging (JSON at INFO) and a configuration full of
secrets — the bot token (in every Bot API URL), a webhook secret, Matrix's password and
access token, on PostgreSQL a database password — gets commands and texts that carry a
marker, and a Telegram outage (502) that makes it postpone an answer. Every line it writes
must be a JSON object with its fields, and none may contain the marker or a secret.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.resilience.chaos import settled
from tests.resilience.link import PlatformLink
from tests.resilience.platform import RecordingEmulator
from tests.resilience.process import TOKEN, BotProcess, bot_config, free_port
from tests.resilience.workload import World, ask

MARKER = "Zqx-marcatore-5519"
WEBHOOK_SECRET = "webhook-secret-Kp2"
MATRIX_PASSWORD = "matrix-pass-w0rd"
MATRIX_TOKEN = "syt_bWF0cml4_tokenSegreto"
DB_PASSWORD = "db-passw0rd-Tq8"

pytestmark = pytest.mark.timeout(240)


def with_password(database_url: str) -> str:
    """PostgreSQL's URL with a password (the test server trusts local connections, so any
    password is accepted); SQLite's as it is."""
    return database_url.replace("asyncpg://postgres@", f"asyncpg://postgres:{DB_PASSWORD}@")


async def test_the_logs_are_json_lines_without_texts_or_secrets(
        database_url: str, emu: RecordingEmulator, link: PlatformLink, tmp_path: Path) -> None:
    config = bot_config(with_password(database_url), f"http://127.0.0.1:{link.port}",
                        free_port())
    config["telegram"]["webhook"] = {"secret_token": WEBHOOK_SECRET}
    config["matrix"] = {"enabled": False, "password": MATRIX_PASSWORD,
                        "access_token": MATRIX_TOKEN}
    world = World.build(members=2, territories=1)
    world.populate(emu)
    [place] = world.places
    member = place.members[1]
    bot = BotProcess(tmp_path, config)
    try:
        await bot.start()
        await ask(emu, place.chat_id, place.admin, f"/territorio {place.name}",
                  lambda text: place.name in text)
        await ask(emu, member, member, f"/territorio {MARKER}", lambda text: MARKER in text)
        await ask(emu, member, member, f"/territorio {place.name}",
                  lambda text: place.name in text)
        emu.fail_next("sendMessage", status=502, json_body=False, times=2)
        await ask(emu, member, member, f"/idea Una ciclofficina di quartiere {MARKER}",
                  lambda text: "idea" in text)
        emu.inject_message(place.chat_id, member, f"ciao a tutti {MARKER}")
        await settled(bot, emu, 60)
        assert await bot.stop() == 0
    finally:
        await bot.aclose()

    text = bot.log_path.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines()
               if line.strip() and not line.startswith("===== start")]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    for private in (MARKER, TOKEN, WEBHOOK_SECRET, MATRIX_PASSWORD, MATRIX_TOKEN, DB_PASSWORD):
        assert private not in text, private
    assert any(e.get("platform") == "telegram" and "started" in e["message"] for e in entries)
    postponed = [e for e in entries if "postponed" in e["message"]]
    assert postponed and all(isinstance(e["outbox_id"], int) and e["platform"] == "telegram"
                             and e["seconds"] > 0 for e in postponed)
