"""Finding the member a command names: `@username`, a platform user id, a mention or a reply."""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, or_, select

from bot.context import Context
from bot.events import CommandEvent
from storage.models import Identity, Member


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


async def named_member(ctx: Context, reference: str) -> tuple[Identity, Member]:
    """The member `reference` names on this platform; refuses kindly when there is none
    or more than one. Mentions and replies (the platform's own word) come first."""
    event = ctx.event
    pointed = None
    if isinstance(event, CommandEvent):
        pointed = event.mentions[0] if event.mentions else event.reply_to_user
    query = select(Identity).where(Identity.platform == event.platform)
    if pointed is not None:
        candidates = list(await ctx.session.scalars(query.where(Identity.user_id == pointed)))
    else:
        wanted = _fold(reference)
        if not wanted:
            ctx.fail("Who? Name them with their @username, or answer one of their messages. "
                     "Example: <b>{example}</b>", example=ctx.cmd("facilitatore @giulia"))
        bare = wanted.removeprefix("@")
        candidates = list(await ctx.session.scalars(query.where(or_(
            func.lower(Identity.username) == bare, Identity.user_id == reference.strip(),
            Identity.user_id == bare, func.lower(Identity.display_name) == bare))))
    if not candidates:
        ctx.fail("I don't know {who} yet: they need to write something where I am first.",
                 who=reference.strip()[:60] or "?")
    if len(candidates) > 1:
        ctx.fail("More than one person is called {who}: use their @username, or answer one of "
                 "their messages.", who=reference.strip()[:60])
    identity = candidates[0]
    return identity, await ctx.session.get_one(Member, identity.member_id)
