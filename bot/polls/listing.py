"""/sondaggi (/polls): the open polls of this territory, with deadline and current leader."""

from __future__ import annotations

from collections.abc import Sequence

from babel.lists import format_list
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.i18n import Translator
from bot.messages import BulletList, Inline, Paragraph, RichText, Text
from bot.outbox import Target
from bot.polls import card, scoring
from bot.polls.scoring import Count
from bot.polls.store import counts_for
from storage.models.polls import Poll, PollOption

MAX_LISTED = 20


async def options_by_poll(session: AsyncSession,
                          polls: Sequence[Poll]) -> dict[int, list[PollOption]]:
    """The options of many polls in one query, in order."""
    ids = [poll.id for poll in polls]
    out: dict[int, list[PollOption]] = {poll_id: [] for poll_id in ids}
    if ids:
        for option in await session.scalars(
                select(PollOption).where(PollOption.poll_id.in_(ids))
                .order_by(PollOption.poll_id, PollOption.position)):
            out[option.poll_id].append(option)
    return out


def leader_text(target: Target, poll: Poll, options: list[PollOption],
                counts: list[Count]) -> tuple[Inline, ...]:
    """Who leads now, in words: hidden, nobody yet, one option, or a tie."""
    t: Translator = target.t
    if poll.hidden_results:
        return t._("results at closing")
    best = scoring.leaders(counts, poll.mode)
    if not best:
        return t._("no answers yet")
    names = format_list([card.option_text(target, options[i]) for i in best],
                        locale=t.babel_locale)
    if len(best) > 1:
        return t._("tied: {options}", options=names)
    return t._("leading: <b>{option}</b>", option=names)


async def list_command(ctx: Context, args: str) -> None:
    territory = await ctx.require_territory()
    polls = list(await ctx.session.scalars(
        select(Poll).where(Poll.territory_id == territory.id, Poll.status == "open")
        .order_by(Poll.closes_at, Poll.id).limit(MAX_LISTED + 1)))
    if not polls:
        await ctx.reply(ctx.t._("No open polls in {territory}.", territory=territory.name))
        return
    shown = polls[:MAX_LISTED]
    options = await options_by_poll(ctx.session, shown)
    live = await counts_for(ctx.session, [poll.id for poll in shown])
    items = []
    for poll in shown:
        counts = [live.get(poll.id, {}).get(o.id, Count()) for o in options[poll.id]]
        items.append((
            *ctx.t._("no. {number} <b>{question}</b>, closes {when}", number=poll.id,
                     question=poll.question, when=ctx.t.when(poll.closes_at, ctx.zone)),
            Text(" — "), *leader_text(ctx.here, poll, options[poll.id], counts)))
    blocks: list[Paragraph | BulletList] = [
        Paragraph(ctx.t._("<b>Open polls in {territory}</b>", territory=territory.name)),
        BulletList(tuple(items))]
    if len(polls) > MAX_LISTED:
        blocks.append(Paragraph(ctx.t._("… and more: the first {n} to close are shown.",
                                        n=MAX_LISTED)))
    blocks.append(Paragraph(ctx.t._("To answer: <b>{command}</b>",
                                    command=ctx.cmd(f"vota {shown[0].id} 1"))))
    await ctx.reply(RichText(tuple(blocks)))
