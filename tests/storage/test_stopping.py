"""Stopping never cuts work in half: an event's transaction cancelled from outside still
commits as a whole, and the delivery loop ends when cancelled, whatever wakes it meanwhile."""

from __future__ import annotations

import asyncio

from bot.app import App
from bot.commands import CommandSpec
from bot.context import Context
from bot.delivery import Delivery
from bot.messages import Text
from storage.models import ProcessedEvent
from storage.models.ideas import Idea
from tests.support import Bot


async def test_a_cancelled_caller_does_not_cut_the_events_transaction(database_url: str) -> None:
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow(ctx: Context, args: str) -> None:
        await ctx.reply((Text("first half"),))
        inside.set()
        await release.wait()  # cancelled here, half-way through its transaction
        await ctx.reply((Text("second half"),))

    def prepare(app: App) -> None:
        app.services.registry.command(CommandSpec(("test_lento",), slow, "test"))

    bot = await Bot.in_territory(database_url, prepare=prepare)
    caller = asyncio.create_task(bot.send("marco", "milano", "/test_lento", event_id="slow"))
    await inside.wait()
    caller.cancel()
    await asyncio.gather(caller, return_exceptions=True)
    release.set()

    # The database is not left locked, and the event was handled whole: both replies.
    replies = await bot.send("marco", "milano", "/idea Un orto condiviso in via Roma")
    assert replies and await bot.count(Idea) == 1
    assert await bot.count(ProcessedEvent, ProcessedEvent.event_id == "slow") == 1
    texts = [sent.text for sent in bot.adapter.sent]
    assert texts.index("first half") < texts.index("second half")
    await bot.stop()


async def test_the_delivery_loop_stops_when_cancelled_as_it_is_woken(sqlite_url: str) -> None:
    bot = await Bot.in_territory(sqlite_url)
    delivery = Delivery(bot.app.db, bot.clock, bot.app.adapters)
    for _ in range(20):  # the cancellation and the wake-up in the same turn of the loop
        loop = asyncio.create_task(delivery.run_forever())
        await asyncio.sleep(0.05)  # idle, waiting to be woken
        delivery.wake()
        loop.cancel()
        done, _ = await asyncio.wait({loop}, timeout=5)
        assert done and loop.cancelled()
    await bot.stop()
