"""The pretend platform behind the terminal: its chats, members, screens and transcript.

It outlives the bot: on `:restart` the bot stops and starts again, but the chats and what
they show stay, as a real platform's would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adapters.console.render import render_plain
from bot.messages import Action, OutMessage


def private_chat(user: str) -> str:
    return f"dm-{user}"


@dataclass
class Shown:
    """A message as a chat shows it."""

    message_id: str
    chat: str
    lines: list[str]
    buttons: list[Action]


@dataclass
class World:
    out: Callable[[str], None] = print
    files_dir: Path | None = None
    admins: set[tuple[str, str]] = field(default_factory=set)
    messages: dict[str, Shown] = field(default_factory=dict)
    current_chat: str | None = None  # the chat just spoken in: its replies are not labelled
    _next_message: int = 1
    _next_event: int = 1

    def chat_name(self, chat: str, speaker: str) -> str:
        return private_chat(speaker) if chat == "dm" else chat

    def is_private(self, chat: str) -> bool:
        return chat.startswith("dm-")

    def event_id(self) -> str:
        self._next_event += 1
        return f"e{self._next_event - 1}"

    # --- what the bot sends --------------------------------------------------------------

    def post(self, chat: str, message: OutMessage) -> str:
        message_id = str(self._next_message)
        self._next_message += 1
        shown = Shown(message_id, chat, self._lines(message), _buttons(message))
        self.messages[message_id] = shown
        self._print(chat, shown, marker="→")
        self._save_file(message)
        return message_id

    def edit(self, message_id: str, message: OutMessage) -> str:
        shown = self.messages.get(message_id)
        if shown is None:
            raise KeyError(message_id)
        lines, buttons = self._lines(message), _buttons(message)
        if (lines, buttons) != (shown.lines, shown.buttons):
            shown.lines, shown.buttons = lines, buttons
            self._print(shown.chat, shown, marker="✎")
        return message_id

    def toast(self, text: str) -> None:
        self.out(f"  ⓘ {text}")

    def note(self, text: str) -> None:
        self.out(f"  ! {text}")

    def latest_buttons(self, chat: str) -> list[Action]:
        for shown in sorted(self.messages.values(), key=lambda s: -int(s.message_id)):
            if shown.chat == chat and shown.buttons:
                return shown.buttons
        return []

    def _lines(self, message: OutMessage) -> list[str]:
        lines = render_plain(message.text)
        if message.poll:
            lines.append(message.poll.question)
            lines.extend(f"{i}. {option}" for i, option in enumerate(message.poll.options, 1))
        if message.attachment:
            lines.append(f"[file: {message.attachment.filename}]")
        return lines

    def _print(self, chat: str, shown: Shown, marker: str) -> None:
        buttons = "  ".join(f"[{i}] {a.label}" for i, a in enumerate(shown.buttons, 1))
        lines = shown.lines + ([buttons] if buttons else [])
        if chat == self.current_chat and marker == "→":
            for line in lines:
                self.out(f"  {line}" if line else "")
            return
        first, *rest = lines or [""]
        self.out(f"  {marker} {chat}: {first}")
        for line in rest:
            self.out(f"    {line}" if line else "")

    def _save_file(self, message: OutMessage) -> None:
        if message.attachment and self.files_dir is not None:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            name = Path(message.attachment.filename).name  # never a path of the bot's choosing
            (self.files_dir / name).write_bytes(message.attachment.data)


def _buttons(message: OutMessage) -> list[Action]:
    return [action for row in message.actions for action in row]
