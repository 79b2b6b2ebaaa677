"""Proposing an idea: /idea TEXT #theme, and /pubblica (/publish) after the similar-idea
question.

`/idea` with a number shows that idea instead (see `bot.ideas.browse`). A submission is
checked in this order, each refusal explained with an example: its length, its themes,
the author's daily limit; then, if it looks like an open idea of the territory, the author
is asked first (`bot.ideas.drafts`); otherwise its card goes to every chat of the territory.
"""

from __future__ import annotations

from bot.context import Context, UserError
from bot.ideas import drafts, store
from bot.ideas.browse import show_idea
from bot.ideas.card import themes_text
from bot.ideas.lookup import as_toast, example_submission, refresh_card
from bot.ideas.parsing import (
    MAX_TEXT,
    MAX_THEME,
    MAX_THEMES,
    MIN_TEXT,
    Submission,
    parse_number,
    parse_submission,
    shorten,
)
from bot.ideas.store import DAY
from bot.messages import Inline, RichText, rich
from bot.similarity import most_similar
from storage.models import Territory
from storage.models.ideas import Idea


async def idea_command(ctx: Context, args: str) -> None:
    if not args.strip():
        await ctx.reply(usage(ctx))
        return
    number = parse_number(args)
    if number is not None:
        await show_idea(ctx, number)
        return
    territory = await ctx.require_territory()
    submission = checked(ctx, parse_submission(args))
    await check_daily_limit(ctx)
    match = most_similar(submission.text, await store.open_ideas(ctx.session, territory))
    similar = await store.view_of(ctx.session, match[0]) if match is not None else None
    if similar is not None:
        await drafts.ask(ctx, territory, submission, similar)
        return
    await publish(ctx, territory, submission, limit_checked=True)


def usage(ctx: Context) -> RichText:
    return rich(
        ctx.t._("To propose an idea for your territory, write it after <b>{command}</b>, with "
                "its themes as hashtags. Example: <b>{example}</b>",
                command=ctx.cmd("idea"), example=example_submission(ctx)),
        ctx.t._("Suggested themes: {themes}. Other hashtags work too.",
                themes=themes_text(ctx.services.config.ideas.themes)),
        ctx.t._("One idea: <b>{one}</b>. All of them: <b>{all}</b>",
                one=ctx.cmd("idea 3"), all=ctx.cmd("idee")),
    )


def checked(ctx: Context, submission: Submission) -> Submission:
    size = len(submission.text)
    if size < MIN_TEXT:
        ctx.fail("An idea needs at least {min} characters, besides its themes: say what you "
                 "propose. Example: <b>{example}</b>", min=MIN_TEXT,
                 example=example_submission(ctx))
    if size > MAX_TEXT:
        ctx.fail("An idea is at most {max} characters, and this one has {size}: shorten it, or "
                 "split it into two ideas.", max=MAX_TEXT, size=size)
    if len(submission.themes) > MAX_THEMES:
        ctx.fail("At most {max} themes for one idea: keep the ones that matter most.",
                 max=MAX_THEMES)
    for theme in submission.themes:
        if len(theme) > MAX_THEME:
            ctx.fail("A theme is at most {max} characters: <b>#{theme}</b> is longer.",
                     max=MAX_THEME, theme=shorten(theme, MAX_THEME))
    return submission


async def check_daily_limit(ctx: Context) -> None:
    """At most `ideas.daily_limit` ideas in any 24 hours (a rolling day: no rush at
    midnight, and the same rule in every time zone)."""
    limit = ctx.services.config.ideas.daily_limit
    recent = await store.recent_by(ctx.session, ctx.member, ctx.now)
    if len(recent) >= limit:
        again = recent[len(recent) - limit] + DAY
        raise UserError(ctx.t.n_(
            "You have already proposed {n} idea in the last 24 hours, the most for one day. "
            "You can propose the next one from {when}.",
            "You have already proposed {n} ideas in the last 24 hours, the most for one day. "
            "You can propose the next one from {when}.",
            limit, when=ctx.t.when(again, ctx.zone)))


async def publish(ctx: Context, territory: Territory, submission: Submission, *,
                  limit_checked: bool = False) -> Idea:
    """Create the idea and post its card; `limit_checked`: the caller has just checked the
    author's daily limit in this transaction."""
    if not limit_checked:
        await check_daily_limit(ctx)
    idea = await store.create_idea(ctx.session, territory, ctx.member, submission.text,
                                   submission.themes, ctx.now)
    await refresh_card(ctx, idea, territory)
    if ctx.chat.territory_id != territory.id:  # a private chat: the card went elsewhere
        await ctx.reply(ctx.t._(
            "Done: idea #{id} is published in the chats of {territory}. Members can support "
            "it with <b>{command}</b>.", id=idea.id, territory=territory.name,
            command=ctx.cmd(f"sostengo {idea.id}")))
    return idea


async def publish_draft(ctx: Context, draft: dict) -> tuple[Inline, ...]:
    territory = await ctx.session.get_one(Territory, draft["territory"])
    idea = await publish(ctx, territory, Submission(draft["text"], tuple(draft["themes"])))
    await drafts.settle(ctx, ctx.t._("Published as idea #{id}.", id=idea.id))
    return ctx.t._("Idea #{id} is published.", id=idea.id)


async def publish_command(ctx: Context, args: str) -> None:
    token = await drafts.pending(ctx)
    if token is None:
        ctx.fail("You have no idea waiting to be published here. To propose one: "
                 "<b>{example}</b>", example=example_submission(ctx))
    await publish_draft(ctx, dict(token.payload))


async def publish_action(ctx: Context, payload: dict, undo: bool) -> str:
    if undo:  # taking back the 📢 reaction does not unpublish
        return ""
    return await as_toast(publish_draft(ctx, payload))

