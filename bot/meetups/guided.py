"""/incontro alone: the bot asks the title, then when, then where, one message at a time.

Only the member who started hears the questions answered; others talking in the chat pass
by. A wrong answer gets the same explanation as the one-line command, and the question
stays open; /annulla stops. A conversation left alone for half an hour is dropped without
a word, so a member's later chat is not taken for an answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import conversations
from bot.context import Context
from bot.meetups import fields
from bot.meetups.manage import GUIDED, Draft, create

IDLE = timedelta(minutes=30)


async def begin(ctx: Context) -> None:
    await ctx.require_territory()
    await conversations.begin(ctx, GUIDED, {"step": "title", "since": ctx.now.isoformat()})
    await ctx.reply(ctx.t._("Let's plan a meetup. What is it called? For example: "
                            "<b>{example}</b> (to stop: {cancel})",
                            example=ctx.t.p_("Social dinner"), cancel=ctx.cmd("annulla")))


async def _ask(ctx: Context, state: dict[str, Any], step: str) -> None:
    await conversations.begin(ctx, GUIDED, {**state, "step": step, "since": ctx.now.isoformat()})


async def next_answer(ctx: Context, state: dict[str, Any], text: str) -> None:
    if ctx.now - datetime.fromisoformat(state["since"]) > IDLE:
        await conversations.clear(ctx)
        return
    step = state.get("step")
    if step == "title":
        await _ask(ctx, {"title": fields.title(ctx, text)}, "when")
        await ctx.reply(ctx.t._("When? Day and time, for example <b>{example}</b>",
                                example=ctx.t.p_("next Saturday at 7pm")))
    elif step == "when":
        starts_at = fields.when(ctx, text)
        await _ask(ctx, {**state, "starts_at": starts_at.isoformat()}, "place")
        await ctx.reply(ctx.t._("<b>{when}</b>. Where? An address, or a link for an online "
                                "meetup.", when=ctx.t.when(starts_at, ctx.zone)))
    elif step == "place":
        place = fields.place(ctx, text)
        starts_at = datetime.fromisoformat(state["starts_at"])
        if starts_at <= ctx.now:
            await _ask(ctx, state, "when")
            await ctx.reply(ctx.t._("That time has passed meanwhile. When? For example "
                                    "<b>{example}</b>", example=ctx.t.p_("next Saturday at 7pm")))
            return
        await conversations.clear(ctx)
        territory = await ctx.require_territory()
        meetup = await create(ctx, territory, Draft(state["title"], starts_at, place))
        seats = ctx.t.p_("seats")
        await ctx.reply(ctx.t._("To add a description or a number of seats: <b>{example}</b>",
                                example=ctx.cmd(f"modifica {meetup.id} {seats} 20")))
    else:
        await conversations.clear(ctx)
