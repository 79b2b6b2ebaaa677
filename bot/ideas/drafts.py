"""A new idea that looks like an open one waits as a draft until its author chooses:
support that idea instead, or publish theirs anyway.

The draft is the payload of the "publish anyway" action token, restricted to its author,
valid in the chat it was asked in for `DRAFT_TTL`; `/pubblica` (/publish) is the same
choice typed. The question is a keyed message (`idea-draft:{member}`) in that chat: a newer
draft replaces it, and the author's choice edits it into the outcome, without buttons.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, delete, or_, select

from bot.context import Context
from bot.ideas.card import SUPPORT_EMOJI, supporters_text
from bot.ideas.parsing import Submission, shorten
from bot.ideas.store import IdeaView
from bot.messages import Inline, OutMessage, joined, rich
from bot.outbox import Button
from storage import core
from storage.models import ActionToken, Territory

DRAFT_TTL = timedelta(hours=1)
PUBLISH = "idea.publish"
INSTEAD = "idea.instead"


def draft_key(member_id: int) -> str:
    return f"idea-draft:{member_id}"


def _slot(ctx: Context) -> str:
    return ctx.here.slot(draft_key(ctx.member.id))


async def ask(ctx: Context, territory: Territory, submission: Submission,
              similar: IdeaView) -> None:
    """Ask the author whether their idea is `similar`, keeping it as a draft meanwhile."""
    await _forget(ctx)
    t, key, idea = ctx.t, draft_key(ctx.member.id), similar.idea
    draft = {"territory": territory.id, "text": submission.text,
             "themes": list(submission.themes)}
    publish = Button(PUBLISH, draft, t.p_("Publish mine anyway"), command="pubblica",
                     emoji="📢", member_id=ctx.member.id, ttl=DRAFT_TTL)
    excerpt = shorten(idea.text, 160)
    if idea.author_id == ctx.member.id:
        found = t._("This looks like your idea #{id}: “{text}”", id=idea.id, text=excerpt)
        question = t._("Publish the new one anyway?")
        buttons = [publish]
    else:
        found = t._("This looks like idea #{id} by {author}: “{text}”", id=idea.id,
                    author=similar.author, text=excerpt)
        found = joined((*found, " (", *supporters_text(t, similar.supporters), ")"))
        question = t._("Is it the same? You can support it instead, or publish yours anyway.")
        instead = Button(INSTEAD, {"idea": idea.id}, t.p_("I support #{id} 👍", id=idea.id),
                         command=f"sostengo {idea.id}", emoji=SUPPORT_EMOJI,
                         member_id=ctx.member.id, ttl=DRAFT_TTL)
        buttons = [instead, publish]
    actions = (tuple(await ctx.outbox.actions(ctx.here, buttons, key=key, fresh=True)),)
    await ctx.reply(OutMessage(rich(found, question), actions=actions, key=key))


async def pending(ctx: Context) -> ActionToken | None:
    """The sender's draft waiting in this chat, if it has not expired."""
    return await ctx.session.scalar(
        select(ActionToken).where(ActionToken.slot == _slot(ctx), ActionToken.kind == PUBLISH,
                                  or_(ActionToken.expires_at.is_(None),
                                      ActionToken.expires_at > ctx.now))
        .order_by(ActionToken.created_at.desc()).limit(1))


async def settle(ctx: Context, outcome: tuple[Inline, ...], *,
                 instead_of: int | None = None) -> None:
    """The author chose: the draft goes, and the question shows `outcome`. With
    `instead_of`, only a draft that asked about that idea is settled."""
    if instead_of is not None:
        asked = await core.rows(ctx.session, _ASKED, {"slot": _slot(ctx)})
        if not any(payload.get("idea") == instead_of for (payload,) in asked):
            return
    elif await pending(ctx) is None:
        return
    await _forget(ctx)
    await ctx.reply(OutMessage(rich(outcome), key=draft_key(ctx.member.id)))


async def _forget(ctx: Context) -> None:
    await core.write(ctx.session, _FORGET, {"slot": _slot(ctx)})


_ASKED = core.Statement(select(ActionToken.payload).where(
    ActionToken.slot == bindparam("slot"), ActionToken.kind == INSTEAD))
# A Core delete: no session keeps action tokens (`storage.db.TransactionSession`), so there
# is no object of the session to keep in step — as with `synchronize_session=False`.
_FORGET = core.Statement(delete(ActionToken.__table__).where(
    ActionToken.__table__.c.slot == bindparam("slot")))
