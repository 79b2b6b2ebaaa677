"""/riepilogo (/digest): the schedules, a preview, and a digest sent now.

A territory chat has one digest; a staff chat two — the daily one and the weekly one, which
replaces the daily one on its day. `/riepilogo orario CRON` sets the first,
`/riepilogo orario settimanale CRON` (staff) the second; both are repeated back in words.
"""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_datetime

from bot.commands import CommandSpec, Registry, words
from bot.context import Context
from bot.crontab import CronError
from bot.digests.compose import compose
from bot.digests.engine import DigestJob, Plan, plans, scope_for, send
from bot.digests.moderation import moderation_section
from bot.digests.schedule import Schedule, describe
from bot.i18n import N_
from bot.messages import Inline, rich
from storage.models.digests import DigestSetting

SUBCOMMANDS = {
    "orario": "schedule", "schedule": "schedule",
    "anteprima": "preview", "preview": "preview",
    "ora": "now", "now": "now",
}
WEEKLY_WORDS = {"settimanale", "weekly"}


async def _plans(ctx: Context) -> list[Plan]:
    """The digests this chat receives: the territory's, or the staff's daily and weekly."""
    if ctx.chat.kind not in ("territory", "staff"):
        ctx.fail("Digests go to territory chats and staff chats. Bind this chat first: "
                 "<b>{example}</b>", example=ctx.cmd("territorio Milano"))
    return await plans(ctx.session, ctx.services, [ctx.chat.id])


async def digest(ctx: Context, args: str) -> None:
    parts = words(args)
    action = SUBCOMMANDS.get(parts[0].lower()) if parts else None
    if action == "schedule":
        await _schedule(ctx, parts[1:])
    elif action == "preview":
        await _preview(ctx)
    elif action == "now":
        await _now(ctx)
    else:
        await _show(ctx, unknown=bool(parts))


def _in_words(ctx: Context, plan: Plan) -> str:
    """"alle 09:00, solo il lunedì": the schedule as the middle of a sentence."""
    text = describe(plan.schedule.expression, ctx.t.locale)
    return text[:1].lower() + text[1:]


def _when(ctx: Context, plan: Plan) -> str:
    return format_datetime(plan.next_due().astimezone(plan.schedule.zone), "EEEE d MMMM, HH:mm",
                           locale=ctx.t.babel_locale)


def _example(ctx: Context, *, weekly: bool) -> str:
    if weekly:
        return ctx.cmd(ctx.t.p_("digest schedule weekly 0 9 * * MON"))
    return ctx.cmd(ctx.t.p_("digest schedule 0 9 * * MON"))


def _plan_line(ctx: Context, plan: Plan) -> tuple[Inline, ...]:
    values = {"words": _in_words(ctx, plan), "cron": plan.schedule.expression,
              "when": _when(ctx, plan)}
    if plan.kind == "staff":
        return ctx.t._("Daily digest here: <b>{words}</b> ({cron}); the next one on {when}.",
                       **values)
    if plan.kind == "staff_weekly":
        return ctx.t._("Weekly digest here, instead of the daily one on its day: "
                       "<b>{words}</b> ({cron}); the next one on {when}.", **values)
    return ctx.t._("Digest here: <b>{words}</b> ({cron}); the next one on {when}.", **values)


async def _show(ctx: Context, *, unknown: bool) -> None:
    found = await _plans(ctx)
    lines = [_plan_line(ctx, plan) for plan in found]
    preview = ctx.cmd(ctx.t.p_("digest preview"))
    lines.append(ctx.t._("Preview: <b>{preview}</b> · change the time: <b>{schedule}</b>",
                         preview=preview, schedule=_example(ctx, weekly=False)))
    if ctx.chat.kind == "staff":
        lines.append(ctx.t._("The weekly one: <b>{schedule}</b>",
                             schedule=_example(ctx, weekly=True)))
    if unknown:
        lines.insert(0, ctx.t._("I don't know that. Here is what I can do with digests:"))
    await ctx.reply(rich(*lines))


async def _schedule(ctx: Context, parts: list[str]) -> None:
    found = await _plans(ctx)
    if ctx.chat.kind == "staff":
        ctx.require_staff()
    else:
        await ctx.require_facilitator()
    weekly = ctx.chat.kind == "staff" and bool(parts) and parts[0].lower() in WEEKLY_WORDS
    plan = found[-1] if weekly else found[0]
    expression = " ".join(parts[1:] if weekly else parts)
    example = _example(ctx, weekly=weekly)
    if not expression:
        ctx.fail("Write the time as a cron line (minute hour day month weekday). Example: "
                 "<b>{example}</b> (every Monday at 09:00)", example=example)
    try:
        schedule = Schedule.parse(expression, plan.schedule.zone)
    except CronError:
        ctx.fail("<b>{cron}</b> is not a schedule I understand. Example: <b>{example}</b> "
                 "(every Monday at 09:00)", cron=expression[:60], example=example)
    await ctx.session.merge(DigestSetting(chat_id=ctx.chat.id, kind=plan.kind,
                                          cron=schedule.expression, updated_by=ctx.member.id,
                                          updated_at=ctx.now))
    updated = Plan(plan.chat, plan.territory, plan.kind, schedule, plan.last_end)
    values = {"words": _in_words(ctx, updated), "when": _when(ctx, updated)}
    if weekly:
        await ctx.reply(ctx.t._("Done: the weekly digest will come <b>{words}</b>; the next "
                                "one on {when}.", **values))
    else:
        await ctx.reply(ctx.t._("Done: the digest will come <b>{words}</b>; the next one on "
                                "{when}.", **values))


async def _preview(ctx: Context) -> None:
    """The digest due next, as it stands: what happened since the last one up to this very
    moment (hence the second more: the period's end is exclusive). Nothing is claimed."""
    plan = (await _plans(ctx))[0]
    scope = await scope_for(ctx.session, plan, ctx.here, plan.last_end,
                            ctx.now + timedelta(seconds=1))
    messages = await compose(ctx.session, ctx.services, scope, empty="line")
    await ctx.reply(ctx.t._("<i>Preview: this is what the next digest would say so far.</i>"))
    for message in messages:
        await ctx.reply(message)


async def _now(ctx: Context) -> None:
    ctx.require_staff()
    plan = (await _plans(ctx))[0]
    told = plan.last_end < ctx.now and await send(ctx.session, ctx.services, ctx.outbox, plan,
                                                  ctx.now, ctx.now)
    if not told:
        await ctx.reply(ctx.t._("Nothing new to tell since the last digest; the next period "
                                "starts now."))


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("riepilogo", "digest"), digest,
        N_("The digest of this chat: its schedule, a preview, or (staff) one now"),
        usage=N_("[schedule CRON | preview | now]"), example=N_("preview")))
    registry.job(DigestJob())
    registry.digest_section(moderation_section)
