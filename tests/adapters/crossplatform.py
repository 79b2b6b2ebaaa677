"""One bot on two real platforms at once — Telegram (the real PTB adapter against the Bot API
emulator) and Matrix (the real nio adapter against the test Synapse) — in one `App`, and
the steps tests of a territory with a chat on each repeat: a Telegram group, binding both
chats to Milano, pressing a card's button as a member and waiting for what members see.

Also the keyboard helpers the Telegram-only card tests use (`keyboard`, `labels`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nio

from adapters.matrix.adapter import MatrixAdapter
from adapters.telegram.adapter import TelegramAdapter
from bot.app import App
from bot.config import Config
from tests.adapters.matrix.harness import (
    BOUND,
    READY_SECONDS,
    BotFactory,
    MatrixBot,
    bind_to_milano,
)
from tests.adapters.telegram.emulator import BotAPIEmulator, StoredMessage

TOKEN = "123:ABC"
ADA, BRUNO = 42, 43  # Ada administers the Telegram group; Bruno is a member
GROUP = -1001000000001
WAIT = 10.0  # seconds, for anything the running bot does on Telegram


@asynccontextmanager
async def telegram_group() -> AsyncIterator[BotAPIEmulator]:
    """A Telegram with the supergroup "Piazza Milano": Ada created it, Bruno is in it; both
    have started the bot (it may write to them privately)."""
    async with BotAPIEmulator(token=TOKEN, bot_username="PiazzaBot") as emu:
        emu.add_user(ADA, "Ada", username="ada")
        emu.add_user(BRUNO, "Bruno")
        emu.add_chat(GROUP, "supergroup", "Piazza Milano", creator=ADA, members=[BRUNO])
        yield emu


async def both_platforms(factory: BotFactory, emu: BotAPIEmulator) -> MatrixBot:
    """One bot on Telegram (the emulator) and Matrix (Synapse) at once, its clock the real
    one and its delivery loop running; stopped with the factory's bots."""
    account = await factory.server.register(f"piazzabot-{secrets.token_hex(3)}")
    folder = factory.root / "both"
    folder.mkdir(parents=True)
    config = Config.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{folder}/bot.db"},
        "console": {"enabled": False},
        "telegram": {"enabled": True, "token": TOKEN, "base_url": emu.base_url,
                     "base_file_url": emu.base_file_url},
        "matrix": {"enabled": True, "homeserver": factory.server.base_url,
                   "user_id": account.user_id, "encryption": False,
                   "store_path": str(folder / "store"),
                   "allowed_servers": [factory.server.server_name],
                   "access_token": account.access_token, "device_id": account.device_id},
    })
    telegram = TelegramAdapter(config.telegram, default_locale=config.locale)
    matrix = MatrixAdapter(config.matrix, default_locale=config.locale)
    app = App(config, [telegram, matrix])
    await app.start()
    bot = MatrixBot(app, matrix, account, config)
    factory.bots.append(bot)
    await asyncio.wait_for(matrix.ready.wait(), READY_SECONDS)
    return bot


async def bind_both_to_milano(emu: BotAPIEmulator, bot: MatrixBot, admin: nio.AsyncClient,
                              room_id: str) -> None:
    """Ada binds the Telegram group and `admin` (the room's creator) the Matrix room to
    Milano, each as their platform writes commands; returns once both are answered."""
    emu.inject_message(GROUP, ADA, "/territorio Milano")
    await telegram_message(emu, lambda text: BOUND in text)
    await bind_to_milano(bot, admin, room_id)


def _find(emu: BotAPIEmulator, chat_id: int,
          match: Callable[[str], bool]) -> StoredMessage | None:
    return next((m for m in emu.sent_messages(chat_id) if match(m.text or "")), None)


async def telegram_message(emu: BotAPIEmulator, match: Callable[[str], bool],
                           chat_id: int = GROUP) -> StoredMessage:
    """The first message the bot sent in `chat_id` whose text (as it is now, after any
    edit) satisfies `match`, waiting for it while the bot runs."""
    await emu.wait_for(lambda: _find(emu, chat_id, match) is not None, timeout=WAIT)
    found = _find(emu, chat_id, match)
    assert found is not None
    return found


# --------------------------------------------------------------------------- buttons


def labels(message: StoredMessage) -> list[list[str]]:
    """The inline keyboard as a member sees it: rows of button labels."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [[button["text"] for button in row] for row in rows]


def keyboard(message: StoredMessage) -> dict[str, str]:
    """Each button's callback data, by its label."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


async def press(emu: BotAPIEmulator, user: int, message: StoredMessage,
                label: str) -> str | None:
    """`user` presses the button `label` under `message` while the bot runs; returns the
    toast it answered with."""
    before = len(emu.callback_answers)
    emu.inject_callback(message.chat_id, user, message.message_id, keyboard(message)[label])
    await emu.wait_for(lambda: len(emu.callback_answers) > before, timeout=WAIT)
    return emu.callback_answers[before].get("text")
