"""The real bot as a separate process: `python -m bot.cli run --config FILE`.

`BotProcess` writes the configuration (Telegram adapter only, no terminal chat, /healthz on
a port of its own, the token from the environment), starts the process, knows it is up
when /healthz answers, and ends it with SIGKILL (a crash) or SIGTERM (a stop). Every run's
output goes to one log file, runs separated by a header line, for the post-mortem.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123:ABC"
START_WITHIN = 60.0  # seconds for a start to answer /healthz (a cold start imports a lot)
STOP_WITHIN = 30.0
POLL_EVERY = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_config(database_url: str, telegram_url: str, health_port: int) -> dict[str, Any]:
    """A configuration for the bot under test: busy members, no terminal, local only."""
    return {
        "locale": "it",
        "timezone": "Europe/Rome",
        "database": {"url": database_url},
        "console": {"enabled": False},
        "telegram": {"enabled": True, "token": "${TELEGRAM_BOT_TOKEN}",
                     "base_url": f"{telegram_url}/bot", "base_file_url": f"{telegram_url}/file/bot",
                     "mode": "polling"},
        "ideas": {"daily_limit": 50},
        "limits": {"commands_per_minute": 1000},
        "health": {"enabled": True, "listen": "127.0.0.1", "port": health_port},
    }


class BotDied(RuntimeError):
    pass


@dataclass(frozen=True)
class Moment:
    event: str  # launch | kill
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)


class BotProcess:
    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.workdir = workdir
        self.config_path = workdir / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = workdir / "bot.log"
        self.health_url = f"http://127.0.0.1:{config['health']['port']}/healthz"
        self.process: asyncio.subprocess.Process | None = None
        self.timeline: list[Moment] = []  # every launch and kill, in order

    @property
    def launches(self) -> list[float]:
        return [m.at for m in self.timeline if m.event == "launch"]

    @property
    def kills(self) -> list[float]:
        return [m.at for m in self.timeline if m.event == "kill"]

    def state_at(self, wall: float) -> str:
        """What the bot was doing at a wall-clock moment: down (killed), or running."""
        before = [m for m in self.timeline if m.wall <= wall]
        return "down" if before and before[-1].event == "kill" else "running"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def launch(self) -> None:
        """Start the process (not waiting for it to be up)."""
        assert not self.running
        env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": TOKEN,
               "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n===== start {len(self.launches) + 1} =====\n")
            log.flush()
            self.timeline.append(Moment("launch"))
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "--config", str(self.config_path),
                cwd=self.workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log)

    async def start(self) -> None:
        """Start the process and wait until /healthz answers."""
        await self.launch()
        await self.wait_up()

    async def wait_up(self, within: float = START_WITHIN) -> dict[str, Any]:
        assert self.process is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise BotDied(f"the bot exited with {self.process.returncode}:\n"
                              f"{self.log_tail()}")
            report = await self.health()
            if report is not None:
                return report
            await asyncio.sleep(POLL_EVERY)
        raise TimeoutError(f"the bot did not answer /healthz within {within}s:\n"
                           f"{self.log_tail()}")

    async def health(self) -> dict[str, Any] | None:
        """The /healthz report (whatever its status), or None if nothing answers."""
        try:
            timeout = aiohttp.ClientTimeout(total=5)
            async with aiohttp.ClientSession(timeout=timeout) as http, \
                    http.get(self.health_url) as response:
                report: dict[str, Any] = await response.json()
                report["status"] = response.status
                return report
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        assert self.process is not None
        if self.process.returncode is None:
            self.timeline.append(Moment("kill"))
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, as a supervisor stops the service; SIGKILL if it does not end."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_WITHIN)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise
        return self.process.returncode or 0

    async def aclose(self) -> None:
        if self.running:
            assert self.process is not None
            self.process.kill()
            await self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])
