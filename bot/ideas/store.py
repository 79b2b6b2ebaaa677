"""Reading and writing ideas in the database, with a bounded number of queries.

An `IdeaView` is what a card or a list line shows: the idea, its author's name, its themes
and its number of supporters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, get_args

from sqlalchemy import ColumnElement, bindparam, case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ideas.parsing import OPEN_STATUSES, Order
from storage import core
from storage.db import insert_or_skip
from storage.models import Member, Territory
from storage.models.ideas import Idea, IdeaEvent, IdeaReport, IdeaSupport, IdeaTheme

DAY = timedelta(hours=24)
# How `/idee stato` groups ideas: what is being discussed first, what is settled last.
STATUS_ORDER = ("discussing", "new", "adopted", "set_aside")


class IdeaFields(Protocol):
    """What a view shows of an idea: an `Idea`, or a row of its columns (`listing`)."""

    @property
    def id(self) -> int: ...
    @property
    def territory_id(self) -> int: ...
    @property
    def author_id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def answer(self) -> str | None: ...
    @property
    def hidden(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


# The columns of an idea that `IdeaFields` names, for the statements that read them.
IDEA_FIELDS = (Idea.id, Idea.territory_id, Idea.author_id, Idea.text, Idea.status, Idea.answer,
               Idea.hidden, Idea.created_at)


@dataclass(frozen=True)
class IdeaView:
    idea: IdeaFields
    author: str
    themes: tuple[str, ...]
    supporters: int


def _supporters() -> ColumnElement[int]:
    """How many members support the idea of the enclosing query."""
    return (select(func.count()).where(IdeaSupport.idea_id == Idea.id)
            .correlate(Idea).scalar_subquery())


# The statements of the most frequent commands, built once (the values are parameters):
# building a statement costs about as much as running it (bench/README.md). They run
# through `storage.core`, which skips the ORM's own costs.
_THEMES_OF = core.Statement(select(IdeaTheme.idea_id, IdeaTheme.theme).where(
    IdeaTheme.idea_id.in_(bindparam("ids", expanding=True))))
_AUTHORS_AND_SUPPORTERS_OF = core.Statement(
    select(Idea.id, Member.display_name, _supporters())
    .outerjoin(Member, Member.id == Idea.author_id)
    .where(Idea.id.in_(bindparam("ids", expanding=True))))
_VIEW_OF = core.Statement(
    select(*IDEA_FIELDS, Member.display_name.label("author"), _supporters().label("supporters"))
    .outerjoin(Member, Member.id == Idea.author_id)
    .where(Idea.id == bindparam("id")))
_OPEN_IN = core.Statement(
    select(Idea.id, Idea.text)
    .where(Idea.territory_id == bindparam("territory_id"), Idea.hidden.is_(None),
           Idea.status.in_(OPEN_STATUSES))
    .order_by(Idea.id))
_SUBMITTED_SINCE = core.Statement(
    select(Idea.created_at)
    .where(Idea.author_id == bindparam("author_id"), Idea.created_at > bindparam("since"))
    .order_by(Idea.created_at))
_SUPPORT = {dialect: core.Statement(insert_or_skip(dialect, IdeaSupport.__table__)
                                    .on_conflict_do_nothing(
                                        index_elements=[IdeaSupport.idea_id,
                                                        IdeaSupport.member_id]))
            for dialect in ("sqlite", "postgresql")}


async def create_idea(session: AsyncSession, territory: Territory, author: Member, text: str,
                      themes: Sequence[str], now: datetime) -> Idea:
    idea = Idea(territory_id=territory.id, author_id=author.id, text=text, status="new",
                created_at=now, updated_at=now)
    session.add(idea)
    await session.flush()
    session.add_all(IdeaTheme(idea_id=idea.id, theme=theme) for theme in themes)
    await session.flush()
    return idea


async def views(session: AsyncSession, ideas: Sequence[IdeaFields]) -> list[IdeaView]:
    """The views of `ideas`, in their order: two queries whatever their number."""
    ids = [idea.id for idea in ideas]
    if not ids:
        return []
    themes = await _themes_of(session, ids)
    found = {idea_id: (name, count) for idea_id, name, count in await core.rows(
        session, _AUTHORS_AND_SUPPORTERS_OF, {"ids": ids})}
    return [IdeaView(idea, found[idea.id][0] or "?", themes.get(idea.id, ()),
                     found[idea.id][1]) for idea in ideas]


async def _themes_of(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The themes of each of these ideas, sorted (an idea without any is left out)."""
    themes: dict[int, list[str]] = {}
    for idea_id, theme in await core.rows(session, _THEMES_OF, {"ids": ids}):
        themes.setdefault(idea_id, []).append(theme)
    return {idea_id: tuple(sorted(names)) for idea_id, names in themes.items()}


async def view(session: AsyncSession, idea: IdeaFields) -> IdeaView:
    return (await views(session, [idea]))[0]


async def view_of(session: AsyncSession, idea_id: int) -> IdeaView | None:
    """The view of idea `idea_id`, to read it: a row with its author and supporters, and
    its themes; no object for the session (an `Idea` it does not hold yet costs an ORM load
    more than both queries together)."""
    found = await core.rows(session, _VIEW_OF, {"id": idea_id})
    if not found:
        return None
    idea = found[0]
    themes = await _themes_of(session, [idea_id])
    return IdeaView(idea, idea.author or "?", themes.get(idea_id, ()), idea.supporters)


