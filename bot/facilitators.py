"""/facilitatore (/facilitator) and /revoca (/revoke): granting the facilitator role."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot import audit
from bot.commands import CommandSpec, Registry
from bot.context import Context
from bot.i18n import N_
from bot.people import named_member
from storage.models import Role


async def _may_grant(ctx: Context) -> None:
    territory = await ctx.require_territory()
    if ctx.chat.is_private or not (ctx.is_staff or ctx.event.sender.is_chat_admin):
        ctx.fail("Only the administrators of a chat of {territory}, and staff, can name "
                 "facilitators, from that chat.", territory=territory.name)


async def grant(ctx: Context, args: str) -> None:
    await _may_grant(ctx)
    assert ctx.territory is not None
    identity, member = await named_member(ctx, args)
    existing = await ctx.session.scalar(select(Role).where(
        Role.member_id == member.id, Role.territory_id == ctx.territory.id,
        Role.role == "facilitator"))
    if existing is not None:
        await ctx.reply(ctx.t._("{name} is already a facilitator of {territory}.",
                                name=identity.display_name, territory=ctx.territory.name))
        return
    ctx.session.add(Role(member_id=member.id, territory_id=ctx.territory.id, role="facilitator",
                         granted_by=ctx.member.id, created_at=ctx.now))
    await audit.record(ctx, "role.grant", subject=f"member:{member.id}", role="facilitator")
    await ctx.reply(ctx.t._("<b>{name}</b> is now a facilitator of {territory}: they can launch "
                            "polls, answer ideas and moderate.", name=identity.display_name,
                            territory=ctx.territory.name))


async def revoke(ctx: Context, args: str) -> None:
    await _may_grant(ctx)
    assert ctx.territory is not None
    identity, member = await named_member(ctx, args)
    result = await ctx.session.execute(delete(Role).where(
        Role.member_id == member.id, Role.territory_id == ctx.territory.id,
        Role.role == "facilitator"))
    if not result.rowcount:  # type: ignore[attr-defined]
        await ctx.reply(ctx.t._("{name} was not a facilitator of {territory} by grant (the "
                                "chat's administrators are facilitators while they are "
                                "administrators).", name=identity.display_name,
                                territory=ctx.territory.name))
        return
    await audit.record(ctx, "role.revoke", subject=f"member:{member.id}", role="facilitator")
    await ctx.reply(ctx.t._("{name} is no longer a facilitator of {territory}.",
                            name=identity.display_name, territory=ctx.territory.name))


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("facilitatore", "facilitator"), grant,
        N_("Make a member a facilitator of this territory (administrators, staff)"),
        usage=N_("@USER"), example=N_("@giulia"), audience="facilitator", group_only=True))
    registry.command(CommandSpec(
        ("revoca", "revoke"), revoke, N_("Take the facilitator role back"),
        usage=N_("@USER"), example=N_("@giulia"), audience="facilitator", group_only=True))
