"""Hostile text against the parsers that read a command's values: dates, meetup fields, poll
descriptions, idea submissions, answers, reminder offsets (hypothesis).

`test_hostile_input.py` sends the same text through the whole bot, which costs tens of
milliseconds an example; here each parser is called directly, so the dedicated run can give
every one of them 10,000 examples (PIAZZABOT_FUZZ_EXAMPLES × 8, as for the tokenizers).
A parser may refuse — `UserError` with an explanation that renders to valid Telegram HTML,
or `WhenError` for the date parser, whose callers word the reply — and nothing else: no
other exception, and whatever it accepts is within the limits the feature promises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from adapters.telegram.render import split as telegram_split
from bot.context import Context, UserError, load_context
from bot.dates import WhenError, parse_when
from bot.events import ChatRef, CommandEvent, Sender
from bot.ideas import parsing as ideas
from bot.meetups import fields
from bot.meetups.answers import parse_answer
from bot.meetups.reminders import parse_offsets
from bot.meetups.store import GOING, MAYBE, NO
from bot.polls import parsing as polls
from tests.adapters.telegram.emulator_html import parse_html
from tests.fuzz.test_hostile_input import EXAMPLES, hostile
from tests.support import Bot

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ZONES = [ZoneInfo("Europe/Rome"), ZoneInfo("America/Sao_Paulo"), ZoneInfo("Pacific/Kiritimati")]


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Context]]:
    """A facilitator's context in an Italian territory chat and one in English, loaded once:
    the parsers read the language, the zone and the clock from it, never the database."""
    loop = asyncio.new_event_loop()
    path = tmp_path_factory.mktemp("parsers") / "parsers.db"
    bot = loop.run_until_complete(Bot.in_territory(f"sqlite+aiosqlite:///{path}"))
    loop.run_until_complete(bot.send("giulia", "milano", "/lingua en"))
    bot.admins.add(("giulia", "torino"))
    loop.run_until_complete(bot.send("giulia", "torino", "/territorio Torino"))

    async def load(chat: str) -> Context:
        event = CommandEvent("memory", f"ctx-{chat}", ChatRef("memory", chat, title=chat),
                             Sender("giulia", "Giulia", is_chat_admin=True), "x", "")
        async with bot.app.db.transaction() as session:
            return await load_context(session, bot.app.services, event)

    yield [loop.run_until_complete(load(chat)) for chat in ("torino", "milano")]
    loop.run_until_complete(bot.stop())
    loop.close()


def refused_or(ctx: Context, parser: Callable[[Context, str], object], text: str) -> object:
    """`parser(ctx, text)`, or None if it refused with a well-formed explanation."""
    try:
        return parser(ctx, text)
    except UserError as refusal:
        message = refusal.text
    assert message.plain().strip(), "a refusal says why"
    for part in telegram_split(message):
        parse_html(part, strict=True)
    return None


@settings(max_examples=max(EXAMPLES * 8, 200), deadline=None)
@given(hostile)
def test_date_parser_never_fails(text: str) -> None:
    for locale in ("it", "en"):
        for zone in ZONES:
            try:
                moment = parse_when(text, locale, zone, NOW)
            except WhenError:
                continue
            assert moment.utcoffset() == timedelta(0) and moment > NOW


@settings(max_examples=max(EXAMPLES * 8, 200), deadline=None)
@given(hostile)
def test_command_value_parsers_never_fail(contexts: list[Context], text: str) -> None:
    for ctx in contexts:
        title = refused_or(ctx, fields.title, text)
        assert title is None or 0 < len(title) <= fields.MAX_TITLE  # type: ignore[arg-type]
        place = refused_or(ctx, fields.place, text)
        assert place is None or len(place) <= fields.MAX_PLACE  # type: ignore[arg-type]
        moment = refused_or(ctx, fields.when, text)
        assert moment is None or moment > ctx.now  # type: ignore[operator]
        seats = refused_or(ctx, fields.capacity, text)
        assert seats is None or 1 <= seats <= fields.MAX_CAPACITY  # type: ignore[operator]
        refused_or(ctx, fields.description, text)
        refused_or(ctx, fields.reason, text)
        draft = refused_or(ctx, polls.parse, text)
        if draft is not None:
            assert polls.MIN_OPTIONS <= len(draft.options) <= polls.MAX_OPTIONS  # type: ignore[attr-defined]
            assert draft.closes_at > ctx.now  # type: ignore[attr-defined]


@settings(max_examples=max(EXAMPLES * 8, 200), deadline=None)
@given(hostile)
def test_word_parsers_never_fail(text: str) -> None:
    ideas.parse_submission(text)
    for word in [text, *text.split()[:5]]:
        number = ideas.parse_number(word)
        assert number is None or 0 <= number < 10**9  # callers look it up
        ideas.parse_status(word)
        ideas.parse_order(word)
        ideas.parse_theme(word)
    assert parse_answer(text) in (None, GOING, MAYBE, NO)
    offsets = parse_offsets(text)
    assert offsets is None or all(minutes >= 0 for minutes in offsets)  # range: caller's

