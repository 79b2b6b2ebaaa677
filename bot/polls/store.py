"""Reading and writing polls: finding the one a command names, members' answers, tallies.

Answers are one row per member and option (`poll_votes`). In `pick` mode a row means
"chosen" (answer `yes`); in `ynm` mode it holds yes, maybe or no. A member's latest
answer replaces the earlier one; every write here runs in the caller's transaction, with
the poll row locked by the caller where two answers could race.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context
from bot.meetups.store import number_of
from bot.polls.members import is_known
from bot.polls.scoring import MAYBE, NO, YES, Count
from storage import core
from storage.db import locked
from storage.models import Member, Territory
from storage.models.polls import Poll, PollOption, PollVote

KEY = "poll:{id}"  # the native poll's message key, the same in every chat
CARD_KEY = "poll:{id}:card"  # the card: counts and how to vote, edited in place
OPTION_KEY = "poll:{id}:o{n}"  # one message per option where reactions are the buttons
CARD = "poll"  # the card's kind, for `Context.refresh_card`
RESULT_KEY = "poll:{id}:result"
ANSWERS = (YES, MAYBE, NO)


@dataclass
class Tally:
    """A poll's answers: counts per option (by position), the names behind each answer
    (none for an anonymous poll), and how many members answered at all."""

    counts: list[Count]
    names: list[dict[str, list[str]]] = field(default_factory=list)
    voters: int = 0


class OptionFields(Protocol):
    """What a card shows of an option: a `PollOption`, or a row of its columns (`option_rows`,
    for answering, which only reads them)."""

    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def starts_at(self) -> datetime | None: ...
    @property
    def final_yes(self) -> int | None: ...
    @property
    def final_maybe(self) -> int | None: ...
    @property
    def final_no(self) -> int | None: ...


def is_open(poll: Poll) -> bool:
    return poll.status == "open"


# Every answer runs these: built once, the values as parameters, run through
# `storage.core`. Votes are never objects of a session, so Core writes leave none behind.
_OPTIONS = select(PollOption).where(PollOption.poll_id == bindparam("poll_id")).order_by(
    PollOption.position)
_OPTION_ROWS = core.Statement(_OPTIONS.with_only_columns(
    PollOption.id, PollOption.position, PollOption.label, PollOption.starts_at,
    PollOption.final_yes, PollOption.final_maybe, PollOption.final_no))
_VOTES = core.Statement(
    select(PollVote.option_id, PollVote.answer, PollVote.member_id, Member.display_name)
    .join(Member, Member.id == PollVote.member_id)
    .where(PollVote.poll_id == bindparam("poll_id"))
    .order_by(PollVote.voted_at, PollVote.id))
_ANSWERS_OF = core.Statement(
    select(PollOption.position, PollVote.answer)
    .join(PollOption, PollOption.id == PollVote.option_id)
    .where(PollVote.poll_id == bindparam("poll_id"), PollVote.member_id == bindparam("member_id")))
_FORGET_ANSWERS = core.Statement(delete(PollVote.__table__).where(
    PollVote.__table__.c.poll_id == bindparam("poll_id"),
    PollVote.__table__.c.member_id == bindparam("member_id")))
_ANSWER = core.Statement(insert(PollVote.__table__))


async def options_of(session: AsyncSession, poll_id: int) -> list[PollOption]:
    """The poll's options as objects, to change them (closing freezes their counts)."""
    return list(await session.scalars(_OPTIONS, {"poll_id": poll_id}))


async def option_rows(session: AsyncSession, poll_id: int) -> list[OptionFields]:
    """The poll's options as rows, to read them."""
    return await core.rows(session, _OPTION_ROWS, {"poll_id": poll_id})


