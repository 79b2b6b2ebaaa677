"""/sondaggio (/poll): a facilitator launches a poll in every chat of the territory."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.messages import Inline, rich
from bot.polls import card, parsing
from storage.models.polls import Poll, PollOption

REMIND_BEFORE = timedelta(hours=24)


async def poll_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_territory()
    if not await ctx.is_facilitator(territory):
        ctx.fail("Polls are launched by the facilitators of {territory}: the chat's "
                 "administrators, members granted the role, and staff. Ask one of them — "
                 "or propose a meetup yourself with {meetup}.", territory=territory.name,
                 meetup=ctx.cmd("incontro"))
    if not args.strip():
        parsing.usage_refusal(ctx)
    draft = parsing.parse(ctx, args)
    if not await ctx.outbox.territory_targets(territory):
        ctx.fail("{territory} has no chat where I can post the poll yet.",
                 territory=territory.name)
    assert draft.closes_at is not None
    remind_at = draft.closes_at - REMIND_BEFORE
    poll = Poll(territory_id=territory.id, creator_id=ctx.member.id, question=draft.question,
                kind=draft.kind, mode=draft.mode, anonymous=draft.anonymous,
                hidden_results=draft.hidden_results, place=draft.place,
                closes_at=draft.closes_at, remind_at=remind_at if remind_at > ctx.now else None,
                status="open", created_at=ctx.now)
    ctx.session.add(poll)
    await ctx.session.flush()
    for position, option in enumerate(draft.options):
        ctx.session.add(PollOption(poll_id=poll.id, position=position, label=option.label,
                                   starts_at=option.starts_at))
    await ctx.session.flush()
    chats = await card.publish_new(ctx, poll)
    lines: list[tuple[Inline, ...]] = [ctx.t._(
        "Poll no. {number} is open until <b>{when}</b>. To close it earlier: {close}",
        number=poll.id, when=ctx.t.when(poll.closes_at, ctx.zone),
        close=ctx.cmd(f"chiudi {poll.id}"))]
    if draft.days_without_time:
        lines.append(ctx.t._("The options have no time, so this is a plain poll. For a date "
                             "poll that can become a meetup, give each one a time, for example "
                             "<b>{example}</b>.", example=ctx.t.p_("Saturday at 7pm")))
    if ctx.chat.territory_id != territory.id:
        lines.append(ctx.t.n_("It is in the chat of {territory}.",
                              "It is in the {n} chats of {territory}.", chats,
                              territory=territory.name))
    await ctx.reply(rich(*lines))
