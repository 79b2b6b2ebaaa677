"""Finding the idea a command names, and keeping its card up to date."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy import bindparam, select

from bot.context import Context, UserError
from bot.i18n import N_
from bot.ideas import store
from bot.ideas.card import post_card
from bot.ideas.parsing import parse_number
from bot.ideas.store import IDEA_FIELDS, IdeaFields
from bot.messages import Inline, plain_inlines
from storage import core
from storage.models import Territory
from storage.models.ideas import Idea

T = TypeVar("T", bound=IdeaFields)

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
    """Idea `number` if it belongs to `territory`, to change it; a friendly refusal
    otherwise."""
    return _in(ctx, territory, number, await ctx.session.get(Idea, number))


async def idea_seen_in(ctx: Context, territory: Territory, number: int) -> IdeaFields:
    """Idea `number` if it belongs to `territory`, to read it (supporting does): its
    columns, one Core statement, no object for the session to track; a friendly refusal
    otherwise."""
    found = await core.rows(ctx.session, _IDEA, {"id": number})
    return _in(ctx, territory, number, found[0] if found else None)


def _in(ctx: Context, territory: Territory, number: int, idea: T | None) -> T:
    if idea is None or idea.territory_id != territory.id:
        ctx.fail("There is no idea #{id} in {territory}. The list: <b>{command}</b>",
                 id=number, territory=territory.name, command=ctx.cmd("idee"))
    return idea


_IDEA = core.Statement(select(*IDEA_FIELDS).where(Idea.id == bindparam("id")))


async def refresh_card(ctx: Context, idea: IdeaFields, territory: Territory) -> None:
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
