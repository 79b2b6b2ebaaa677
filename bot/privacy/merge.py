"""Merging two members into one, when a person links an account to another (/collega).

Every row that points at the merged member (`bot.privacy.tables.MEMBER_COLUMNS`) moves to
the member it joins, so the person's supports, answers and votes are theirs once:

- where both had their say on the same thing (a support of the same idea, an answer to the
  same meetup, a ballot in the same poll, the same role), one say is kept: the more recent
  for answers and ballots (`latest_by`), the joined member's otherwise;
- supports and reports of an idea the person now authors are dropped (nobody supports or
  reports their own idea);
- short-lived state (pending buttons, conversations in progress) of the merged member goes.

Then the merged member's row is deleted. All in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.privacy.tables import MEMBER_COLUMNS, MemberColumn
from storage.models import Member
from storage.models.ideas import Idea, IdeaReport, IdeaSupport

NOT_ON_OWN_IDEAS = (IdeaSupport, IdeaReport)


async def lock(session: AsyncSession, *member_ids: int) -> None:
    """Hold the members' rows until the commit (PostgreSQL; SQLite writes one at a time), so
    that a concurrent change that points at the merged member fails rather than dangles."""
    await session.execute(select(Member.id).where(Member.id.in_(member_ids))
                          .order_by(Member.id).with_for_update())


async def _resolve(session: AsyncSession, spec: MemberColumn, source: int, target: int) -> None:
    """Where both members had their say on the same thing (`spec.one_per`), delete the say
    that goes: all its rows (a ballot is one row per option chosen)."""
    model = spec.model
    primary = list(model.__table__.primary_key.columns)
    keys = [getattr(model, name) for name in spec.one_per]
    when = [getattr(model, spec.latest_by)] if spec.latest_by else []

    async def says(member: int) -> dict[tuple[Any, ...], tuple[list[tuple[Any, ...]], Any]]:
        """For each thing: the primary keys of the member's rows, and when they last acted."""
        out: dict[tuple[Any, ...], tuple[list[tuple[Any, ...]], Any]] = {}
        for row in await session.execute(
                select(*keys, *primary, *when).where(spec.column == member)):
            values = tuple(row)
            key, pk = values[:len(keys)], values[len(keys):len(keys) + len(primary)]
            rows, latest = out.get(key, ([], None))
            moment = values[-1] if when else None
            out[key] = ([*rows, pk], moment if latest is None or moment > latest else latest)
        return out

    theirs = await says(target)
    for key, (rows, moment) in (await says(source)).items():
        if key not in theirs:
            continue
        other_rows, other_moment = theirs[key]
        newer = spec.latest_by is not None and moment > other_moment
        for pk in other_rows if newer else rows:
            await session.execute(delete(model).where(
                and_(*(column == value for column, value in zip(primary, pk, strict=True))))
                .execution_options(synchronize_session=False))


async def merge_members(session: AsyncSession, source: Member, target: Member) -> None:
    """Move everything of `source` to `target` and delete `source` (see the module's doc)."""
    await lock(session, source.id, target.id)
    for spec in MEMBER_COLUMNS:
        if spec.merge == "drop":
            await session.execute(delete(spec.model).where(spec.column == source.id)
                                  .execution_options(synchronize_session=False))
            continue
        if spec.one_per:
            await _resolve(session, spec, source.id, target.id)
        await session.execute(update(spec.model).where(spec.column == source.id)
                              .values({spec.column.key: target.id})
                              .execution_options(synchronize_session="fetch"))
    own = select(Idea.id).where(Idea.author_id == target.id)
    for model in NOT_ON_OWN_IDEAS:
        await session.execute(delete(model).where(model.member_id == target.id,
                                                  model.idea_id.in_(own))
                              .execution_options(synchronize_session=False))
    if target.home_territory_id is None:
        target.home_territory_id = source.home_territory_id
    await session.delete(source)
    await session.flush()
