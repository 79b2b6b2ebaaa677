"""Finding the idea a command names, and keeping its card up to date."""

from __future__ import annotations

from collections.abc import Awaitable

from bot.context import Context, UserError
from bot.i18n import N_
from bot.ideas import store
from bot.ideas.card import post_card
from bot.ideas.parsing import parse_number
from bot.messages import Inline, plain_inlines
from storage.models import Territory
from storage.models.ideas import Idea

EXAMPLE = N_("idea A course on European calls for members #bandi #formazione")


def example_submission(ctx: Context) -> str:
    """A whole `/idea` command, in the chat's language, for explanations."""
    return ctx.cmd(ctx.t.p_(EXAMPLE))


def idea_number(ctx: Context, args: str, example: str) -> tuple[int, str]:
    """The idea number a command starts with, and the rest of its text. `example` is a
    whole command with its Italian name ("sostengo 3"); `ctx.cmd` names it in English
    for an English chat, so only examples with words need translating."""
    first, _, rest = args.strip().partition(" ")
    number = parse_number(first)
    if number is None:
        ctx.fail("Which idea? Write its number, for example <b>{example}</b>",
                 example=ctx.cmd(example))
    return number, rest.strip()


async def idea_in(ctx: Context, territory: Territory, number: int) -> Idea:
    """Idea `number` if it belongs to `territory`; a friendly refusal otherwise."""
    idea = await ctx.session.get(Idea, number)
    if idea is None or idea.territory_id != territory.id:
        ctx.fail("There is no idea #{id} in {territory}. The list: <b>{command}</b>",
                 id=number, territory=territory.name, command=ctx.cmd("idee"))
    return idea


async def refresh_card(ctx: Context, idea: Idea, territory: Territory) -> None:
    """Post the idea's current card to every chat of its territory (an edit where it is
    already shown)."""
    await post_card(ctx.outbox, await store.view(ctx.session, idea), territory)


async def as_toast(work: Awaitable[tuple[Inline, ...]]) -> str:
    """Run a use case for a button: its answer, or its refusal, becomes the toast (a button
    press does not write a refusal in the chat). Refusals come before any change."""
    try:
        return plain_inlines(await work)
    except UserError as refusal:
        return refusal.text.plain()
