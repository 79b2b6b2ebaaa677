"""Territories and chats: /territorio (/territory), /lingua (/language), /staff."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from bot.commands import CommandSpec, Registry, words
from bot.context import Context
from bot.i18n import LOCALES, N_, translator
from bot.messages import join
from storage.models import Territory

_NAME = re.compile(r"^[\w][\w' .\-]*$")
MAX_NAME = 60


def clean_name(raw: str) -> str:
    """A territory name as typed, normalised: NFKC, single spaces, no invisible characters."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())


def slug(name: str) -> str:
    return clean_name(name).casefold()


async def find_territory(ctx: Context, name: str) -> Territory | None:
    return await ctx.session.scalar(select(Territory).where(Territory.slug == slug(name)))


async def territory_names(ctx: Context) -> str:
    names = await ctx.session.scalars(select(Territory.name).order_by(Territory.slug))
    return ", ".join(names)


async def territory(ctx: Context, args: str) -> None:
    name = clean_name(args)
    if not name:
        await _show_binding(ctx)
        return
    if len(name) > MAX_NAME or len(name) < 2 or not _NAME.match(name):
        ctx.fail("A territory name is 2 to {max} letters, spaces or dashes. Example: "
                 "<b>{example}</b>", max=MAX_NAME, example=ctx.cmd("territorio Reggio Emilia"))
    if ctx.chat.is_private:
        await _choose_home(ctx, name)
    else:
        await _bind_chat(ctx, name)


async def _show_binding(ctx: Context) -> None:
    example = ctx.cmd("territorio Milano")
    if ctx.territory is None:
        await ctx.reply(ctx.t._("No territory chosen here yet. Example: <b>{example}</b>",
                                example=example))
    else:
        await ctx.reply(ctx.t._("Territory: <b>{territory}</b>. To change it: <b>{example}</b>",
                                territory=ctx.territory.name, example=example))


async def _choose_home(ctx: Context, name: str) -> None:
    """In a private chat, a member picks the territory their commands there refer to."""
    chosen = await find_territory(ctx, name)
    if chosen is None:
        known = await territory_names(ctx)
        if known:
            ctx.fail("There is no territory called {name}. The territories are: {known}.",
                     name=name, known=known)
        ctx.fail("There is no territory called {name} yet: it is created when a group chat "
                 "binds to it.", name=name)
    ctx.member.home_territory_id = chosen.id
    await ctx.reply(ctx.t._("Done: what you do here now counts for <b>{territory}</b>.",
                            territory=chosen.name))


async def _bind_chat(ctx: Context, name: str) -> None:
    target = await find_territory(ctx, name)
    allowed = (ctx.is_staff or ctx.event.sender.is_chat_admin
               or (ctx.territory is not None and await ctx.is_facilitator(ctx.territory))
               or (target is not None and await ctx.is_facilitator(target)))
    if not allowed:
        ctx.fail("Only the chat's administrators, facilitators and staff can bind a chat to a "
                 "territory.")
    if target is not None and ctx.chat.territory_id == target.id:
        await ctx.reply(ctx.t._("This chat is already the chat of <b>{territory}</b>.",
                                territory=target.name))
        return
    created = target is None
    if target is None:
        target = Territory(name=name, slug=slug(name), timezone=ctx.services.config.timezone,
                           created_at=ctx.now)
        ctx.session.add(target)
        await ctx.session.flush()
    was_staff = ctx.chat.kind == "staff"
    ctx.chat.kind = "territory"
    ctx.chat.territory_id = target.id
    lines = [ctx.t._("This chat is now the chat of the territory <b>{territory}</b>.",
                     territory=target.name)]
    if created:
        lines.append(ctx.t._("It is a new territory: welcome!"))
    if was_staff:
        lines.append(ctx.t._("It is no longer a staff chat."))
    await ctx.reply(join(lines))


async def language(ctx: Context, args: str) -> None:
    wanted = words(args)
    if not wanted or wanted[0].lower() not in LOCALES:
        ctx.fail("Choose <b>it</b> (italiano) or <b>en</b> (English). Example: <b>{example}</b>",
                 example=ctx.cmd("lingua en"))
    if not ctx.chat.is_private and not (ctx.is_staff or ctx.event.sender.is_chat_admin
                                        or await ctx.is_facilitator()):
        ctx.fail("Only the chat's administrators, facilitators and staff can change its language.")
    ctx.chat.locale = wanted[0].lower()
    ctx.t = translator(ctx.chat.locale)
    ctx.here = ctx.outbox.chat_target(ctx.chat, ctx.territory, ctx.event.chat.thread_id)
    await ctx.reply(ctx.t._("From now on I speak English here."))


async def staff_chat(ctx: Context, args: str) -> None:
    ctx.require_staff()
    if ctx.chat.kind == "staff":
        await ctx.reply(ctx.t._("This is already a staff chat."))
        return
    previous = ctx.territory if ctx.chat.kind == "territory" else None
    ctx.chat.kind = "staff"
    ctx.chat.territory_id = None
    lines = [ctx.t._("This is now a staff chat: the staff digests will arrive here.")]
    if previous is not None:
        lines.append(ctx.t._("It is no longer the chat of {territory}.", territory=previous.name))
    await ctx.reply(join(lines))


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("territorio", "territory"), territory,
        N_("Bind this chat to a territory (in private: choose yours)"),
        usage=N_("NAME"), example=N_("Milano")))
    registry.command(CommandSpec(
        ("lingua", "language"), language, N_("The language I speak in this chat"),
        usage=N_("it|en"), example=N_("en")))
    registry.command(CommandSpec(
        ("staff",), staff_chat, N_("Make this a staff chat, where staff digests arrive"),
        audience="staff"))
