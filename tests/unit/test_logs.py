"""The service's logs (bot/logs.py): one JSON object a line, with fields, and nothing private.

The records go through the real handler `configure()` installs (into a file here), so what
is asserted is what an operator's log collector would receive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.app import App
from bot.commands import CommandSpec
from bot.config import Config
from bot.context import Context
from bot.logs import MARK, config_secrets, configure, hide
from tests.support import Bot, make_config

MARKER = "Zqx-marcatore-7731"  # a text no log line has any business carrying
TOKEN = "987654:AAH-tokenDelBot_segreto"
WEBHOOK_SECRET = "webhook-secret-Kp2"
MATRIX_PASSWORD = "matrix-pass%w0rd"
MATRIX_TOKEN = "syt_bWF0cml4_tokenSegreto"
DB_PASSWORD = "db-p@ss/w0rd"  # written percent-encoded in the URL
DB_URL = "postgresql+asyncpg://piazzabot:db-p%40ss%2Fw0rd@db.example.org:5432/piazzabot"
SECRETS = (TOKEN, WEBHOOK_SECRET, MATRIX_PASSWORD, MATRIX_TOKEN, DB_PASSWORD, "db-p%40ss%2Fw0rd")


def secret_config(database_url: str = DB_URL) -> Config:
    return make_config(database_url,
                       telegram={"enabled": False, "token": TOKEN,
                                 "webhook": {"secret_token": WEBHOOK_SECRET}},
                       matrix={"enabled": False, "password": MATRIX_PASSWORD,
                               "access_token": MATRIX_TOKEN})


@pytest.fixture
def logfile(tmp_path: Path) -> Iterator[Path]:
    """Where the handler writes; the root logger and the quieted libraries are put back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("apscheduler", "alembic", "httpx",
                                                               "httpcore", "aiosqlite")}
    yield tmp_path / "bot.log"
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the file, each of which must be a JSON object with the four keys."""
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for entry in entries:
        assert isinstance(entry, dict)
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    return entries


def assert_private(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert MARKER not in text
    for secret in SECRETS:
        assert secret not in text, secret


def test_a_record_is_one_json_line_with_its_fields(logfile: Path) -> None:
    configure("json", logging.INFO, file=logfile)
    log = logging.getLogger("bot.delivery")
    log.info("outbox %s postponed %.1fs", 12, 4.0,
             extra={"outbox_id": 12, "platform": "telegram", "chat_id": 3, "seconds": 4.0})
    log.debug("not at INFO")
    [entry] = lines(logfile)
    assert entry["level"] == "INFO" and entry["logger"] == "bot.delivery"
    assert entry["message"] == "outbox 12 postponed 4.0s"
    assert (entry["outbox_id"], entry["platform"], entry["chat_id"], entry["seconds"]) == (
        12, "telegram", 3, 4.0)
    moment = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert entry["time"].endswith("Z") and moment.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60


def test_the_text_format_is_a_line_with_the_fields_after_it(logfile: Path) -> None:
    configure("text", logging.INFO, file=logfile)
    logging.getLogger("bot.app").info("adapter %s started", "telegram",
                                      extra={"platform": "telegram"})
    line = logfile.read_text(encoding="utf-8").strip()
    assert line.endswith("INFO bot.app: adapter telegram started platform=telegram")


def test_the_configured_secrets_never_show(logfile: Path) -> None:
    configure("json", logging.INFO, config_secrets(secret_config()), file=logfile)
    log = logging.getLogger("telegram.ext.ExtBot")
    log.warning("POST https://api.telegram.org/bot%s/getMe failed", TOKEN)
    log.warning("webhook %s, matrix %s", WEBHOOK_SECRET, MATRIX_TOKEN,
                extra={"url": f"https://api.telegram.org/bot{TOKEN}/sendMessage",
                       "login": MATRIX_PASSWORD})
    logging.getLogger("storage").error("cannot connect to %s", DB_URL)
    try:
        raise ConnectionError(f"password {DB_PASSWORD} refused")
    except ConnectionError:
        logging.getLogger("storage").exception("database down")
    entries = lines(logfile)
    assert len(entries) == 4
    assert_private(logfile)
    assert f"/bot{MARK}/getMe" in entries[0]["message"]
    assert entries[1]["url"] == f"https://api.telegram.org/bot{MARK}/sendMessage"
    assert entries[1]["login"] == MARK
    assert entries[2]["message"] == f"cannot connect to {DB_URL.replace('db-p%40ss%2Fw0rd', MARK)}"


def test_a_token_learnt_at_run_time_is_hidden_too(logfile: Path) -> None:
    configure("json", logging.DEBUG, file=logfile)
    hide("syt_learnt_at_login_9921")
    logging.getLogger("nio").warning("body: {'access_token': 'syt_learnt_at_login_9921'}")
    assert "syt_learnt_at_login_9921" not in logfile.read_text(encoding="utf-8")


def failing_with(text: str) -> None:
    try:
        int(text)
    except ValueError as exc:
        raise RuntimeError(f"could not read {text!r}") from exc


def test_an_exception_keeps_its_traceback_and_loses_its_message(logfile: Path) -> None:
    configure("json", logging.INFO, file=logfile)
    try:
        failing_with(MARKER)
    except RuntimeError:
        logging.getLogger("bot.dispatcher").exception("error while handling")
    [entry] = lines(logfile)
    assert_private(logfile)
    assert "failing_with" in entry["exception"]  # where it failed
    assert "builtins.RuntimeError (message withheld)" in entry["exception"]
    assert "builtins.ValueError (message withheld)" in entry["exception"]  # and its cause


def test_in_verbose_mode_an_exception_has_its_message(logfile: Path) -> None:
    configure("text", logging.DEBUG, file=logfile)
    try:
        failing_with("dodici")
    except RuntimeError:
        logging.getLogger("bot.dispatcher").exception("error while handling")
    assert "RuntimeError: could not read 'dodici'" in logfile.read_text(encoding="utf-8")


def test_the_logging_key_is_checked() -> None:
    config = Config.model_validate({"logging": {"format": "text", "level": "WARNING"}})
    assert (config.logging.format, config.logging.level) == ("text", "WARNING")
    assert Config.model_validate({}).logging.format == "json"
    with pytest.raises(ValidationError):
        Config.model_validate({"logging": {"format": "xml"}})


async def test_the_running_bot_logs_no_text_and_no_secret(logfile: Path, tmp_path: Path) -> None:
    """The bot, at INFO through the real handler, gets commands and texts carrying a marker,
    one of them making a command fail with the text in the exception's message."""
    async def broken(ctx: Context, args: str) -> None:
        failing_with(args)

    def prepare(app: App) -> None:
        app.services.registry.command(CommandSpec(("test_rotto",), broken, "test"))

    database = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    configure("json", logging.INFO, config_secrets(secret_config(database)), file=logfile)
    bot = await Bot.started(database, prepare=prepare)
    bot.admins.add(("giulia", "milano"))
    await bot.send("giulia", "milano", "/territorio Milano")
    await bot.send("marco", "dm-marco", f"/territorio {MARKER}")
    await bot.send("marco", "dm-marco", "/territorio Milano")
    await bot.send("marco", "dm-marco", f"/idea Una biblioteca degli attrezzi {MARKER}")
    await bot.send("marco", "milano", f"ciao a tutti, {MARKER}")
    replies = await bot.send("marco", "milano", f"/test_rotto {MARKER} {TOKEN}")
    await bot.stop()
    assert replies and "qualcosa è andato storto" in replies[0]
    entries = lines(logfile)
    assert_private(logfile)
    assert any(e.get("platform") == "memory" and "started" in e["message"] for e in entries)
    [failure] = [e for e in entries if e["level"] == "ERROR"]
    assert failure["logger"] == "bot.dispatcher"
    assert "RuntimeError (message withheld)" in failure["exception"]
