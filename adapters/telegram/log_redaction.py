"""Keeping the bot token out of the logs.

A Bot API URL contains the token: httpx logs every request's URL at INFO, and PTB logs its
base URLs at DEBUG when a bot is built. httpx is quieted to warnings, and the token is
replaced by a mark in whatever those loggers still write — whatever handler they reach (a
test's, say); the service's own handler hides it anywhere too (`bot.logs`).
"""

from __future__ import annotations

import logging

from bot.logs import hide

LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "httpx", "httpcore")
QUIET = ("httpx", "httpcore")
MARK = "<token>"


class RedactSecrets(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, MARK)
            record.msg, record.args = message, None
        return True


_redactor = RedactSecrets()


def hide_in_logs(secret: str) -> None:
    """From now on `secret` never appears in the logs of the libraries that might show it."""
    if not secret:
        return
    hide(secret)
    _redactor.secrets.add(secret)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _redactor not in logger.filters:
            logger.addFilter(_redactor)
    for name in QUIET:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
