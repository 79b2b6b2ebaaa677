"""The ideas part of a digest.

A territory digest lists the ideas proposed in the period, most supported first, and the
facilitators' answers given in it. A staff digest lists the ideas most supported in the
period across territories and, as a standing fact, the ideas waiting for an answer for more
than 14 days. Both count ideas proposed, supports and answers per territory. Hidden ideas are
left out. A handful of queries whatever the number of territories or ideas (see
`bot.digests.sections`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digests.sections import DigestScope, SectionResult, count_rows
from bot.i18n import N_
from bot.ideas import store
from bot.ideas.card import line, status_name
from bot.ideas.parsing import shorten
from bot.messages import Block, Bold, BulletList, Inline, Paragraph, Text
from storage.models.ideas import SUPPORTS_PERIOD_INDEX, Idea, IdeaEvent, IdeaSupport

MAX_IDEAS = 10  # of each kind in one digest
MAX_TOP = 5  # the most supported ideas in a staff digest
MAX_WAITING = 5  # the oldest ideas waiting for an answer, in a staff digest
WAITING = timedelta(days=14)  # an idea without an answer this long is waiting
PROPOSED_METRIC = N_("Ideas proposed")
SUPPORTS_METRIC = N_("Supports to ideas")
ANSWERED_METRIC = N_("Ideas answered")


def _visible(scope: DigestScope) -> tuple:
    return scope.in_territories(Idea.territory_id), Idea.hidden.is_(None)


def _supports(scope: DigestScope) -> Select[tuple[int, ...]]:
    """Supports to the scope's visible ideas in its period, without reading the ideas: a
    support holds its idea's territory, and the few hidden ideas are left out by id. Weeks
    of supports each looked up in `ideas` cost a staff digest half its counting time."""
    hidden = select(Idea.id).where(Idea.hidden.is_not(None))
    query = select().where(scope.in_territories(IdeaSupport.territory_id),
                           IdeaSupport.idea_id.not_in(hidden),
                           *scope.during(IdeaSupport.created_at))
    if scope.for_staff:
        # SQLite, without statistics, would walk every support ever given in territory
        # order (to spare the grouping a sort) rather than the period's.
        query = query.with_hint(IdeaSupport, f"INDEXED BY {SUPPORTS_PERIOD_INDEX}", "sqlite")
    return query


async def ideas_section(session: AsyncSession, scope: DigestScope) -> SectionResult:
    result = SectionResult()
    if scope.counting:
        await _count(session, scope, result)
    if scope.counts_only:
        return result
    if scope.for_staff:
        result.blocks = await _most_supported(session, scope)
        result.standing = await _waiting(session, scope)
    else:
        result.blocks = [*await _proposed(session, scope), *await _answered(session, scope)]
    return result


async def _count(session: AsyncSession, scope: DigestScope, result: SectionResult) -> None:
    """Three grouped queries: ideas proposed (by author), supports (by supporter), answers."""
    visible = _visible(scope)
    result.count_members(PROPOSED_METRIC, await count_rows(session,
        select(Idea.territory_id, Idea.author_id, *scope.tally(Idea.created_at))
        .where(*visible, *scope.during(Idea.created_at))
        .group_by(Idea.territory_id, Idea.author_id)))
    result.count_members(SUPPORTS_METRIC, await count_rows(session,
        _supports(scope).add_columns(IdeaSupport.territory_id, IdeaSupport.member_id,
                                     *scope.tally(IdeaSupport.created_at))
        .group_by(IdeaSupport.territory_id, IdeaSupport.member_id)))
    result.count(ANSWERED_METRIC, await count_rows(session,
        select(Idea.territory_id,
               *scope.tally(IdeaEvent.created_at, IdeaEvent.idea_id, unique=True))
        .join(Idea, Idea.id == IdeaEvent.idea_id)
        .where(*visible, IdeaEvent.kind == "status", *scope.during(IdeaEvent.created_at))
        .group_by(Idea.territory_id)))


async def _proposed(session: AsyncSession, scope: DigestScope) -> list[Block]:
    """The ideas proposed in the period, most supported first."""
    supporters = (select(func.count()).where(IdeaSupport.idea_id == Idea.id)
                  .correlate(Idea).scalar_subquery())
    where = (*_visible(scope), *scope.during(Idea.created_at))
    ideas = list(await session.scalars(
        select(Idea).where(*where).order_by(supporters.desc(), Idea.created_at, Idea.id)
        .limit(MAX_IDEAS + 1)))
    if not ideas:
        return []
    t = scope.t
    blocks: list[Block] = [
        Paragraph(t._("<b>New ideas</b>")),
        BulletList(tuple(line(t, view) for view in await store.views(session,
                                                                      ideas[:MAX_IDEAS])))]
    if len(ideas) > MAX_IDEAS:
        total = await session.scalar(select(func.count()).select_from(Idea).where(*where)) or 0
        command = scope.target.cmd(t.p_("ideas new"))
        blocks.append(Paragraph(t._("The {shown} most supported of {n} new ideas; the newest "
                                    "first: <b>{command}</b>", shown=MAX_IDEAS, n=total,
                                    command=command)))
    return blocks


async def _answered(session: AsyncSession, scope: DigestScope) -> list[Block]:
    """The facilitators' answers given in the period: the last one for each idea."""
    answers = (await session.execute(
        select(Idea, IdeaEvent).join(IdeaEvent, IdeaEvent.idea_id == Idea.id)
        .where(*_visible(scope), IdeaEvent.kind == "status",
               *scope.during(IdeaEvent.created_at))
        .order_by(IdeaEvent.created_at, IdeaEvent.id))).all()
    latest = {idea.id: (idea, event) for idea, event in answers}
    if not latest:
        return []
    t = scope.t
    items = []
    for idea, event in list(latest.values())[-MAX_IDEAS:]:
        said: tuple[Inline, ...] = (
            *scope.place(idea.territory_id), Bold((Text(f"#{idea.id}"),)),
            Text(" " + shorten(idea.text, 60)), Text(" — "),
            Bold((Text(status_name(t, event.status or idea.status)),)))
        if event.note:
            said += (Text(": " + shorten(event.note, 120)),)
        items.append(said)
    return [Paragraph(t._("<b>Answers to ideas</b>")), BulletList(tuple(items))]


