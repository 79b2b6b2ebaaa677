"""The polls part of a digest: polls closed in the period with their result, and polls open
at its end with their deadline and leader (in a staff digest, only the counts: polls closed
and answers, per territory). A handful of queries whatever the number of territories or
polls (see `bot.digests.sections`)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digests.sections import DigestScope, SectionResult, count_rows
from bot.i18n import N_
from bot.messages import BulletList, Inline, Paragraph, Text
from bot.polls import scoring
from bot.polls.card import option_text
from bot.polls.listing import leader_text, options_by_poll
from bot.polls.scoring import Count
from bot.polls.store import counts_for
from storage.models.polls import Poll, PollOption, PollVote

MAX_POLLS = 15  # of each kind in one digest
CLOSED_METRIC = N_("Polls closed")
ANSWERS_METRIC = N_("Poll answers")


def _final(option: PollOption) -> Count:
    return Count(option.final_yes or 0, option.final_maybe or 0, option.final_no or 0)


def _closed_item(scope: DigestScope, poll: Poll,
                 options: list[PollOption]) -> tuple[Inline, ...]:
    t = scope.t
    counts = [_final(o) for o in options]
    best = scoring.leaders(counts, poll.mode)
    head = t._("no. {number} <b>{question}</b>", number=poll.id, question=poll.question)
    if not best:
        outcome = t._("no answers")
    elif len(best) > 1:
        outcome = t._("tied: {options}", options=", ".join(
            option_text(scope.target, options[i]) for i in best))
    else:
        outcome = t._("chose <b>{option}</b>", option=option_text(scope.target, options[best[0]]))
    voters = t.n_("{n} answer", "{n} answers", poll.final_voters or 0)
    return (*head, Text(" — "), *outcome, Text(" ("), *voters, Text(")"))


async def polls_section(session: AsyncSession, scope: DigestScope) -> SectionResult:
    result = SectionResult()
    in_scope = scope.in_territories(Poll.territory_id)
    if scope.counting:
        result.count(CLOSED_METRIC, await count_rows(session,
            select(Poll.territory_id, *scope.tally(Poll.closed_at))
            .where(in_scope, *scope.during(Poll.closed_at))
            .group_by(Poll.territory_id)))
        result.count_members(ANSWERS_METRIC, await count_rows(session,
            select(Poll.territory_id, PollVote.member_id, *scope.tally(PollVote.voted_at))
            .join(Poll, Poll.id == PollVote.poll_id)
            .where(in_scope, *scope.during(PollVote.voted_at))
            .group_by(Poll.territory_id, PollVote.member_id)))
    if scope.counts_only or scope.for_staff:  # staff: each territory's line tells the counts
        return result
    closed = list(await session.scalars(
        select(Poll).where(in_scope, *scope.during(Poll.closed_at))
        .order_by(Poll.closed_at, Poll.id).limit(MAX_POLLS)))
    still_open = list(await session.scalars(
        select(Poll).where(in_scope, Poll.created_at < scope.end,
                           or_(Poll.status == "open", Poll.closed_at >= scope.end))
        .order_by(Poll.closes_at, Poll.id).limit(MAX_POLLS)))
    if not closed and not still_open:
        return result
    options = await options_by_poll(session, closed + still_open)
    live = await counts_for(session, [poll.id for poll in still_open])
    t = scope.t
    if closed:
        result.blocks.append(Paragraph(t._("<b>Polls closed</b>")))
        result.blocks.append(BulletList(tuple(
            _closed_item(scope, poll, options[poll.id]) for poll in closed)))
    if still_open:
        items = []
        for poll in still_open:
            counts = [live.get(poll.id, {}).get(o.id, Count()) for o in options[poll.id]]
            items.append((*t._("no. {number} <b>{question}</b>, closes {when}",
                               number=poll.id, question=poll.question,
                               when=t.when(poll.closes_at, scope.zone)),
                          Text(" — "), *leader_text(scope.target, poll, options[poll.id],
                                                    counts)))
        result.blocks.append(Paragraph(t._("<b>Open polls</b>")))
        result.blocks.append(BulletList(tuple(items)))
    return result
