"""The service's logs: one JSON object a line (or plain text), with nothing private in them.

A record becomes `{"time", "level", "logger", "message", ...fields}`: the fields are what
the call site passed as `extra=` (platform, chat_id, outbox_id, seconds...), so that a log
collector can filter on them without parsing sentences. Call sites never log a message's
text, a command's arguments, names typed by members or credentials; two things guard the
rest on the root handler:

- `Privacy`, a filter, replaces every known secret (the configured tokens, passwords,
  webhook secret, database password, and any `hide()` adds at run time) wherever it shows
  up: message, fields, exception;
- an exception is logged with its traceback (code, not data) and its type, but its message
  — which may quote a member's text or a row — only in verbose (DEBUG) mode.

Standard library only: the formatter is twenty lines, and the privacy rules (exception
messages withheld, secrets replaced before serialising) would not fit a generic JSON
formatter's hooks any better.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from bot.config import Config

MARK = "<secret>"
MIN_SECRET = 4  # shorter "secrets" would blank out ordinary words
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that are chatty at INFO (a line per request or statement) or log values at DEBUG.
QUIET = ("apscheduler", "alembic", "httpx", "httpcore", "aiosqlite")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the call site passed with `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def outline(exc: BaseException) -> str:
    """A traceback without the exceptions' messages: where it failed and what kind of error,
    chained causes included."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        parts.append("Traceback (most recent call last):\n"
                     + "".join(traceback.format_tb(current.__traceback__))
                     + f"{kind.__module__}.{kind.__qualname__} (message withheld)")
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    return "\n\nwhich led to:\n\n".join(reversed(parts))


class Privacy(logging.Filter):
    """On the root handler: the last line of defence for what a call site let through."""

    def __init__(self, secrets: Iterable[str] = (), exception_messages: bool = False) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.exception_messages = exception_messages
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MARK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        for key, value in fields(record).items():
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            exc = record.exc_info[1]
            shown = ("".join(traceback.format_exception(exc)).rstrip()
                     if self.exception_messages else outline(exc))
            record.exc_text = self.redact(shown)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the fields appended as `key=value`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = " ".join(f"{k}={v}" for k, v in fields(record).items())
        return f"{line} {extra}" if extra else line


_privacy = Privacy()


def hide(secret: str | None) -> None:
    """From now on `secret` (a token learnt at run time, say) never appears in the logs."""
    _privacy.add(secret)


def config_secrets(config: Config) -> list[str]:
    """Every credential the configuration holds, the database password included."""
    values = [config.telegram.token, config.telegram.webhook.secret_token,
              config.matrix.password, config.matrix.access_token]
    secrets = [v.get_secret_value() for v in values if v is not None]
    password = urlsplit(config.database.url).password  # as written, and percent-decoded
    return [*secrets, *([password, unquote(password)] if password else [])]


def configure(fmt: Literal["json", "text"], level: int, secrets: Iterable[str] = (),
              file: Path | None = None) -> logging.Handler:
    """Send every log record, from now on, through one handler: to stderr or to `file`."""
    for secret in secrets:
        _privacy.add(secret)
    _privacy.exception_messages = level <= logging.DEBUG
    handler: logging.Handler = (logging.FileHandler(file, encoding="utf-8") if file
                                else logging.StreamHandler())
    handler.addFilter(_privacy)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))
    return handler
