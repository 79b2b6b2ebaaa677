"""The Telegram path: the real bot process against the Bot API emulator over real HTTP.

The bot runs as the service runs (`bench/telegram_bot.py`, i.e. `piazzabot run`: the App, the
Telegram adapter polling, the delivery loop in the background); the emulator runs in this
process on 127.0.0.1 and is the only thing the bot talks to, besides its database. Members
write in their territory's supergroup; the emulator queues their updates and answers
getUpdates with batches of up to 100, as Telegram does. Times are the emulator's own: when
an update was queued, when a reply was accepted.

Two measurements per bot:
- a burst: every command of the stream queued at once; commands per second from the first
  update queued to the last reply accepted;
- latency, one command at a time (the next is queued once the bot is done with the last):
  from the update queued to the last message it caused accepted by the emulator.

In the same run a bare PTB echo bot (`bench/echo_bot.py`) gets the same number of updates
over the same emulator: its figure is the ceiling, and ours is printed as a share of it.
Twice: PTB as it comes (httpx), the issue's ceiling; and over aiohttp, the networking
backend our bot uses (`adapters.telegram.http`), which shows what is left beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.adapters.telegram.emulator import BotAPIEmulator

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TOKEN = "123:ABC"
#: what the bot sends in answer to something: the calls timed as replies
REPLIES = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPoll",
                     "sendDocument", "sendPhoto"})
START_WITHIN = 60.0
SETTLE_WITHIN = 600.0

Command = tuple[str, str, str]  # (member, chat, text) as `throughput.stream` makes them


def group_id(chat: str) -> int:
    """A territory's supergroup: `t3` -> -1001000000003."""
    return -1_001_000_000_000 - int(chat[1:])


def user_id(person: str) -> int:
    """A member `m12` -> 100012; a territory's administrator `admin3` -> 3."""
    return 100_000 + int(person[1:]) if person.startswith("m") else int(person[5:]) + 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident size (or its peak, `VmHWM`) in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def populate(emu: BotAPIEmulator, territories: int, members: int) -> None:
    """A supergroup per territory, created by its administrator; the members, each in the
    group of their territory (as `throughput.prepare` spreads them)."""
    for t in range(territories):
        admin = user_id(f"admin{t}")
        emu.add_user(admin, f"Admin {t}")
        emu.add_chat(group_id(f"t{t}"), "supergroup", f"Territorio {t}", creator=admin)
    for m in range(members):
        emu.add_user(user_id(f"m{m}"), f"Socio {m}")


def setup_commands(territories: int) -> list[Command]:
    """What `throughput.prepare` does, said in the groups by their administrators."""
    out = []
    for t in range(territories):
        out.append((f"admin{t}", f"t{t}", f"/territorio Territorio {t}"))
        out.append((f"admin{t}", f"t{t}", f"/incontro Cena {t} | domani alle 19 | Piazza {t}"))
    return out


