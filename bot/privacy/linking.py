"""/collega (/link) and /scollega (/unlink): one person's accounts on several platforms as
one member.

`/collega` gives the sender a code, privately: 8 characters from an alphabet without look-
alikes (no 0/O, 1/I), valid 10 minutes, once. It is an `action_tokens` row of kind
`identity.link` restricted to the member, with no chat; no action handler has that kind, so
the code is no button anywhere. A new code replaces the member's earlier ones.

`/collega CODICE` from an account on another platform merges that account's member into the
code's (`bot.privacy.merge`): its supports, answers and votes join the others and count
once. Two accounts of the same platform are never one member. The code's owner is told on
the account that asked for it.

`/scollega`, from the account to detach, makes it a member of its own again; what was done
so far stays with the member it leaves.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import delete, select

from bot import audit
from bot.context import Context
from bot.messages import Code, OutMessage, rich
from bot.outbox import Target
from bot.privacy import cards
from bot.privacy.direct import send_privately
from bot.privacy.merge import merge_members
from bot.privacy.tables import member_subject
from storage.models import ActionToken, Identity, Member

KIND = "identity.link"
TTL = timedelta(minutes=10)
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes between groups), or None if it cannot be
    one of ours."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


async def link(ctx: Context, args: str) -> None:
    if args.strip():
        await redeem(ctx, args)
    else:
        await give_code(ctx)


async def give_code(ctx: Context) -> None:
    """A fresh code for the sender, sent privately."""
    session = ctx.session
    await session.execute(delete(ActionToken).where(
        ActionToken.kind == KIND, ActionToken.member_id == ctx.member.id))
    code = new_code()
    while await session.get(ActionToken, code) is not None:  # 32⁸ codes: hardly ever
        code = new_code()
    session.add(ActionToken(
        token=code, kind=KIND, payload={"identity": ctx.identity.id, "locale": ctx.chat.locale},
        chat_id=None, member_id=ctx.member.id, slot=None, emoji=None,
        expires_at=ctx.now + TTL, created_at=ctx.now))

    def message(target: Target) -> OutMessage:
        t = target.t
        return OutMessage(text=rich(
            t._("Your code to link another account: <b>{code}</b> (valid 10 minutes, once).",
                code=(Code(code),)),
            t._("From your account on the other platform, send me the command "
                "<b>{command}</b> (there, commands may start with ! instead of /).",
                command=target.cmd(f"collega {code}")),
            t._("Do not give the code to anyone: whoever sends it becomes you here.")))

    await send_privately(ctx, "collega", message)


def _invalid(ctx: Context) -> NoReturn:
    ctx.fail("This code is not valid: codes last 10 minutes and work once. Ask for a new "
             "one with <b>{command}</b> from your other account.", command=ctx.cmd("collega"))


async def redeem(ctx: Context, args: str) -> None:
    """Join the sender's member to the member of the code (see the module's doc)."""
    code = normalise(args)
    if code is None:
        ctx.fail("That is not one of my codes: they have 8 letters and digits. Send "
                 "<b>{command}</b> from your other account to get one.",
                 command=ctx.cmd("collega"))
    session = ctx.session
    token = await session.get(ActionToken, code)
    if token is None or token.kind != KIND or token.member_id is None or (
            token.expires_at is not None and token.expires_at <= ctx.now):
        _invalid(ctx)
    if token.member_id == ctx.member.id:
        ctx.fail("This account is already linked to the one that asked for the code. Send "
                 "the code from an account on another platform.")
    target = await session.get_one(Member, token.member_id)
    theirs = set(await session.scalars(
        select(Identity.platform).where(Identity.member_id == target.id)))
    mine = set(await session.scalars(
        select(Identity.platform).where(Identity.member_id == ctx.member.id)))
    if shared := sorted(theirs & mine):
        ctx.fail("Both accounts are on {platform}: I link accounts on different platforms "
                 "only, one per platform.", platform=shared[0])
    payload = dict(token.payload)
    claimed = await session.execute(delete(ActionToken).where(ActionToken.token == code))
    if not claimed.rowcount:  # type: ignore[attr-defined]
        _invalid(ctx)
    source = ctx.member
    shown = await cards.touched(ctx, source.id, counts=True)
    await merge_members(session, source, target)
    ctx.member = target
    await audit.record(ctx, "identity.link", subject=member_subject(target.id),
                       platform=ctx.identity.platform, merged_member=source.id)
    await cards.refresh(ctx, shown)
    await ctx.reply(rich(
        ctx.t._("Done: this account and your account on {platforms} are now one member.",
                platforms=", ".join(sorted(theirs))),
        ctx.t._("Your supports, answers and votes count once; where both accounts had "
                "answered the same thing, I kept the latest answer. <b>{command}</b> undoes "
                "it.", command=ctx.cmd("scollega"))))
    await _tell_owner(ctx, payload)


async def _tell_owner(ctx: Context, payload: dict) -> None:
    """Tell the account that asked for the code that it was used (a stolen code shows)."""
    identity = await ctx.session.get(Identity, payload.get("identity"))
    platforms = ctx.services.platforms
    if identity is None or identity.platform not in platforms or not platforms.caps(
            identity.platform).direct_messages:
        return
    target = ctx.outbox.person_target(identity, str(payload.get("locale", "")))
    await ctx.outbox.post(target, OutMessage(text=rich(target.t._(
        "Your account on {platform} ({name}) is now linked to this one.",
        platform=ctx.identity.platform, name=ctx.identity.display_name))))


async def unlink(ctx: Context, args: str) -> None:
    session = ctx.session
    others = list(await session.scalars(select(Identity).where(
        Identity.member_id == ctx.member.id, Identity.id != ctx.identity.id)
        .order_by(Identity.id)))
    if not others:
        ctx.fail("This account is not linked to any other. To link one: <b>{command}</b>",
                 command=ctx.cmd("collega"))
    original = ctx.member
    alone = Member(display_name=ctx.identity.display_name,
                   home_territory_id=original.home_territory_id, created_at=ctx.now)
    session.add(alone)
    await session.flush()
    ctx.identity.member_id = alone.id
    if original.display_name == ctx.identity.display_name:  # the name came from this account
        original.display_name = others[0].display_name
    await audit.record(ctx, "identity.unlink", subject=member_subject(original.id),
                       platform=ctx.identity.platform, new_member=alone.id)
    await ctx.reply(rich(
        ctx.t._("Done: this account is no longer linked to your account on {platforms}.",
                platforms=", ".join(sorted({i.platform for i in others}))),
        ctx.t._("What you did so far (ideas, supports, answers, votes, roles) stays with the "
                "other account; from now on this one counts on its own.")))
