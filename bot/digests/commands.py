"""/riepilogo (/digest): the schedule, a preview, and a digest sent now."""

from __future__ import annotations

from babel.dates import format_datetime

from bot.commands import CommandSpec, Registry, words
from bot.context import Context
from bot.crontab import CronError
from bot.digests.engine import DigestJob, Plan, compose, plans, scope_for, send
from bot.digests.schedule import Schedule, describe
from bot.i18n import N_
from bot.messages import rich
from storage.models.digests import DigestSetting

SUBCOMMANDS = {
    "orario": "schedule", "schedule": "schedule",
    "anteprima": "preview", "preview": "preview",
    "ora": "now", "now": "now",
}


async def _main_plan(ctx: Context) -> Plan:
    """The digest this chat receives (the daily one, in a staff chat)."""
    if ctx.chat.kind not in ("territory", "staff"):
        ctx.fail("Digests go to territory chats and staff chats. Bind this chat first: "
                 "<b>{example}</b>", example=ctx.cmd("territorio Milano"))
    found = await plans(ctx.session, ctx.services, [ctx.chat.id])
    return found[0]


async def digest(ctx: Context, args: str) -> None:
    parts = words(args)
    action = SUBCOMMANDS.get(parts[0].lower()) if parts else None
    if action == "schedule":
        await _schedule(ctx, " ".join(parts[1:]))
    elif action == "preview":
        await _preview(ctx)
    elif action == "now":
        await _now(ctx)
    else:
        await _show(ctx, unknown=bool(parts))


async def _show(ctx: Context, *, unknown: bool) -> None:
    plan = await _main_plan(ctx)
    lines = [ctx.t._("Digest here: <b>{words}</b> ({cron}); the next one on {when}.",
                     words=describe(plan.schedule.expression, ctx.t.locale),
                     cron=plan.schedule.expression, when=_when(ctx, plan))]
    preview = ctx.cmd(ctx.t.p_("digest preview"))
    lines.append(ctx.t._("Preview: <b>{preview}</b> · change the time: <b>{schedule}</b>",
                         preview=preview, schedule=_schedule_example(ctx)))
    if unknown:
        lines.insert(0, ctx.t._("I don't know that. Here is what I can do with digests:"))
    await ctx.reply(rich(*lines))


def _schedule_example(ctx: Context) -> str:
    return ctx.cmd(ctx.t.p_("digest schedule 0 9 * * MON"))


def _when(ctx: Context, plan: Plan) -> str:
    return format_datetime(plan.next_due().astimezone(plan.schedule.zone), "EEEE d MMMM, HH:mm",
                           locale=ctx.t.babel_locale)


async def _schedule(ctx: Context, expression: str) -> None:
    plan = await _main_plan(ctx)
    if ctx.chat.kind == "staff":
        ctx.require_staff()
    else:
        await ctx.require_facilitator()
    if not expression:
        ctx.fail("Write the time as a cron line (minute hour day month weekday). Example: "
                 "<b>{example}</b> (every Monday at 09:00)",
                 example=_schedule_example(ctx))
    try:
        schedule = Schedule.parse(expression, plan.schedule.zone)
    except CronError:
        ctx.fail("<b>{cron}</b> is not a schedule I understand. Example: <b>{example}</b> "
                 "(every Monday at 09:00)", cron=expression[:60],
                 example=_schedule_example(ctx))
    await ctx.session.merge(DigestSetting(chat_id=ctx.chat.id, kind=plan.kind,
                                          cron=schedule.expression, updated_by=ctx.member.id,
                                          updated_at=ctx.now))
    updated = Plan(plan.chat, plan.territory, plan.kind, schedule, plan.last_end)
    await ctx.reply(ctx.t._("Done: the digest will come <b>{words}</b>; the next one on {when}.",
                            words=describe(schedule.expression, ctx.t.locale).lower(),
                            when=_when(ctx, updated)))


async def _preview(ctx: Context) -> None:
    plan = await _main_plan(ctx)
    scope = await scope_for(ctx.session, plan, ctx.here, plan.last_end, ctx.now)
    messages = await compose(ctx.session, ctx.services, scope, empty="line")
    await ctx.reply(ctx.t._("<i>Preview: this is what the next digest would say so far.</i>"))
    for message in messages:
        await ctx.reply(message)


async def _now(ctx: Context) -> None:
    ctx.require_staff()
    plan = await _main_plan(ctx)
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