class Launched:
    """A benchmark bot in a process of its own; stopped with SIGTERM."""

    def __init__(self, argv: Sequence[str], log_path: Path) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, emu: BotAPIEmulator) -> None:
        """Start, and wait until the bot's first long poll is parked in the emulator."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, *self.argv, cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log)
        deadline = time.monotonic() + START_WITHIN
        while emu.waiting_polls == 0:
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.argv[0]} did not start:\n"
                                   f"{self.log_path.read_text()[-3000:]}")
            await asyncio.sleep(0.05)

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


Settle = Callable[[float], Awaitable[None]]


@dataclass
class Figures:
    commands: int
    per_second: float
    latencies: list[float]  # seconds, one command at a time
    unanswered: int
    peak_rss_kib: int
    cpu_seconds: float  # the bot's process, during the burst

    def line(self, name: str) -> str:
        cuts = statistics.quantiles(self.latencies, n=100) if len(self.latencies) > 1 else [0] * 99
        missing = f", {self.unanswered} unanswered" if self.unanswered else ""
        cpu = self.cpu_seconds * 1000 / self.commands
        return (f"{name:28} {self.per_second:8.1f} commands/s   p50 {cuts[49] * 1000:6.1f} ms   "
                f"p99 {cuts[98] * 1000:6.1f} ms   CPU {cpu:5.2f} ms/command   "
                f"peak RSS {self.peak_rss_kib / 1024:4.0f} MB"
                f"   ({self.commands} in the burst, {len(self.latencies)} one at a time"
                f"{missing})")


class Driver:
    """Queues members' updates in the emulator and reads the replies' times back."""

    def __init__(self, emu: BotAPIEmulator) -> None:
        self.emu = emu

    def say(self, command: Command) -> int:
        person, chat, text = command
        return int(self.emu.inject_message(group_id(chat), user_id(person), text)["update_id"])

    def replies_since(self, mark: int, chat: int | None = None) -> list[float]:
        return [at for at, method, params in self.emu.answered[mark:]
                if method in REPLIES and (chat is None or _chat_of(params) == chat)]

    async def one_at_a_time(self, work: Sequence[Command], settle: Settle) -> list[float]:
        """Each command's latency: queued -> the last reply it caused accepted."""
        latencies = []
        for command in work:
            mark = len(self.emu.answered)
            update = self.say(command)
            await settle(SETTLE_WITHIN)
            replies = self.replies_since(mark, group_id(command[1]))
            if replies:
                latencies.append(max(replies) - self.emu.enqueued_at[update])
        return latencies

    async def burst(self, work: Sequence[Command], settle: Settle) -> float:
        """Commands per second: all queued at once, until the last reply is accepted."""
        mark = len(self.emu.answered)
        first = self.say(work[0])
        for command in work[1:]:
            self.say(command)
        await settle(SETTLE_WITHIN)
        replies = self.replies_since(mark)
        return len(work) / (max(replies) - self.emu.enqueued_at[first]) if replies else 0.0


