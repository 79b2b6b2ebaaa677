"""Command text: recognising a command, splitting its arguments, and the command registry.

A command is `/name args`, `/name@BotName args` (Telegram) or `!name args` (Matrix). Fields
are separated by `|`; double quotes keep a `|` inside a field.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.i18n import translator

if TYPE_CHECKING:
    from bot.context import Context
    from bot.digests.sections import Section
    from bot.duework import Job
    from bot.events import PollAnswerEvent

MAX_ARGS = 4000  # longer arguments are refused before any parsing
_COMMAND = re.compile(r"^([/!])([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)(.*)\Z", re.S)

Audience = Literal["member", "facilitator", "staff"]
Handler = Callable[["Context", str], Awaitable[None]]


def split_command(
    text: str, *, prefixes: str = "/", bot_username: str | None = None
) -> tuple[str, str] | None:
    """Return `(name, args)` if `text` is a command for this bot, else None.

    `name` is lower-cased; a command addressed to another bot (`/cmd@OtherBot`) is not ours.
    """
    match = _COMMAND.match(text.strip())
    if not match or match.group(1) not in prefixes:
        return None
    addressed = match.group(3)
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    return match.group(2).lower(), match.group(4).strip()


def fields(args: str) -> list[str]:
    """Split `a | "b | c" | d` into `["a", "b | c", "d"]`, trimming each field."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in args:
        if ch == '"':
            quoted = not quoted
        elif ch == "|" and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    return out if any(out) else []


def words(args: str) -> list[str]:
    """Split on white space, honouring quotes; unbalanced quotes fall back to a plain split."""
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


@dataclass(frozen=True)
class CommandSpec:
    """A command: its names (Italian first, then English), who may use it, and its help.

    `summary`, `usage` and `example` are English msgids, marked with `N_` and translated
    when shown; `usage` and `example` are written with the Italian command name.
    """

    names: tuple[str, ...]
    handler: Handler
    summary: str
    usage: str = ""
    example: str = ""
    audience: Audience = "member"
    group_only: bool = False

    @property
    def name(self) -> str:
        return self.names[0]

    def name_for(self, locale: str) -> str:
        """The name shown to a chat: Italian by default, the English alias in English."""
        return self.names[1] if locale == "en" and len(self.names) > 1 else self.names[0]


ActionHandler = Callable[["Context", dict, bool], Awaitable[str]]
TextHandler = Callable[["Context", dict, str], Awaitable[None]]
PollAnswerHandler = Callable[["Context", "PollAnswerEvent"], Awaitable[None]]
# Brings one card (a kind's, its id) up to date; the parts of it that changed (see
# `Context.refresh_card`).
CardRefresher = Callable[["Context", int, frozenset[int]], Awaitable[None]]


@dataclass
class Registry:
    """Everything the dispatcher can route to; each feature module adds its own."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)
    ordered: list[CommandSpec] = field(default_factory=list)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    conversations: dict[str, TextHandler] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    digest_sections: list[Section] = field(default_factory=list)
    poll_answer_handler: PollAnswerHandler | None = None
    cards: dict[str, CardRefresher] = field(default_factory=dict)

    def command(self, spec: CommandSpec) -> None:
        for name in spec.names:
            if name in self.commands:
                raise ValueError(f"command name {name!r} registered twice")
            self.commands[name] = spec
        self.ordered.append(spec)

    def action(self, kind: str, handler: ActionHandler) -> None:
        """`handler(ctx, payload, undo) -> toast text` acts on a validated token."""
        self.actions[kind] = handler

    def conversation(self, kind: str, handler: TextHandler) -> None:
        """`handler(ctx, state, text)` takes the next message of a guided conversation."""
        self.conversations[kind] = handler

    def card(self, kind: str, refresher: CardRefresher) -> None:
        """`refresher(ctx, id, parts)` brings a card of `kind` up to date."""
        self.cards[kind] = refresher

    def poll_answers(self, handler: PollAnswerHandler) -> None:
        """`handler(ctx, event)` takes answers to native polls (one feature owns them)."""
        if self.poll_answer_handler is not None:
            raise ValueError("a poll answer handler is already registered")
        self.poll_answer_handler = handler

    def english_names(self) -> dict[str, str]:
        """Italian command name → its English alias."""
        return {spec.names[0]: spec.names[1] for spec in self.ordered if len(spec.names) > 1}

    def job(self, job: Job) -> None:
        self.jobs.append(job)

    def digest_section(self, section: Section) -> None:
        """A part of the digests; sections appear in the order they are registered."""
        self.digest_sections.append(section)

    def find(self, name: str) -> CommandSpec | None:
        return self.commands.get(name.lower())

    def menu(self, locale: str) -> list[tuple[str, str]]:
        """(name, summary) in `locale` of the commands a platform's menu shows: everyone's
        and facilitators', not staff-only ones."""
        t = translator(locale)
        return [(spec.name_for(t.locale), t.gettext(spec.summary)) for spec in self.ordered
                if spec.audience != "staff"]
