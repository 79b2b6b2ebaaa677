"""The `piazzabot` command: run, console, check-config, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config, ConfigError, load_config
from bot.logs import TEXT_FORMAT, config_secrets, configure

log = logging.getLogger("piazzabot")

# Script mode's clock starts here unless --now says otherwise: the same script gives the
# same transcript every time.
SCRIPT_EPOCH = "2026-12-01T10:00"
LOG_FILE = "piazzabot.log"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="piazzabot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start every adapter enabled in the configuration")
    run.add_argument("--config", help="configuration file (default: $PIAZZABOT_CONFIG)")

    console = sub.add_parser("console", help="chat with the bot in the terminal")
    console.add_argument("--config", help="configuration file (default: $PIAZZABOT_CONFIG)")
    console.add_argument("--script", type=Path, help="read a conversation, print the transcript")
    console.add_argument("--now", help="start of the clock, e.g. 2026-12-01T10:00 "
                                       "(territory time unless an offset is given)")
    console.add_argument("--db", help="database URL (default: a fresh temporary SQLite file)")
    console.add_argument("--lang", choices=["it", "en"], help="default language of new chats")
    console.add_argument("--files", type=Path, help="write the files the bot sends here")

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", nargs="?", help="the file (default: $PIAZZABOT_CONFIG)")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply the migrations")
    upgrade.add_argument("--config", help="configuration file (default: $PIAZZABOT_CONFIG)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format=TEXT_FORMAT)
    try:
        if args.command == "check-config":
            return _check_config(args.file)
        config = load_config(args.config)
        if args.command == "run":
            _log_for_service(config, args.verbose)
            return asyncio.run(_run(config))
        configure("text", logging.DEBUG if args.verbose else logging.WARNING,
                  config_secrets(config))
        if args.command == "db":
            return asyncio.run(_upgrade(config))
        return asyncio.run(_console(config, args))
    except ConfigError as exc:
        print("The configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _log_for_service(config: Config, verbose: bool) -> None:
    """The configured logs (JSON lines at INFO by default), into a file when the terminal
    chat has the screen."""
    level = logging.DEBUG if verbose else logging.getLevelNamesMapping()[config.logging.level]
    file = Path(LOG_FILE) if config.console.enabled else None
    configure(config.logging.format, level, config_secrets(config), file)
    if file:
        print(f"Logs go to {LOG_FILE}.")


def _check_config(path: str | None) -> int:
    try:
        load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    print("The configuration is valid.")
    return 0


async def _upgrade(config: Config) -> int:
    from storage.db import Database, safe_url

    db = Database(config.database.url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    print(f"Database {safe_url(config.database.url)} is up to date.")
    return 0


def _start_time(text: str | None, zone: str) -> datetime:
    moment = datetime.fromisoformat(text or SCRIPT_EPOCH)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


async def _console(config: Config, args: argparse.Namespace) -> int:
    from adapters.console.repl import Prompt
    from adapters.console.session import ConsoleSession
    from adapters.console.world import World
    from bot.clock import FakeClock

    updates: dict[str, object] = {}
    if args.lang:
        updates["locale"] = args.lang
    with tempfile.TemporaryDirectory(prefix="piazzabot-") as tmp:
        url = args.db or f"sqlite+aiosqlite:///{tmp}/console.db"
        config = config.model_copy(update={
            **updates, "database": config.database.model_copy(update={"url": url})})
        now = args.now if args.script else (args.now or datetime.now().isoformat())
        clock = FakeClock(_start_time(now, config.timezone))
        session = ConsoleSession(config, World(files_dir=args.files), clock)
        await session.start()
        try:
            if args.script:
                for line in args.script.read_text(encoding="utf-8").splitlines():
                    await session.run_line(line)
            else:
                await Prompt(session).run()
        finally:
            await session.stop()
    return 0


async def _run(config: Config) -> int:
    """Start every enabled adapter and serve until interrupted."""
    from adapters.console.adapter import ConsoleAdapter
    from adapters.console.repl import Prompt
    from adapters.console.session import ConsoleSession
    from bot.app import App
    from bot.health import HealthServer
    from bot.runtime import build_adapters, prepare_digest_chart, tune_collector

    adapters = build_adapters(config)
    if not adapters:
        print("No adapter is enabled in the configuration.", file=sys.stderr)
        return 2
    app = App(config, adapters)
    await app.start()
    health = HealthServer(app, config.health.listen, config.health.port)
    if config.health.enabled:
        await health.start()
    await prepare_digest_chart(app.db)
    tune_collector()
    foreground = None
    if isinstance(console := app.adapters.get("console"), ConsoleAdapter):
        foreground = Prompt(ConsoleSession.attached(app, console)).run
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if foreground is not None:
            waiter = asyncio.create_task(stop.wait())
            prompt = asyncio.create_task(foreground())
            await asyncio.wait({waiter, prompt}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            prompt.cancel()
        else:
            await stop.wait()
    finally:
        await health.stop()
        await app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
