"""The interactive terminal chat."""

from __future__ import annotations

import asyncio
import sys

from adapters.console.session import PROMPT_HELP, SPEECH, ConsoleSession, ScriptError


class Prompt:
    """Who speaks where, and the loop that reads what they type."""

    def __init__(self, session: ConsoleSession, user: str = "giulia", chat: str = "milano") -> None:
        self.session = session
        self.user = user
        self.chat = chat
        session.world.admins.add((user, chat))  # the first member founds the first chat

    async def run(self) -> None:
        print("piazzabot — terminal chat. :help lists what you can type; :quit leaves.")
        print(f"You are {self.user} in chat {self.chat}, its administrator. Try /aiuto.")
        loop = asyncio.get_running_loop()
        while True:
            try:
                line = await loop.run_in_executor(None, input, f"{self.user}@{self.chat}> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return
            if line.strip() in (":quit", ":q", ":exit"):
                return
            try:
                await self.handle(line)
            except ScriptError as exc:
                print(f"  ! {exc}")

    async def handle(self, line: str) -> None:
        text = line.strip()
        name, _, rest = text.partition(" ")
        rest = rest.strip()
        if not text:
            return
        if name == ":help":
            print(PROMPT_HELP)
        elif name == ":as" and rest:
            self.user = rest
        elif name == ":in" and rest:
            self.chat = rest
        elif name == ":admin" and rest in ("on", "off"):
            pair = (self.user, self.session.world.chat_name(self.chat, self.user))
            (self.session.world.admins.add if rest == "on"
             else self.session.world.admins.discard)(pair)
        elif name == ":staff" and rest in ("on", ""):
            await self.session.directive(f":staff {self.user}")
        elif text.startswith((":wait", ":restart", ":admin ")) or SPEECH.match(text):
            await self.session.run_line(text)
        else:
            await self.session.speak(self.user, self.chat, text)
        sys.stdout.flush()
