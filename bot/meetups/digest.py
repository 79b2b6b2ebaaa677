"""The meetups part of a digest.

A territory digest lists the meetups of the next 14 days (from the end of the period) with
their answers, and the meetups that took place in the period with how many had said they
would be there. Both digests count, per territory, the meetups held and the people going to
them; members who answered a meetup or proposed one took part. Cancelled meetups are left
out. A fixed number of queries whatever the number of territories or meetups (see
`bot.digests.sections`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digests.sections import DigestScope, SectionResult, count_rows
from bot.i18n import N_
from bot.meetups.listing import answer_counts, line
from bot.meetups.store import GOING
from bot.messages import Block, BulletList, Paragraph
from storage.models.meetups import MEETUP_START_INDEX, Meetup, MeetupAnswer

AHEAD = timedelta(days=14)  # how far ahead a territory digest looks for meetups
MAX_MEETUPS = 10  # of each kind in one digest
HELD_METRIC = N_("Meetups held")
GOING_METRIC = N_("People going")


async def meetups_section(session: AsyncSession, scope: DigestScope) -> SectionResult:
    result = SectionResult()
    if scope.counting:
        await _count(session, scope, result)
    if scope.counts_only or scope.for_staff:  # staff: each territory's line tells the counts
        return result
    scheduled = (scope.in_territories(Meetup.territory_id), Meetup.status == "scheduled")
    held = list(await session.scalars(
        select(Meetup).where(*scheduled, *scope.during(Meetup.starts_at))
        .order_by(Meetup.starts_at, Meetup.id).limit(MAX_MEETUPS)))
    coming = list(await session.scalars(
        select(Meetup).where(*scheduled, Meetup.starts_at >= scope.end,
                             Meetup.starts_at < scope.end + AHEAD)
        .order_by(Meetup.starts_at, Meetup.id).limit(MAX_MEETUPS)))
    if not held and not coming:
        return result
    counts = await answer_counts(session, [m.id for m in held + coming])
    t, zone = scope.t, scope.zone
    blocks: list[Block] = []
    if coming:
        blocks.append(Paragraph(t.n_("<b>Meetups in the next {n} day</b>",
                                     "<b>Meetups in the next {n} days</b>", AHEAD.days)))
        blocks.append(BulletList(tuple(line(t, zone, m, counts[m.id], past=False)
                                       for m in coming)))
    if held:
        blocks.append(Paragraph(t._("<b>Meetups that took place</b>")))
        blocks.append(BulletList(tuple(line(t, zone, m, counts[m.id], past=True)
                                       for m in held)))
    result.blocks = blocks
    return result


async def _count(session: AsyncSession, scope: DigestScope, result: SectionResult) -> None:
    """Three grouped queries: meetups held and people going; answers; meetups proposed."""
    in_scope = scope.in_territories(Meetup.territory_id)
    going = MeetupAnswer.answer == GOING
    held = scope.tally(Meetup.starts_at, Meetup.id, unique=True)
    people = scope.tally(Meetup.starts_at, MeetupAnswer.id)
    held_query = (
        select(Meetup.territory_id, *held, *people)
        .outerjoin(MeetupAnswer, and_(MeetupAnswer.meetup_id == Meetup.id, going))
        .where(in_scope, Meetup.status == "scheduled", *scope.during(Meetup.starts_at))
        .group_by(Meetup.territory_id))
    if scope.for_staff:
        # Every territory: SQLite, without statistics, would read every meetup ever
        # planned, in territory order to spare a sort, rather than the period's.
        held_query = held_query.with_hint(Meetup, f"INDEXED BY {MEETUP_START_INDEX}",
                                          "sqlite")
    rows = await count_rows(session, held_query)
    periods = len(held)
    result.count(HELD_METRIC, ((row[0], *row[1:1 + periods]) for row in rows))
    result.count(GOING_METRIC, ((row[0], *row[1 + periods:]) for row in rows))
    result.took_part(await count_rows(session,
        select(Meetup.territory_id, MeetupAnswer.member_id,
               *scope.tally(MeetupAnswer.answered_at))
        .join(Meetup, Meetup.id == MeetupAnswer.meetup_id)
        .where(in_scope, *scope.during(MeetupAnswer.answered_at))
        .group_by(Meetup.territory_id, MeetupAnswer.member_id)))
    result.took_part(await count_rows(session,
        select(Meetup.territory_id, Meetup.organiser_id, *scope.tally(Meetup.created_at))
        .where(in_scope, *scope.during(Meetup.created_at))
        .group_by(Meetup.territory_id, Meetup.organiser_id)))
