"""Supporting an idea and withdrawing: /sostengo (/support), /ritiro (/unsupport), the card's
buttons and the 👍 reaction (removing it withdraws).

A member supports an idea at most once (the database says so too); an author cannot
support their own idea. Every change edits the card in all the territory's chats.
"""

from __future__ import annotations

from bot.context import Context
from bot.ideas import drafts, store
from bot.ideas.lookup import as_toast, idea_number, idea_seen_in, refresh_card
from bot.messages import Inline


async def support(ctx: Context, number: int) -> tuple[Inline, ...]:
    territory = await ctx.require_territory()
    idea = await idea_seen_in(ctx, territory, number)
    if idea.hidden:
        ctx.fail("Idea #{id} is hidden for now: it cannot be supported.", id=idea.id)
    if idea.author_id == ctx.member.id:
        ctx.fail("You can't support your own idea.")
    # Supporting the idea a draft of the sender's looked like answers that question too.
    await drafts.settle(ctx, ctx.t._("You support idea #{id} instead of proposing it again.",
                                     id=idea.id), instead_of=idea.id)
    if not await store.add_support(ctx.session, idea, ctx.member, ctx.now):
        return ctx.t._("You already support idea #{id}: it counts once.", id=idea.id)
    await refresh_card(ctx, idea, territory)
    return ctx.t._("Thanks: you support idea #{id}.", id=idea.id)


async def withdraw(ctx: Context, number: int) -> tuple[Inline, ...]:
    territory = await ctx.require_territory()
    idea = await idea_seen_in(ctx, territory, number)
    if not await store.remove_support(ctx.session, idea, ctx.member):
        return ctx.t._("You were not supporting idea #{id}.", id=idea.id)
    await refresh_card(ctx, idea, territory)
    return ctx.t._("You no longer support idea #{id}.", id=idea.id)


async def support_command(ctx: Context, args: str) -> None:
    number, _ = idea_number(ctx, args, "sostengo 3")
    await ctx.reply(await support(ctx, number))


async def withdraw_command(ctx: Context, args: str) -> None:
    number, _ = idea_number(ctx, args, "ritiro 3")
    await ctx.reply(await withdraw(ctx, number))


async def support_action(ctx: Context, payload: dict, undo: bool) -> str:
    """ "I support" on the card or under the similar-idea question, or its 👍 reaction
    (`undo`: the reaction was removed)."""
    return await as_toast(withdraw(ctx, payload["idea"]) if undo
                          else support(ctx, payload["idea"]))


async def withdraw_action(ctx: Context, payload: dict, undo: bool) -> str:
    return await as_toast(withdraw(ctx, payload["idea"]))
