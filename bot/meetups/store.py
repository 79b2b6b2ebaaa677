"""Reading meetups: finding the one a command names, and counting its answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context, Services
from bot.outbox import Outbox
from storage import core
from storage.db import locked
from storage.models import Member
from storage.models.meetups import Meetup, MeetupAnswer

GOING, WAITING, MAYBE, NO = "going", "waiting", "maybe", "no"
KEY = "meetup:{id}"  # the card's message key, the same in every chat
CARD = "meetup"  # the card's kind, for `Context.refresh_card`


class Scope(Protocol):
    """What both a use case (`Context`) and a scheduled job (`JobContext`) offer."""

    session: AsyncSession
    services: Services
    outbox: Outbox
    now: datetime


@dataclass
class Tally:
    """The answers to one meetup: names of who goes and who waits (in order), counts."""

    going: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    maybe: int = 0
    no: int = 0


def number_of(text: str) -> int | None:
    """A meetup number as typed: `3`, `#3` or `n.3`; None if it is not one."""
    digits = text.strip().lstrip("#").removeprefix("n.").strip()
    if digits.isdecimal() and len(digits) <= 9:  # isdigit() takes "¹", which int() refuses
        return int(digits)
    return None


async def find(ctx: Context, text: str, usage: str, *, for_update: bool = False) -> Meetup:
    """The meetup numbered `text` in this chat's territory, or a refusal showing `usage`."""
    territory = await ctx.require_territory()
    number = number_of(text)
    if number is None:
        ctx.fail("Which meetup? Give its number, as in <b>{example}</b>. {list} shows them.",
                 example=usage, list=ctx.cmd("incontri"))
    meetup = await (locked(ctx.session, Meetup, number) if for_update
                    else ctx.session.get(Meetup, number))
    if meetup is None or meetup.territory_id != territory.id:
        ctx.fail("There is no meetup number {number} in {territory}. {list} shows them.",
                 number=number, territory=territory.name, list=ctx.cmd("incontri"))
    return meetup


_TALLY = core.Statement(  # built once: every answer runs it
    select(MeetupAnswer.answer, Member.display_name)
    .join(Member, Member.id == MeetupAnswer.member_id)
    .where(MeetupAnswer.meetup_id == bindparam("meetup_id"))
    .order_by(MeetupAnswer.queue, MeetupAnswer.answered_at, MeetupAnswer.id))


async def tally(session: AsyncSession, meetup_id: int) -> Tally:
    rows = await core.rows(session, _TALLY, {"meetup_id": meetup_id})
    result = Tally()
    for answer, name in rows:
        if answer == GOING:
            result.going.append(name)
        elif answer == WAITING:
            result.waiting.append(name)
        elif answer == MAYBE:
            result.maybe += 1
        else:
            result.no += 1
    return result


async def members_answering(session: AsyncSession, meetup_id: int,
                            answers: tuple[str, ...] = (GOING, WAITING, MAYBE)) -> list[int]:
    """Member ids with one of `answers`: by default, everyone who may still come."""
    rows = await session.scalars(
        select(MeetupAnswer.member_id).where(MeetupAnswer.meetup_id == meetup_id,
                                             MeetupAnswer.answer.in_(answers))
        .order_by(MeetupAnswer.id))
    return list(rows)


def is_open(meetup: Meetup, now: datetime) -> bool:
    """Scheduled and not started: answers and changes are still possible."""
    return meetup.status == "scheduled" and meetup.starts_at > now
