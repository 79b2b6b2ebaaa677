"""Driving the bot from the terminal: the script format and the interactive prompt.

Script lines (`piazzabot console --script FILE`):

    giulia@milano: /territorio Milano     giulia writes in chat milano (dm: her private chat)
    giulia@milano: :press 2               she presses button 2 of the latest message with buttons
    :admin giulia@milano                  giulia administers chat milano
    :staff anna                           anna is staff
    :wait 25h                             time passes (m, h, d; e.g. 1d2h); due jobs run
    :restart                              the bot stops and starts again on the same database
    # a comment                           (blank lines and comments are skipped)

The interactive prompt takes the same lines, plus `:as NAME`, `:in CHAT`, `:admin on|off`,
`:staff on`, a bare number to press a button, `:help` and `:quit`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from adapters.console.adapter import PLATFORM, ConsoleAdapter
from adapters.console.world import World
from bot.app import App
from bot.clock import Clock, FakeClock
from bot.config import Config
from bot.roles import StaffList

SPEECH = re.compile(r"^([A-Za-z0-9_.\-]+)@([A-Za-z0-9_.\-]+):\s?(.*)$")
_DURATION = re.compile(r"(\d+)\s*([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

PROMPT_HELP = """\
Type what a member writes, e.g. /aiuto or /territorio Milano.
  :as NAME          speak as another member            :in CHAT    speak in another chat
  :admin on|off     you administer this chat (or not)  :staff on   you are staff
  :press N  or  N   press button N of the latest message with buttons here
  :wait 2h          let time pass (m, h, d) and run what falls due
  :restart          stop and start the bot on the same database
  NAME@CHAT: text   say something as NAME in CHAT      :quit       leave
Chats named dm or dm-NAME are private chats with the bot."""


class ScriptError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """`25h`, `2d`, `30m`, `1d2h` → a timedelta."""
    compact = text.replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ScriptError(f"not a duration: {text!r} (examples: 30m, 25h, 2d, 1d2h)")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    return total


class ConsoleSession:
    """One terminal session: the pretend world, and the bot (restartable) serving it."""

    def __init__(self, config: Config, world: World, clock: Clock, *,
                 background: bool = False) -> None:
        self.config = config
        self.world = world
        self.clock = clock
        self.background = background
        self.staff = StaffList({PLATFORM: config.staff.console})
        self.adapter = ConsoleAdapter(world)
        self.app: App | None = None
        self.owns_app = True

    @classmethod
    def attached(cls, app: App, adapter: ConsoleAdapter) -> ConsoleSession:
        """A prompt for a bot started by `piazzabot run`, in real time, with other adapters."""
        session = cls(app.config, adapter.world, app.clock, background=True)
        session.adapter, session.app, session.staff = adapter, app, app.services.staff
        session.owns_app = False
        return session

    async def start(self) -> None:
        self.app = App(self.config, [self.adapter], clock=self.clock, staff=self.staff,
                       background=self.background)
        await self.app.start()
        await self._settle()

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
            self.app = None

    async def restart(self) -> None:
        if not self.owns_app:
            raise ScriptError(":restart works in piazzabot console, not under piazzabot run")
        await self.stop()
        await self.start()

    async def _settle(self) -> None:
        """Deliver everything due before the next line is read, so replies come first."""
        if self.app is not None:
            await self.app.delivery.drain()

    # --- one line ------------------------------------------------------------------------

    async def speak(self, user: str, chat: str, text: str) -> None:
        self.world.current_chat = self.world.chat_name(chat, user)
        press = re.fullmatch(r":press\s+(\d+)|(\d+)", text.strip())
        if press:
            await self.adapter.press(user, chat, int(press.group(1) or press.group(2)))
        elif text.strip().startswith(":"):
            raise ScriptError(f"{text.strip().split()[0]} cannot be said by a member")
        else:
            await self.adapter.say(user, chat, text)
        await self._settle()

    async def directive(self, line: str) -> None:
        name, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if name == "admin" and "@" in rest:
            user, chat = rest.split("@", 1)
            self.world.admins.add((user, self.world.chat_name(chat, user)))
        elif name == "staff" and rest:
            self.staff.add(PLATFORM, rest)
        elif name == "wait":
            await self.wait(parse_duration(rest))
        elif name == "restart":
            await self.restart()
        else:
            raise ScriptError(f"unknown line: {line}")

    async def wait(self, delta: timedelta) -> None:
        if not isinstance(self.clock, FakeClock) or self.app is None:
            raise ScriptError(":wait needs the terminal's own clock (piazzabot console)")
        self.world.current_chat = None
        await self.app.scheduler.advance(self.clock, delta)
        await self._settle()

    async def run_line(self, line: str) -> None:
        """One script line; comments and blank lines are skipped, everything else is echoed."""
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return
        self.world.out(stripped)
        try:
            speech = SPEECH.match(stripped)
            if speech:
                await self.speak(speech.group(1), speech.group(2), speech.group(3))
            elif stripped.startswith(":"):
                await self.directive(stripped)
            else:
                raise ScriptError("a line is NAME@CHAT: text, or a :directive")
        except ScriptError as exc:
            self.world.note(str(exc))
