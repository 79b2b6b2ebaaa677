"""Reading ideas: /idee (/ideas) lists a territory's ideas, /idea N shows one with its history.

Hidden ideas are left out of lists; `/idea N` shows a hidden idea only to facilitators
(who review it), and tells others that it is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from bot.commands import words
from bot.context import Context
from bot.i18n import N_, Translator
from bot.ideas import store
from bot.ideas.card import card_text, hidden_text, line, status_name
from bot.ideas.lookup import example_submission, idea_in
from bot.ideas.parsing import Order, parse_order, parse_theme
from bot.ideas.store import IdeaView
from bot.messages import Block, Bold, BulletList, Inline, Italic, Paragraph, RichText, Text, rich
from storage.models import Territory
from storage.models.ideas import IdeaEvent

LIST_LIMIT = 10
LIST_EXAMPLE = N_("ideas #spazi new")

HEADINGS = {
    "top": N_("Ideas of <b>{territory}</b>, most supported first"),
    "newest": N_("Ideas of <b>{territory}</b>, newest first"),
    "status": N_("Ideas of <b>{territory}</b>, by status"),
}


async def list_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_territory()
    order: Order = "top"
    theme: str | None = None
    for word in words(args)[:3]:
        if (wanted_theme := parse_theme(word)) is not None:
            theme = wanted_theme
        elif (wanted_order := parse_order(word)) is not None:
            order = wanted_order
        else:
            ctx.fail("I don't understand <b>{word}</b> here: choose a #theme and <b>{orders}</b>. "
                     "Example: <b>{example}</b>", word=word[:40],
                     orders=ctx.t.p_("top|new|status"), example=ctx.cmd(ctx.t.p_(LIST_EXAMPLE)))
    views, total = await store.listing(ctx.session, territory, order=order, theme=theme,
                                       limit=LIST_LIMIT)
    if not views:
        await ctx.reply(_nothing(ctx, territory, theme))
        return
    heading = ctx.t._(HEADINGS[order], territory=territory.name)
    if theme:
        heading += (Text(f" · #{theme}"),)
    blocks: list[Block] = [Paragraph(heading)]
    if order == "status":
        for status, group in groupby(views, key=lambda v: v.idea.status):
            name = status_name(ctx.t, status)
            blocks.append(Paragraph((Bold((Text(name[:1].upper() + name[1:]),)),)))
            blocks.append(_bullets(ctx.t, group))
    else:
        blocks.append(_bullets(ctx.t, views))
    footer: tuple[Inline, ...] = ()
    if total > len(views):
        footer = (*ctx.t.n_("…and {n} more.", "…and {n} more.", total - len(views)), Text(" "))
    footer += ctx.t._("One idea in full: <b>{command}</b>",
                      command=ctx.cmd(f"idea {views[0].idea.id}"))
    blocks.append(Paragraph(footer))
    await ctx.reply(RichText(tuple(blocks)))


def _bullets(t: Translator, views: Iterable[IdeaView]) -> BulletList:
    return BulletList(tuple(line(t, view) for view in views))


def _nothing(ctx: Context, territory: Territory, theme: str | None) -> RichText:
    if theme:
        return rich(ctx.t._("No ideas with #{theme} in {territory}.", theme=theme,
                            territory=territory.name))
    return rich(ctx.t._("No ideas in {territory} yet. Propose the first one: <b>{example}</b>",
                        territory=territory.name, example=example_submission(ctx)))


async def show_idea(ctx: Context, number: int) -> None:
    territory = await ctx.require_territory()
    idea = await idea_in(ctx, territory, number)
    view = await store.view(ctx.session, idea)
    if idea.hidden and not await ctx.is_facilitator(territory):
        await ctx.reply(hidden_text(ctx.t, view))
        return
    text = card_text(ctx.t, view, territory)
    if idea.hidden:
        text = hidden_text(ctx.t, view) + text
    history = [_created(ctx, view)] + [
        _event(ctx, event, actor) for event, actor in await store.history(ctx.session, idea)]
    text += rich(Paragraph((Bold(ctx.t._("History")),)), BulletList(tuple(history)))
    if not idea.hidden:
        text += rich(ctx.t._("Support it: <b>{support}</b>. Withdraw: <b>{withdraw}</b>",
                             support=ctx.cmd(f"sostengo {idea.id}"),
                             withdraw=ctx.cmd(f"ritiro {idea.id}")))
    await ctx.reply(text)


def _created(ctx: Context, view: IdeaView) -> tuple[Inline, ...]:
    return ctx.t._("{when}: proposed by {author}",
                   when=ctx.t.when(view.idea.created_at, ctx.zone), author=view.author)


def _event(ctx: Context, event: IdeaEvent, actor: str | None) -> tuple[Inline, ...]:
    t, when = ctx.t, ctx.t.when(event.created_at, ctx.zone)
    who = actor or "?"
    if event.kind == "status" and event.status:
        said = t._("{when}: {actor} changed the status: <b>{status}</b>", when=when, actor=who,
                   status=status_name(t, event.status))
        if event.note:
            said += (Text(" — "), Italic((Text(event.note),)))
        return said
    if event.kind == "hidden":
        return t._("{when}: {actor} hid it — {reason}", when=when, actor=who,
                   reason=event.note or "")
    if event.kind == "reported":
        return t._("{when}: hidden after reports from members", when=when)
    return t._("{when}: {actor} made it visible again", when=when, actor=who)
