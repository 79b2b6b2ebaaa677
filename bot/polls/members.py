"""Who the members of a territory are, as far as the database knows.

There is no membership list: a platform does not tell the bot who sits in a chat. A
member counts as known to a territory when the database links them to it — they chose it
as their territory in a private chat, were granted a role there, launched or answered one
of its polls, organised or answered one of its meetups, or proposed or supported one of
its ideas. The not-yet-answered reminder
goes to them, and they may vote from a private chat.
"""

from __future__ import annotations

from sqlalchemy import Select, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Role
from storage.models.ideas import Idea, IdeaSupport
from storage.models.meetups import Meetup, MeetupAnswer
from storage.models.polls import Poll, PollVote


def _known(territory_id: int) -> Select[tuple[int]]:
    return union(
        select(Member.id).where(Member.home_territory_id == territory_id),
        select(Role.member_id).where(Role.territory_id == territory_id),
        select(Poll.creator_id).where(Poll.territory_id == territory_id),
        select(PollVote.member_id).join(Poll, Poll.id == PollVote.poll_id)
        .where(Poll.territory_id == territory_id),
        select(Meetup.organiser_id).where(Meetup.territory_id == territory_id),
        select(MeetupAnswer.member_id).join(Meetup, Meetup.id == MeetupAnswer.meetup_id)
        .where(Meetup.territory_id == territory_id),
        select(Idea.author_id).where(Idea.territory_id == territory_id),
        select(IdeaSupport.member_id).where(IdeaSupport.territory_id == territory_id),
    )  # type: ignore[return-value]


async def known_members(session: AsyncSession, territory_id: int) -> set[int]:
    """Every member known to the territory, in one query."""
    return set(await session.scalars(select(_known(territory_id).subquery().c[0])))


async def is_known(session: AsyncSession, territory_id: int, member_id: int) -> bool:
    known = _known(territory_id).subquery()
    found = await session.scalar(select(known.c[0]).where(known.c[0] == member_id).limit(1))
    return found is not None