async def _most_supported(session: AsyncSession, scope: DigestScope) -> list[Block]:
    """Staff: the ideas that gained the most supports in the period, across territories."""
    gained = func.count().label("gained")
    rows = (await session.execute(
        _supports(scope).add_columns(IdeaSupport.idea_id, gained)
        .group_by(IdeaSupport.idea_id).order_by(gained.desc(), IdeaSupport.idea_id)
        .limit(MAX_TOP))).all()
    if not rows:
        return []
    ideas = {i.id: i for i in await session.scalars(
        select(Idea).where(Idea.id.in_([idea_id for idea_id, _ in rows])))}
    views = await store.views(session, [ideas[idea_id] for idea_id, _ in rows])
    t = scope.t
    items = tuple((*scope.place(view.idea.territory_id), *line(t, view), Text(" "),
                   *t._("(+{n} in this period)", n=n))
                  for view, (_, n) in zip(views, rows, strict=True))
    return [Paragraph(t._("<b>Most supported ideas</b>")), BulletList(items)]


async def _waiting(session: AsyncSession, scope: DigestScope) -> list[Block]:
    """Staff: visible ideas still without an answer (status new) WAITING after they were
    proposed — the oldest, and how many."""
    where = (*_visible(scope), Idea.status == "new", Idea.created_at < scope.end - WAITING)
    oldest = list(await session.scalars(
        select(Idea).where(*where).order_by(Idea.created_at, Idea.id).limit(MAX_WAITING)))
    if not oldest:
        return []
    total = await session.scalar(select(func.count()).select_from(Idea).where(*where)) or 0
    t = scope.t
    items = tuple((*scope.place(idea.territory_id), Bold((Text(f"#{idea.id}"),)),
                   Text(" " + shorten(idea.text, 60) + " — "),
                   *t.n_("proposed {n} day ago", "proposed {n} days ago",
                         (scope.end - idea.created_at).days))
                  for idea in oldest)
    title = t.n_("<b>Waiting for an answer for more than {days} days:</b> one idea",
                 "<b>Waiting for an answer for more than {days} days:</b> {n} ideas",
                 total, days=WAITING.days)
    blocks: list[Block] = [Paragraph(title), BulletList(items)]
    if total > len(oldest):
        blocks.append(Paragraph(t._("The oldest {n} are above.", n=len(oldest))))
    return blocks
