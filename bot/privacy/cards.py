"""Showing the change everywhere: the open cards a member's name or answers appear on.

After a member is forgotten their name on cards becomes "a member"; after two members are
merged, counts may drop (one support instead of two) and names change. The cards of open
ideas, upcoming meetups and open polls the member took part in are posted again, which edits
them in place in every chat of their territory. Closed ones keep what they showed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select

from bot.ideas import store as idea_store
from bot.ideas.card import post_card
from bot.meetups import card as meetup_card
from bot.meetups.answers import announce_promotions, fill_places
from bot.meetups.store import GOING, WAITING, Scope
from bot.polls import card as poll_card
from bot.polls.store import options_of
from storage.models import Territory
from storage.models.ideas import Idea, IdeaSupport
from storage.models.meetups import Meetup, MeetupAnswer
from storage.models.polls import Poll, PollVote

OPEN_IDEAS = ("new", "discussing")


@dataclass
class Touched:
    """The ids of the open cards that show something of one member."""

    ideas: set[int] = field(default_factory=set)
    meetups: set[int] = field(default_factory=set)
    polls: set[int] = field(default_factory=set)


async def touched(scope: Scope, member_id: int, *, counts: bool) -> Touched:
    """The open cards that show `member_id`'s name: ideas they proposed, meetups they
    organise or go to (or wait for). With `counts`, also those where they count: ideas
    they support, meetups they answered anyhow, polls they voted in or launched."""
    session = scope.session
    by_them = Idea.author_id == member_id
    if counts:
        by_them = or_(by_them, Idea.id.in_(
            select(IdeaSupport.idea_id).where(IdeaSupport.member_id == member_id)))
    ideas = await session.scalars(select(Idea.id).where(
        by_them, Idea.status.in_(OPEN_IDEAS), Idea.hidden.is_(None)))
    answers = select(MeetupAnswer.meetup_id).where(MeetupAnswer.member_id == member_id)
    if not counts:
        answers = answers.where(MeetupAnswer.answer.in_((GOING, WAITING)))
    meetups = await session.scalars(select(Meetup.id).where(
        or_(Meetup.organiser_id == member_id, Meetup.id.in_(answers)),
        Meetup.status == "scheduled", Meetup.concluded_at.is_(None),
        Meetup.starts_at > scope.now))
    polls: set[int] = set()
    if counts:  # an open poll's card shows counts; names only in its result, made later
        voted = select(PollVote.poll_id).where(PollVote.member_id == member_id)
        polls = set(await session.scalars(select(Poll.id).where(
            or_(Poll.creator_id == member_id, Poll.id.in_(voted)), Poll.status == "open")))
    return Touched(set(ideas), set(meetups), polls)


async def refresh(scope: Scope, cards: Touched) -> None:
    """Post the current version of each card (an edit where it is shown). A meetup whose
    answers were merged may have a free place: the first waiting gets it, and is told."""
    session = scope.session
    for idea_id in sorted(cards.ideas):
        idea = await session.get_one(Idea, idea_id)
        territory = await session.get_one(Territory, idea.territory_id)
        await post_card(scope.outbox, await idea_store.view(session, idea), territory)
    for meetup_id in sorted(cards.meetups):
        meetup = await session.scalar(
            select(Meetup).where(Meetup.id == meetup_id).with_for_update())
        assert meetup is not None
        await announce_promotions(scope, meetup, await fill_places(session, meetup))
        await meetup_card.publish(scope, meetup)
    for poll_id in sorted(cards.polls):
        await poll_card.refresh(scope, await session.get_one(Poll, poll_id),
                                await options_of(session, poll_id))
