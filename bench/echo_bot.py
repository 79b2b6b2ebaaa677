"""A bare PTB bot that echoes every text message: the ceiling of the Telegram path.

    .venv/bin/python bench/echo_bot.py --base-url http://127.0.0.1:PORT/bot --token 123:ABC

PTB's own polling (`run_polling`), one `MessageHandler`, `reply_text`; no rate limiter, no
database. Stopped by SIGTERM. With `--aiohttp`, PTB's requests go over the networking
backend piazzabot uses (`adapters.telegram.http`) instead of PTB's default, httpx.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.telegram.http import AiohttpRequest


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--aiohttp", action="store_true",
                        help="PTB's requests over aiohttp, as piazzabot's")
    args = parser.parse_args()
    builder = Application.builder().token(args.token).base_url(args.base_url)
    if args.aiohttp:
        builder = (builder.request(AiohttpRequest())
                   .get_updates_request(AiohttpRequest(connections=1)))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0, timeout=25)


if __name__ == "__main__":
    main()
