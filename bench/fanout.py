"""One digest delivered to 1,000 Telegram groups, against Telegram's flood limits.

    .venv/bin/python bench/fanout.py [--chats 1000] [--db sqlite|postgres|both] [--keep-log FILE]

The database holds 1,000 territories, each with its group, and one pending outbox message
per group: a territory digest (about 1,100 characters, bold, italics, links and lists). The
bot is then started as the service runs (`bench/telegram_bot.py`, Telegram's limits kept by
the adapter's rate limiter) against the Bot API emulator enforcing those limits (30 messages
a second overall, 20 a minute per group, 429 with `retry_after` beyond). The real delivery
loop sends them: outbox rows -> `Delivery` -> the adapter -> PTB's `AIORateLimiter` -> HTTP.

Prints the time from the first message accepted to the last, against the floor of 1,000 / 30
= 33.3 s, and how many requests the emulator answered with 429 (the goal is none).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml
from sqlalchemy import insert
from telegram_path import (
    BENCH,
    TOKEN,
    Launched,
    SendCount,
    bot_config,
    free_port,
    wait_until,
)
from throughput import database

from bot.messages import Bold, BulletList, Italic, Link, OutMessage, Text, message_to_json, rich
from storage.db import Database
from storage.models import Chat, OutboxMessage, Territory
from tests.adapters.telegram.emulator import BotAPIEmulator

LIMIT_PER_SECOND = 30
WITHIN = 600.0


def group_id(n: int) -> int:
    return -1_002_000_000_000 - n


def _bold(text: str) -> Bold:
    return Bold((Text(text),))


def digest(territory: str) -> OutMessage:
    """A territory's weekly digest, as the digests engine writes one (in Italian)."""
    ideas = BulletList(tuple(
        (Text(f"#{n} "), Link(f"https://t.me/c/1/{n}", (Text(title),)),
         Text(f" — {supports} sostegni"))
        for n, title, supports in ((41, "Un orto condiviso nel cortile della scuola", 23),
                                   (44, "Bike sharing per i soci della cooperativa", 17),
                                   (45, "Corso di riparazione elettrodomestici", 9),
                                   (47, "Cena di quartiere a fine mese", 6))))
    meetups = BulletList((
        (_bold("Assemblea dei soci"),
         Text(" — giovedì 10 dicembre, ore 18:30, Sala civica di via Roma 12")),
        (_bold("Pulizia del parco"),
         Text(" — sabato 12 dicembre, ore 9:30, ingresso di via Verdi")),
    ))
    return OutMessage(rich(
        (_bold(f"Cosa è successo a {territory}"),),
        "Dal 23 novembre al 30 novembre.",
        (_bold("Idee più sostenute"),), ideas,
        "Nuove idee questa settimana: 7 (3 la settimana prima).",
        (_bold("Prossimi incontri"),), meetups,
        (_bold("Sondaggi aperti"),),
        "Quando facciamo la festa di Natale? 31 risposte finora, chiude venerdì. "
        "Rispondi con /sondaggio 12.",
        (Italic((Text("38 soci hanno partecipato questa settimana. Grazie a tutti!"),)),),
    ), silent=True)


async def prepare(url: str, chats: int) -> None:
    """Schema, territories, their groups, and one pending digest per group (Core inserts)."""
    db = Database(url)
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await session.execute(insert(Territory), [
            {"id": n + 1, "name": f"Territorio {n}", "slug": f"territorio-{n}",
             "timezone": "Europe/Rome", "created_at": now} for n in range(chats)])
        await session.execute(insert(Chat), [
            {"id": n + 1, "platform": "telegram", "external_id": str(group_id(n)),
             "title": f"Territorio {n}", "is_private": False, "kind": "territory",
             "territory_id": n + 1, "locale": "it", "active": True, "created_at": now}
            for n in range(chats)])
        await session.execute(insert(OutboxMessage), [
            {"platform": "telegram", "chat_id": n + 1,
             "payload": message_to_json(digest(f"Territorio {n}")), "state": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now} for n in range(chats)])
    await db.dispose()


async def run(url: str, chats: int, keep_log: Path | None = None) -> None:
    await prepare(url, chats)
    async with BotAPIEmulator(token=TOKEN, bot_username="PiazzaBot",
                              enforce_limits=True) as emu:
        for n in range(chats):
            emu.add_chat(group_id(n), "supergroup", f"Territorio {n}")
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(yaml.safe_dump(bot_config(url, emu, free_port())),
                              encoding="utf-8")
            bot = Launched([str(BENCH / "telegram_bot.py"), "--config", str(config)],
                           Path(tmp) / "bot.log")
            launched = time.perf_counter()
            await bot.start(emu)
            sent = SendCount(emu)
            cpu = bot.cpu_seconds()
            try:
                await wait_until(lambda: sent() >= chats, WITHIN, 0.1)
            except TimeoutError:
                pass  # what was delivered is reported
            finally:
                cpu = bot.cpu_seconds() - cpu
                await bot.stop()
                if keep_log is not None:
                    shutil.copy(Path(tmp) / "bot.log", keep_log)
    times = [at for at, method, _ in emu.answered if method == "sendMessage"]
    floor = chats / LIMIT_PER_SECOND
    total = times[-1] - times[0] + 1 / LIMIT_PER_SECOND if times else float("nan")
    name = url.split(":", 1)[0]
    print(f"{name:20} {len(times)} of {chats} delivered in {total:5.1f} s (floor {floor:.1f} s, "
          f"{total / floor - 1:+.0%})   429 answered: {emu.rate_limited}   "
          f"from the bot's launch: {times[-1] - launched:5.1f} s   "
          f"bot CPU {cpu * 1000 / max(len(times), 1):.1f} ms a message")
    buckets = Counter(int((t - times[0]) // 5) for t in times)
    print("  per 5 s:", [buckets[b] for b in range(max(buckets) + 1)])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--keep-log", type=Path, help="copy the bot's log there")
    args = parser.parse_args()
    for kind in ("sqlite", "postgres"):
        if args.db in (kind, "both"):
            async with database(kind) as url:
                await run(url, args.chats, args.keep_log)


if __name__ == "__main__":
    asyncio.run(main())