async def tally(session: AsyncSession, poll: Poll, options: Sequence[OptionFields]) -> Tally:
    """The counts (frozen ones once closed) and, unless anonymous, who gave each answer."""
    rows = await core.rows(session, _VOTES, {"poll_id": poll.id})
    position = {option.id: option.position for option in options}
    names: list[dict[str, list[str]]] = [{a: [] for a in ANSWERS} for _ in options]
    for option_id, answer, _member, name in rows:
        names[position[option_id]][answer].append(name)
    if not is_open(poll) and all(o.final_yes is not None for o in options):
        counts = [Count(o.final_yes or 0, o.final_maybe or 0, o.final_no or 0) for o in options]
    else:
        counts = [Count(len(n[YES]), len(n[MAYBE]), len(n[NO])) for n in names]
    if poll.anonymous:
        names = [{a: [] for a in ANSWERS} for _ in options]
    return Tally(counts, names, len({member for _, _, member, _ in rows}))


async def counts_for(session: AsyncSession,
                     poll_ids: Iterable[int]) -> dict[int, dict[int, Count]]:
    """Live counts of many polls in one query: poll id → option id → counts."""
    ids = list(poll_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(PollVote.poll_id, PollVote.option_id, PollVote.answer, func.count())
        .where(PollVote.poll_id.in_(ids))
        .group_by(PollVote.poll_id, PollVote.option_id, PollVote.answer))
    raw: dict[int, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for poll_id, option_id, answer, n in rows:
        raw[poll_id][option_id][answer] = n
    return {poll_id: {option_id: Count(a.get(YES, 0), a.get(MAYBE, 0), a.get(NO, 0))
                      for option_id, a in by_option.items()}
            for poll_id, by_option in raw.items()}


async def answers_of(session: AsyncSession, poll_id: int, member_id: int) -> dict[int, str]:
    """A member's answers to a poll: option position → answer."""
    rows = await core.rows(session, _ANSWERS_OF, {"poll_id": poll_id, "member_id": member_id})
    return {position: answer for position, answer in rows}


async def set_answers(session: AsyncSession, poll: Poll, options: Sequence[OptionFields],
                      member_id: int, answers: Mapping[int, str | None], now: datetime,
                      *, replace_all: bool = False) -> tuple[set[int], dict[int, str]]:
    """Record a member's answers by option position (None takes one back). With
    `replace_all`, options not named lose their answer. Returns the positions whose answer
    changed (empty: nothing to do), and the member's answers now."""
    before = await answers_of(session, poll.id, member_id)
    after: dict[int, str] = {} if replace_all else dict(before)
    for position, answer in answers.items():
        if answer is None:
            after.pop(position, None)
        else:
            after[position] = answer
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    if not changed:
        return changed, after
    by_position = {option.position: option for option in options}
    await core.write(session, _FORGET_ANSWERS, {"poll_id": poll.id, "member_id": member_id})
    await core.write(session, _ANSWER, [
        {"poll_id": poll.id, "option_id": by_position[position].id, "member_id": member_id,
         "answer": answer, "voted_at": now} for position, answer in sorted(after.items())])
    return changed, after


async def find(ctx: Context, text: str, usage: str, *, for_update: bool = False) -> Poll:
    """The poll numbered `text` that the sender may act on here, or a refusal with `usage`.

    In a territory's chat, that territory's polls. In a private chat, a poll of the member's
    chosen territory, or of a territory where the member is known (see
    `bot.polls.members`): the reminder sent privately invites them to answer from there."""
    number = number_of(text)
    if number is None:
        ctx.fail("Which poll? Give its number, as in <b>{example}</b>. {list} shows them.",
                 example=usage, list=ctx.cmd("sondaggi"))
    poll = await (locked(ctx.session, Poll, number) if for_update
                  else ctx.session.get(Poll, number))
    here = ctx.territory
    if poll is not None and here is not None and poll.territory_id == here.id:
        return poll
    if poll is not None and ctx.chat.is_private and await is_known(
            ctx.session, poll.territory_id, ctx.member.id):
        return poll
    territory = await ctx.require_territory()
    ctx.fail("There is no poll number {number} in {territory}. {list} shows them.",
             number=number, territory=territory.name, list=ctx.cmd("sondaggi"))


async def territory_of(session: AsyncSession, poll: Poll) -> Territory:
    return await session.get_one(Territory, poll.territory_id)
