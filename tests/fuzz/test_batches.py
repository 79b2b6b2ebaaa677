"""Events handled together (`Dispatcher.handle_many`, a Telegram `getUpdates` answer) have
the same effects as the same events handled one at a time (hypothesis).

Two bots get the same random stream — every command, with plausible and hostile
arguments, from a facilitator, members and staff, some events repeated — one event at a
time, and in batches of random sizes. After each stream every chat must show the same
messages and the toasts must be the same. Plain messages come in the same order; a keyed
message (a card, a question that its author's next choice edits) is compared by its final
text only: edited twice within a batch it is sent once, in its last version, and so takes
the place of that version among the plain ones.

On SQLite and on PostgreSQL: each event of a batch runs in a savepoint, and a refused one
is rolled back to it, which each database (and `storage.postgres`, on PostgreSQL) must get
right. Examples: PIAZZABOT_FUZZ_EXAMPLES (default 25; the dedicated run uses more).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import Event
from tests.conftest import postgres_database
from tests.fuzz.test_hostile_input import COMMANDS, EXAMPLES, FRAGMENTS
from tests.support import Bot

PLAUSIBLE = ["", "1", "2", "3", "sì", "no", "forse", "Una cena tra soci #convivialità",
             "Cena | domani alle 19 | Piazza Duomo", "Quando? | sabato | domenica",
             "1 sì", "2 forse", "3 discussione", "Milano", "nuove", "stato", "top"]
SENDERS = [("giulia", "milano"), ("marco", "milano"), ("sara", "milano"),
           ("anna", "milano"), ("marco", "dm-marco")]
arguments = st.sampled_from(PLAUSIBLE) | st.lists(st.sampled_from(FRAGMENTS),
                                                   max_size=3).map(" ".join)
said = st.tuples(st.sampled_from(SENDERS), st.sampled_from(COMMANDS), arguments,
                 st.booleans())  # the last: repeat an earlier event id (a redelivery)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def bots(request: pytest.FixtureRequest, loop: asyncio.AbstractEventLoop,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bot, Bot]]:
    folder: Path = tmp_path_factory.mktemp("batches")
    databases = AsyncExitStack()

    async def started(name: str) -> Bot:
        url = (f"sqlite+aiosqlite:///{folder / name}.db" if request.param == "sqlite"
               else await databases.enter_async_context(postgres_database()))
        bot = await Bot.started(url, staff=["anna"], limits={"commands_per_minute": 1_000_000})
        bot.admins.add(("giulia", "milano"))
        await bot.send("giulia", "milano", "/territorio Milano")
        await bot.send("marco", "dm-marco", "/territorio Milano")
        return bot

    try:
        pair = (loop.run_until_complete(started("single")),
                loop.run_until_complete(started("batch")))
    except BaseException:
        loop.run_until_complete(databases.aclose())
        raise
    yield pair
    for bot in pair:
        loop.run_until_complete(bot.stop())
    loop.run_until_complete(databases.aclose())


LINK_CODE = re.compile(r"\b[A-Z0-9]{8}\b")  # /collega's one-time codes: random by design


def shown(bot: Bot, since: int) -> dict[str, tuple[list[str], list[str]]]:
    """What each destination shows of the messages sent since `since`: the plain messages
    in the order they were posted, and the last version of each keyed message (sorted)."""
    latest: dict[str, tuple[str, bool, str]] = {}
    for sent in bot.adapter.sent[since:]:
        where = sent.item.destination.chat_id or f"dm:{sent.item.destination.user_id}"
        keyed = sent.item.message.key is not None
        latest[sent.message_id] = (where, keyed, LINK_CODE.sub("<code>", sent.text))
    by_chat: dict[str, tuple[list[str], list[str]]] = {}
    for where, keyed, text in latest.values():
        by_chat.setdefault(where, ([], []))[keyed].append(text)
    return {where: (plain, sorted(keyed)) for where, (plain, keyed) in by_chat.items()}


def events(bot: Bot, stream: list[tuple[tuple[str, str], str, str, bool]]) -> list[Event]:
    made: list[Event] = []
    for (who, chat), command, args, repeat in stream:
        again = made[-1].event_id if repeat and made else None
        made.append(bot.message(who, chat, f"/{command} {args}", event_id=again))
    return made


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(stream=st.lists(said, min_size=1, max_size=8),
       cuts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12))
def test_a_batch_does_what_its_events_do_one_at_a_time(
        stream: list[tuple[tuple[str, str], str, str, bool]], cuts: list[int],
        bots: tuple[Bot, Bot], loop: asyncio.AbstractEventLoop) -> None:
    single, batched = bots

    async def one_at_a_time() -> list[object]:
        outcomes = []
        for event in events(single, stream):
            outcomes.append(await single.app.dispatcher.handle(event))
            await single.app.delivery.drain()
        return outcomes

    async def together() -> list[object]:
        pending, outcomes = events(batched, stream), []
        for size in [*cuts, len(stream)]:
            if not pending:
                break
            batch, pending = pending[:size], pending[size:]
            outcomes.extend(await batched.app.dispatcher.handle_many(batch))
            await batched.app.delivery.drain()
        return outcomes

    since = (len(single.adapter.sent), len(batched.adapter.sent))
    alone, grouped = loop.run_until_complete(one_at_a_time()), loop.run_until_complete(together())
    assert grouped == alone
    assert shown(batched, since[1]) == shown(single, since[0])