def _chat_of(params: dict[str, Any]) -> int | None:
    try:
        return int(params.get("chat_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


async def wait_until(predicate: Callable[[], bool], within: float, every: float) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not settled within {within} s")
        await asyncio.sleep(every)


def bot_config(database_url: str, emu: BotAPIEmulator, health_port: int) -> dict[str, Any]:
    """The service's configuration: Telegram only, limits that busy members do not reach."""
    return {
        "locale": "it",
        "timezone": "Europe/Rome",
        "database": {"url": database_url},
        "console": {"enabled": False},
        "telegram": {"enabled": True, "token": TOKEN, "base_url": emu.base_url,
                     "base_file_url": emu.base_file_url, "mode": "polling"},
        "ideas": {"daily_limit": 1_000_000},
        "limits": {"commands_per_minute": 1_000_000},
        "health": {"enabled": True, "listen": "127.0.0.1", "port": health_port},
    }


async def run_bot(database_url: str, work: Sequence[Command], sample: Sequence[Command], *,
                  territories: int, members: int, workdir: Path,
                  profile: str | None = None) -> Figures:
    """Our bot: setup said by the administrators, `sample` one at a time, `work` in a burst."""
    port = free_port()
    async with BotAPIEmulator(token=TOKEN, bot_username="PiazzaBot") as emu, \
            aiohttp.ClientSession() as http:
        populate(emu, territories, members)
        config = workdir / "config.yaml"
        config.write_text(yaml.safe_dump(bot_config(database_url, emu, port)), encoding="utf-8")
        argv = [str(BENCH / "telegram_bot.py"), "--config", str(config), "--lax-limits"]
        bot = Launched(argv, workdir / "bot.log")
        await bot.start(emu)

        async def outbox_depth() -> int:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                return int((await response.json())["outbox_depth"])

        async def settle(within: float) -> None:
            """The bot has taken every update (confirmed to the emulator) and sent it all."""
            await wait_until(lambda: not emu.pending_updates, within, 0.002)
            deadline = time.monotonic() + within
            while await outbox_depth() > 0:
                if time.monotonic() > deadline:
                    raise TimeoutError("outbox not drained")
                await asyncio.sleep(0.005)

        driver = Driver(emu)
        try:
            await driver.one_at_a_time(setup_commands(territories), settle)
            return await measure(bot, driver, work, sample, settle, profile)
        finally:
            await bot.stop()


async def measure(process: Launched, driver: Driver, work: Sequence[Command],
                  sample: Sequence[Command], settle: Settle, profile: str | None = None
                  ) -> Figures:
    """`sample` one at a time (latencies), then `work` in a burst (commands per second, the
    process's CPU, sampled by py-spy with `profile`); and the process's peak RSS."""
    latencies = await driver.one_at_a_time(sample, settle)
    cpu = process.cpu_seconds()
    async with sampled(process.pid, profile):
        per_second = await driver.burst(work, settle)
    cpu = process.cpu_seconds() - cpu
    peak = rss_kib(process.pid, "VmHWM")
    return Figures(len(work), per_second, latencies, len(sample) - len(latencies), peak, cpu)


@contextlib.asynccontextmanager
async def sampled(pid: int, profile: str | None) -> AsyncIterator[None]:
    """With `profile`, py-spy samples the process meanwhile into that file (collapsed
    stacks, as flamegraph tools read them)."""
    if not profile:
        yield
        return
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format",
        "raw", "--rate", "200", "--output", profile, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        await spy.wait()


async def run_echo(work: Sequence[Command], sample: Sequence[Command], *, territories: int,
                   members: int, workdir: Path, aiohttp: bool = False) -> Figures:
    """The bare PTB echo bot on the same updates: one reply each; with `aiohttp`, over the
    networking backend our bot uses."""
    async with BotAPIEmulator(token=TOKEN, bot_username="PiazzaBot") as emu:
        populate(emu, territories, members)
        echo = Launched([str(BENCH / "echo_bot.py"), "--base-url", emu.base_url,
                         "--token", TOKEN, *(["--aiohttp"] if aiohttp else [])],
                        workdir / "echo.log")
        await echo.start(emu)
        echoes = SendCount(emu)

        async def settle(within: float) -> None:
            """Every update queued so far has had its echo."""
            await wait_until(lambda: echoes() >= len(emu.updates), within, 0.002)

        try:
            return await measure(echo, Driver(emu), work, sample, settle)
        finally:
            await echo.stop()


class SendCount:
    """How many sendMessage the emulator has answered, counted as they come."""

    def __init__(self, emu: BotAPIEmulator) -> None:
        self.emu = emu
        self.seen = 0
        self.count = 0

    def __call__(self) -> int:
        answered = self.emu.answered
        self.count += sum(1 for _, method, _ in answered[self.seen:] if method == "sendMessage")
        self.seen = len(answered)
        return self.count


async def compare(database_url: str, name: str, work: Sequence[Command],
                  sample: Sequence[Command], *, territories: int, members: int,
                  profile: str | None = None) -> None:
    """Our bot, then the echo ceiling on the same stream — PTB as it comes (the issue's
    ceiling), and over the networking backend our bot uses; prints each and the ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        ours = await run_bot(database_url, work, sample, territories=territories,
                             members=members, workdir=Path(tmp), profile=profile)
        ceilings = [(label, await run_echo(work, sample, territories=territories,
                                           members=members, workdir=Path(tmp),
                                           aiohttp=aiohttp))
                    for label, aiohttp in (("bare PTB echo (ceiling)", False),
                                           ("bare PTB echo over aiohttp", True))]
    print(ours.line(f"telegram {name}"))
    for label, ceiling in ceilings:
        print(ceiling.line(f"  {label}"))
        share = ours.per_second / ceiling.per_second if ceiling.per_second else 0.0
        cost = ceiling.cpu_seconds / ours.cpu_seconds if ours.cpu_seconds else 0.0
        print(f"    ours / this echo: {share:.0%} of the commands per second; "
              f"{cost:.0%} by CPU time per command")
