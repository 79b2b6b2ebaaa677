"""python-telegram-bot's exceptions as the port's delivery errors.

Logged with the Bot API method and Telegram's description only: never the message text,
never the token (PTB's messages carry neither).
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from adapters.base import DeliveryError, Moved, Rejected, RetryLater, Unreachable

log = logging.getLogger(__name__)


def retry_after_seconds(exc: RetryAfter) -> float:
    """`retry_after` as seconds, whichever of int or timedelta this PTB version returns."""
    with warnings.catch_warnings():  # PTB 22 warns about the int form being deprecated
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_not_modified(exc: TelegramError) -> bool:
    """An edit that changes nothing: Telegram refuses it, but the message is as wanted."""
    return isinstance(exc, BadRequest) and "message is not modified" in exc.message.lower()


_CANNOT_EDIT = ("message to edit not found", "message can't be edited",
                "there is no text in the message to edit")


def is_message_gone(exc: TelegramError) -> bool:
    """The message to edit was deleted, or cannot take this edit (too old, or a file):
    the new version is posted instead."""
    text = exc.message.lower()
    return isinstance(exc, BadRequest) and any(reason in text for reason in _CANNOT_EDIT)


def is_poll_closed(exc: TelegramError) -> bool:
    return isinstance(exc, BadRequest) and "poll has already been closed" in exc.message.lower()


def _reason(exc: TelegramError) -> str:
    """Telegram's description; for an HTML error page (a 502 from its front end), the status
    without the page."""
    return exc.message.split(". Parsing the server response", 1)[0]


def _fields(method: str, **more: object) -> dict[str, object]:
    return {"platform": "telegram", "method": method, **more}


def delivery_error(exc: TelegramError, method: str) -> DeliveryError:
    """The port's error for a failed Bot API call (the order matters: BadRequest is a
    NetworkError in PTB)."""
    if isinstance(exc, RetryAfter):
        seconds = retry_after_seconds(exc)
        log.info("%s: flood control, retry in %.0f s", method, seconds,
                 extra=_fields(method, seconds=seconds))
        return RetryLater(f"{method}: {exc.message}", retry_after=seconds)
    if isinstance(exc, Forbidden):
        log.info("%s refused: %s", method, exc.message, extra=_fields(method))
        return Unreachable(f"{method}: {exc.message}")
    if isinstance(exc, ChatMigrated):
        # A group became a supergroup: the same chat under a new id (bot.chat_moves).
        log.info("%s: the group moved to chat %s", method, exc.new_chat_id,
                 extra=_fields(method))
        return Moved(f"{method}: group migrated to {exc.new_chat_id}", str(exc.new_chat_id))
    if isinstance(exc, BadRequest | EndPointNotFound):
        log.warning("%s refused by Telegram: %s", method, exc.message, extra=_fields(method))
        return Rejected(f"{method}: {exc.message}")
    if isinstance(exc, NetworkError):
        log.info("%s: network or server error: %s", method, _reason(exc), extra=_fields(method))
        return RetryLater(f"{method}: {_reason(exc)}")
    log.warning("%s failed: %s", method, _reason(exc), extra=_fields(method))
    return RetryLater(f"{method}: {_reason(exc)}")
