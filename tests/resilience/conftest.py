"""Crashes and outages: the real bot process against the Bot API emulator.

Settings (environment):

- `PIAZZABOT_KILLS`: SIGKILLs per database in the kill test (default 5; the dedicated run
  uses 20 or more);
- `PIAZZABOT_OUTAGE_SECONDS`: how long each kind of outage lasts (default 6, past the bot's
  5 s read timeout; the dedicated run uses minutes, e.g. 180);
- `PIAZZABOT_SEED`: the seed of every random choice (workload, kill moments), so that a
  failing run can be replayed with the same plan.

The figures (kills survived, actions acknowledged, lost, duplicates, resends, outages) are
printed at the end of the run, in a section of their own.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.resilience.link import PlatformLink
from tests.resilience.platform import RecordingEmulator
from tests.resilience.process import TOKEN, BotProcess, bot_config, free_port

KILLS = int(os.environ.get("PIAZZABOT_KILLS", "5"))
OUTAGE_SECONDS = float(os.environ.get("PIAZZABOT_OUTAGE_SECONDS", "6"))
SEED = int(os.environ.get("PIAZZABOT_SEED", "20261122"))

FIGURES: list[str] = []


@pytest.fixture
async def emu() -> AsyncIterator[RecordingEmulator]:
    async with RecordingEmulator(token=TOKEN, bot_username="PiazzaBot") as emulator:
        yield emulator


@pytest.fixture
async def link(emu: RecordingEmulator) -> AsyncIterator[PlatformLink]:
    """The only way from the bot to the emulator; `link.down()` is a refused connection."""
    cable = PlatformLink(emu.port)
    await cable.up()
    yield cable
    await cable.down()


@asynccontextmanager
async def bot_process(database_url: str, link: PlatformLink, tmp_path: Path
                      ) -> AsyncIterator[BotProcess]:
    config = bot_config(database_url, f"http://127.0.0.1:{link.port}", free_port())
    process = BotProcess(tmp_path, config)
    print(f"bot log: {process.log_path}")
    try:
        yield process
    finally:
        await process.aclose()


@pytest.fixture
async def bot(database_url: str, link: PlatformLink, tmp_path: Path
              ) -> AsyncIterator[BotProcess]:
    """The bot process (not started yet) on the test's database, through `link`."""
    async with bot_process(database_url, link, tmp_path) as process:
        yield process


@pytest.fixture
async def sqlite_bot(sqlite_url: str, link: PlatformLink, tmp_path: Path
                     ) -> AsyncIterator[BotProcess]:
    """The same on SQLite only, for what does not depend on the database."""
    async with bot_process(sqlite_url, link, tmp_path) as process:
        yield process


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Adds a line to the figures printed at the end of the run."""
    def add(line: str) -> None:
        FIGURES.append(f"{request.node.name}: {line}")
        print(line)
    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("resilience figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
