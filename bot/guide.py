"""Finding one's way: /start, /aiuto (/help), /chi (/whoami), /annulla (/cancel)."""

from __future__ import annotations

from bot import conversations
from bot.commands import CommandSpec, Registry, words
from bot.context import Context
from bot.i18n import N_
from bot.messages import Bold, BulletList, Inline, Paragraph, RichText, Text, rich

AUDIENCE_WHO = {
    "member": N_("everyone"),
    "facilitator": N_("facilitators"),
    "staff": N_("staff"),
}
AUDIENCE_TITLES = {
    "member": N_("For everyone"),
    "facilitator": N_("For facilitators"),
    "staff": N_("For staff"),
}


def _usage_line(ctx: Context, spec: CommandSpec) -> tuple[Inline, ...]:
    usage = ctx.t.gettext(spec.usage) if spec.usage else ""
    head = f"{ctx.cmd(spec.name_for(ctx.t.locale))} {usage}".rstrip()
    return (Bold((Text(head),)), Text(" — " + ctx.t.gettext(spec.summary)))


async def _may_use(ctx: Context, spec: CommandSpec) -> bool:
    if spec.audience == "staff":
        return ctx.is_staff
    if spec.audience == "facilitator":
        return ctx.is_staff or ctx.event.sender.is_chat_admin or await ctx.is_facilitator()
    return True


async def command_list(ctx: Context) -> RichText:
    """What the sender can do here, grouped by who may do it."""
    blocks: list[Paragraph | BulletList] = []
    for audience, title in AUDIENCE_TITLES.items():
        items = []
        for spec in ctx.services.registry.ordered:
            if spec.audience != audience or not await _may_use(ctx, spec):
                continue
            if spec.group_only and ctx.chat.is_private:
                continue
            items.append(_usage_line(ctx, spec))
        if items:
            blocks.append(Paragraph((Bold((Text(ctx.t.gettext(title)),)),)))
            blocks.append(BulletList(tuple(items)))
    example = ctx.cmd(ctx.t.p_("help territory"))
    blocks.append(Paragraph(ctx.t._("Details of one command: <b>{example}</b>",
                                     example=example)))
    return RichText(tuple(blocks))


async def start(ctx: Context, args: str) -> None:
    intro = ctx.t._("Hello {name}! I am piazzabot: I help the members who live near each "
                    "other meet, choose dates together and propose ideas to the cooperative.",
                    name=ctx.identity.display_name)
    await ctx.reply(rich(intro) + await command_list(ctx))


async def help_command(ctx: Context, args: str) -> None:
    wanted = words(args)
    if not wanted:
        await ctx.reply(await command_list(ctx))
        return
    name = wanted[0].lstrip("/!")[:40]
    spec = ctx.services.registry.find(name)
    if spec is None:
        ctx.fail("I don't know the command <b>{command}</b>. Send <b>{help}</b> for the list.",
                 command=ctx.cmd(name), help=ctx.cmd("aiuto"))
    example = f"{ctx.cmd(spec.name_for(ctx.t.locale))} {ctx.t.gettext(spec.example)}".rstrip()
    names = " ".join(ctx.here.prefix + n for n in spec.names)
    who = ctx.t.gettext(AUDIENCE_WHO[spec.audience])
    await ctx.reply(rich(
        _usage_line(ctx, spec),
        ctx.t._("Example: <b>{example}</b>", example=example),
        ctx.t._("Also written: {names}. Who can use it: {who}.", names=names, who=who),
    ))


async def whoami(ctx: Context, args: str) -> None:
    lines = [ctx.t._("You are <b>{name}</b> ({platform}).", name=ctx.identity.display_name,
                     platform=ctx.event.platform)]
    roles = [ctx.t.p_("member")]
    if ctx.territory and await ctx.is_facilitator():
        roles.append(ctx.t.p_("facilitator of {territory}", territory=ctx.territory.name))
    if ctx.is_staff:
        roles.append(ctx.t.p_("staff"))
    lines.append(ctx.t._("Roles: {roles}.", roles=", ".join(roles)))
    if ctx.chat.kind == "staff":
        lines.append(ctx.t._("This is a staff chat."))
    elif ctx.territory:
        lines.append(ctx.t._("Territory: <b>{territory}</b>.", territory=ctx.territory.name))
    else:
        lines.append(ctx.t._("No territory chosen here yet."))
    await ctx.reply(rich(*lines))


async def cancel(ctx: Context, args: str) -> None:
    if await conversations.clear(ctx):
        await ctx.reply(ctx.t._("Cancelled."))
    else:
        await ctx.reply(ctx.t._("There was nothing to cancel."))


def register(registry: Registry) -> None:
    registry.command(CommandSpec(("start",), start, N_("What I can do, and how to start")))
    registry.command(CommandSpec(("aiuto", "help"), help_command, N_("The list of commands"),
                                 usage=N_("[COMMAND]"), example=N_("territory")))
    registry.command(CommandSpec(("chi", "whoami"), whoami,
                                 N_("Who you are for me: roles and territory")))
    registry.command(CommandSpec(("annulla", "cancel"), cancel,
                                 N_("Stop the conversation in progress")))