async def listing(session: AsyncSession, territory: Territory, *, order: Order,
                  theme: str | None, limit: int) -> tuple[list[IdeaView], int]:
    """Visible ideas of a territory (with `theme`, if given) in `order`: the first `limit`
    and how many there are in all. Supporters are counted for the territory's ideas only,
    each through the supports' primary key: the cost grows with the territory's ideas, not
    with every support the cooperative ever gave (bench/README.md)."""
    first, count = _LISTINGS[order, theme is not None]
    params = {"territory_id": territory.id, "theme": theme, "limit": limit}
    rows = await core.rows(session, first, params)
    ((total,),) = await core.rows(session, count, params)
    themes = await _themes_of(session, [row.id for row in rows]) if rows else {}
    return [IdeaView(row, row.author or "?", themes.get(row.id, ()), row.supporters)
            for row in rows], total


def _listing(order: Order, themed: bool) -> tuple[core.Statement, core.Statement]:
    """The statements of `listing`: its first ideas (the columns a view shows, with their
    author's name and supporters), and how many there are."""
    supporters = _supporters().label("supporters")
    where = [Idea.territory_id == bindparam("territory_id"), Idea.hidden.is_(None)]
    if themed:
        where.append(Idea.id.in_(select(IdeaTheme.idea_id)
                                 .where(IdeaTheme.theme == bindparam("theme"))))
    ordering = {
        "top": (supporters.desc(), Idea.id),
        "newest": (Idea.created_at.desc(), Idea.id.desc()),
        "status": (_status_rank(), supporters.desc(), Idea.id),
    }[order]
    first = (select(*IDEA_FIELDS, Member.display_name.label("author"), supporters)
             .outerjoin(Member, Member.id == Idea.author_id)
             .where(*where).order_by(*ordering).limit(bindparam("limit")))
    return (core.Statement(first),
            core.Statement(select(func.count()).select_from(Idea).where(*where)))


def _status_rank() -> ColumnElement[int]:
    return case({status: rank for rank, status in enumerate(STATUS_ORDER)}, value=Idea.status,
                else_=len(STATUS_ORDER))


# Built once, as the other frequent statements: building one costs more than running it.
_LISTINGS = {(order, themed): _listing(order, themed)
             for order in get_args(Order) for themed in (False, True)}


async def open_ideas(session: AsyncSession, territory: Territory) -> list[tuple[int, str]]:
    """(id, text) of the territory's visible ideas still open (new or being discussed)."""
    rows = await core.rows(session, _OPEN_IN, {"territory_id": territory.id})
    return [(ident, text) for ident, text in rows]


async def recent_by(session: AsyncSession, member: Member, now: datetime) -> list[datetime]:
    """When the member submitted ideas in the last 24 hours, oldest first."""
    rows = await core.rows(session, _SUBMITTED_SINCE, {"author_id": member.id, "since": now - DAY})
    return [created_at for (created_at,) in rows]


async def _insert_once(session: AsyncSession, row: IdeaReport) -> bool:
    """Insert a row a unique key allows once; False if it was already there (also when a
    concurrent transaction inserted it first)."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def add_support(session: AsyncSession, idea: IdeaFields, member: Member,
                      now: datetime) -> bool:
    """False if the member already supported the idea (also when a concurrent transaction
    recorded it first): one statement."""
    return bool(await core.write(session, _SUPPORT[session.get_bind().dialect.name], {
        "idea_id": idea.id, "member_id": member.id, "territory_id": idea.territory_id,
        "created_at": now}))


async def remove_support(session: AsyncSession, idea: IdeaFields, member: Member) -> bool:
    result = await session.execute(delete(IdeaSupport).where(
        IdeaSupport.idea_id == idea.id, IdeaSupport.member_id == member.id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def supporter_ids(session: AsyncSession, idea: Idea) -> list[int]:
    rows = await session.scalars(select(IdeaSupport.member_id).where(IdeaSupport.idea_id == idea.id)
                                 .order_by(IdeaSupport.created_at, IdeaSupport.member_id))
    return list(rows)


async def add_report(session: AsyncSession, idea: Idea, member: Member, reason: str | None,
                     now: datetime) -> bool:
    known = await session.scalar(select(IdeaReport.id).where(
        IdeaReport.idea_id == idea.id, IdeaReport.member_id == member.id))
    if known is not None:
        return False
    return await _insert_once(session, IdeaReport(idea_id=idea.id, member_id=member.id,
                                                  reason=reason, created_at=now))


async def pending_reports(session: AsyncSession, idea: Idea) -> int:
    """Reports no facilitator has reviewed yet."""
    return await session.scalar(select(func.count()).select_from(IdeaReport).where(
        IdeaReport.idea_id == idea.id, IdeaReport.reviewed_at.is_(None))) or 0


async def mark_reports_reviewed(session: AsyncSession, idea: Idea, now: datetime) -> None:
    await session.execute(update(IdeaReport).where(
        IdeaReport.idea_id == idea.id, IdeaReport.reviewed_at.is_(None)).values(reviewed_at=now))


async def record(session: AsyncSession, idea: Idea, kind: str, now: datetime, *,
                 actor: Member | None = None, status: str | None = None,
                 note: str | None = None) -> None:
    """A step of the idea's history; the idea's `updated_at` follows."""
    session.add(IdeaEvent(idea_id=idea.id, kind=kind, status=status, note=note,
                          actor_id=actor.id if actor else None, created_at=now))
    idea.updated_at = now


async def history(session: AsyncSession, idea: Idea) -> list[tuple[IdeaEvent, str | None]]:
    """The idea's events, oldest first, with the name of who acted (None: the members'
    reports)."""
    rows = await session.execute(
        select(IdeaEvent, Member.display_name).outerjoin(Member, Member.id == IdeaEvent.actor_id)
        .where(IdeaEvent.idea_id == idea.id).order_by(IdeaEvent.created_at, IdeaEvent.id))
    return [(event, name) for event, name in rows]
