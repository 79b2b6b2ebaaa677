"""Facilitators answer and moderate: /stato (/status), /nascondi (/hide), /mostra (/unhide);
members report: /segnala (/report).

Every change is a row of the idea's history (`idea_events`: who, when, what) and an edit of
its card. A hidden idea keeps its rows, out of lists; `ideas.report_threshold` reports from
distinct members not yet reviewed hide it until a facilitator looks at it: `/mostra` or
`/nascondi` marks those reports reviewed. Members are told with meetups' `tell`: privately
where the platform allows, else named in the territory's chat.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import audit
from bot.context import Context
from bot.i18n import N_, Translator
from bot.ideas import store
from bot.ideas.card import status_name
from bot.ideas.lookup import idea_in, idea_number, refresh_card
from bot.ideas.parsing import MAX_TEXT, parse_status, shorten
from bot.meetups.notify import tell
from bot.messages import Inline, OutMessage, RichText, Text, rich
from bot.outbox import Target
from bot.territories import clean_name
from storage.models import Territory
from storage.models.ideas import Idea

MAX_REASON = 300
STATUS_EXAMPLE = N_("status 3 adopted We will present it at the assembly in January")
HIDE_EXAMPLE = N_("hide 3 it is an advertisement")


async def status_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_facilitator()
    number, rest = idea_number(ctx, args, ctx.t.p_(STATUS_EXAMPLE))
    word, _, answer = rest.partition(" ")
    status = parse_status(word)
    if status is None:
        ctx.fail("Choose the status: <b>discussing</b>, <b>adopted</b> or <b>set-aside</b>, then "
                 "an answer if you like. Example: <b>{example}</b>",
                 example=ctx.cmd(ctx.t.p_(STATUS_EXAMPLE)))
    answer = clean_name(answer)
    if len(answer) > MAX_TEXT:
        ctx.fail("An answer is at most {max} characters, and this one has {size}.",
                 max=MAX_TEXT, size=len(answer))
    idea = await idea_in(ctx, territory, number)
    if idea.status == status and not answer:
        await ctx.reply(ctx.t._("Idea #{id} is already <b>{status}</b>.", id=idea.id,
                                status=status_name(ctx.t, status)))
        return
    idea.status, idea.answer = status, answer or None
    await store.record(ctx.session, idea, "status", ctx.now, actor=ctx.member, status=status,
                       note=idea.answer)
    await audit.record(ctx, "idea.status", subject=f"idea:{idea.id}",
                       territory_id=territory.id, status=status)
    await refresh_card(ctx, idea, territory)
    told: list[int] = []
    if not idea.hidden:
        followers = [idea.author_id, *await store.supporter_ids(ctx.session, idea)]
        told = [m for m in followers if m != ctx.member.id]
        await tell(ctx, territory, told, lambda target: OutMessage(_status_news(target, idea)))
    said = ctx.t._("Idea #{id} is now <b>{status}</b>.", id=idea.id,
                   status=status_name(ctx.t, status))
    if told:
        said += (Text(" "), *ctx.t.n_("I told the member who follows it.",
                                      "I told the {n} members who follow it.", len(told)))
    await ctx.reply(said)


def _status_news(target: Target, idea: Idea) -> RichText:
    t = target.t
    blocks = [t._("Idea #{id} “{text}” is now <b>{status}</b>.", id=idea.id,
                  text=shorten(idea.text, 80), status=status_name(t, idea.status))]
    if idea.answer:
        blocks.append(t._("Facilitators' answer: <i>{answer}</i>", answer=idea.answer))
    blocks.append(t._("Details: <b>{command}</b>", command=target.cmd(f"idea {idea.id}")))
    return rich(*blocks)


async def hide_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_facilitator()
    number, reason = idea_number(ctx, args, ctx.t.p_(HIDE_EXAMPLE))
    reason = clean_name(reason)
    if not reason:
        ctx.fail("Say why: the author will read it. Example: <b>{example}</b>",
                 example=ctx.cmd(ctx.t.p_(HIDE_EXAMPLE)))
    if len(reason) > MAX_REASON:
        ctx.fail("A reason is at most {max} characters.", max=MAX_REASON)
    idea = await idea_in(ctx, territory, number)
    if idea.hidden == "moderator":
        await ctx.reply(ctx.t._("Idea #{id} is already hidden.", id=idea.id))
        return
    idea.hidden = "moderator"
    await store.mark_reports_reviewed(ctx.session, idea, ctx.now)
    await store.record(ctx.session, idea, "hidden", ctx.now, actor=ctx.member, note=reason)
    await audit.record(ctx, "idea.hide", subject=f"idea:{idea.id}", territory_id=territory.id,
                       reason=reason)
    await refresh_card(ctx, idea, territory)
    await _tell_author(ctx, territory, idea, lambda t: t._(
        "Your idea #{id} “{text}” was hidden by the facilitators. Why: {reason}",
        id=idea.id, text=shorten(idea.text, 80), reason=reason))
    await ctx.reply(ctx.t._("Idea #{id} is hidden: it stays on record, out of the lists. The "
                            "author is told why.", id=idea.id))


async def unhide_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_facilitator()
    number, _ = idea_number(ctx, args, "mostra 3")
    idea = await idea_in(ctx, territory, number)
    if not idea.hidden:
        await ctx.reply(ctx.t._("Idea #{id} is not hidden.", id=idea.id))
        return
    idea.hidden = None
    await store.mark_reports_reviewed(ctx.session, idea, ctx.now)
    await store.record(ctx.session, idea, "shown", ctx.now, actor=ctx.member)
    await audit.record(ctx, "idea.show", subject=f"idea:{idea.id}", territory_id=territory.id)
    await refresh_card(ctx, idea, territory)
    await _tell_author(ctx, territory, idea, lambda t: t._(
        "Your idea #{id} is visible again.", id=idea.id))
    await ctx.reply(ctx.t._("Idea #{id} is visible again.", id=idea.id))


async def report_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_territory()
    number, reason = idea_number(ctx, args, "segnala 3")
    reason = clean_name(reason)
    if len(reason) > MAX_REASON:
        ctx.fail("A reason is at most {max} characters.", max=MAX_REASON)
    idea = await idea_in(ctx, territory, number)
    if idea.hidden:
        await ctx.reply(ctx.t._("Idea #{id} is already hidden: the facilitators know.",
                                id=idea.id))
        return
    if idea.author_id == ctx.member.id:
        ctx.fail("You can't report your own idea. To take it back, ask a facilitator.")
    if not await store.add_report(ctx.session, idea, ctx.member, reason or None, ctx.now):
        await ctx.reply(ctx.t._("You have already reported idea #{id}.", id=idea.id))
        return
    await ctx.reply(ctx.t._("Thank you: the facilitators will look at idea #{id}.", id=idea.id))
    reports = await store.pending_reports(ctx.session, idea)
    if reports >= ctx.services.config.ideas.report_threshold:
        await _hide_after_reports(ctx, territory, idea, reports)


async def _hide_after_reports(ctx: Context, territory: Territory, idea: Idea,
                              reports: int) -> None:
    idea.hidden = "reports"
    await store.record(ctx.session, idea, "reported", ctx.now, note=str(reports))
    await audit.record(ctx, "idea.hide", subject=f"idea:{idea.id}", territory_id=territory.id,
                       automatic=True, reports=reports)
    await refresh_card(ctx, idea, territory)
    for target in await ctx.outbox.territory_targets(territory):
        hide = target.cmd(target.t.p_("hide {id} REASON", id=idea.id))
        await ctx.outbox.post(target, OutMessage(rich(target.t.n_(
            "Facilitators: idea #{id} was reported by {n} member and is hidden until one of "
            "you reviews it. <b>{show}</b> shows it again; <b>{hide}</b> keeps it hidden.",
            "Facilitators: idea #{id} was reported by {n} members and is hidden until one of "
            "you reviews it. <b>{show}</b> shows it again; <b>{hide}</b> keeps it hidden.",
            reports, id=idea.id, show=target.cmd(f"mostra {idea.id}"),
            hide=hide))))
    await _tell_author(ctx, territory, idea, lambda t: t._(
        "Your idea #{id} was reported by some members: it is hidden until a facilitator "
        "reviews it.", id=idea.id))


async def _tell_author(ctx: Context, territory: Territory, idea: Idea,
                       say: Callable[[Translator], tuple[Inline, ...]]) -> None:
    if idea.author_id != ctx.member.id:
        await tell(ctx, territory, [idea.author_id],
                   lambda target: OutMessage(rich(say(target.t))))
