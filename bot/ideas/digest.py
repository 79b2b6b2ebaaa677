"""The ideas part of a digest: ideas proposed in the period, and the facilitators' answers
given in it. Hidden ideas are left out. A handful of queries whatever the number of
territories or ideas (see `bot.digests.sections`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.digests.sections import DigestScope, SectionResult
from bot.i18n import N_
from bot.ideas import store
from bot.ideas.card import line, status_name
from bot.ideas.parsing import shorten
from bot.messages import Block, Bold, BulletList, Inline, Paragraph, Text
from storage.models.ideas import Idea, IdeaEvent, IdeaSupport

MAX_IDEAS = 10  # of each kind in one digest
PROPOSED_METRIC = N_("Ideas proposed")
SUPPORTS_METRIC = N_("Supports to ideas")
ANSWERED_METRIC = N_("Ideas answered")


async def ideas_section(session: AsyncSession, scope: DigestScope) -> SectionResult:
    ids = scope.territory_ids
    visible = (Idea.territory_id.in_(ids), Idea.hidden.is_(None))
    proposed_in = (*visible, Idea.created_at >= scope.start, Idea.created_at < scope.end)
    proposed = list(await session.scalars(
        select(Idea).where(*proposed_in).order_by(Idea.created_at, Idea.id).limit(MAX_IDEAS)))
    proposed_count = await session.scalar(
        select(func.count()).select_from(Idea).where(*proposed_in)) or 0
    answers = list((await session.execute(
        select(Idea, IdeaEvent).join(IdeaEvent, IdeaEvent.idea_id == Idea.id)
        .where(*visible, IdeaEvent.kind == "status", IdeaEvent.created_at >= scope.start,
               IdeaEvent.created_at < scope.end)
        .order_by(IdeaEvent.created_at, IdeaEvent.id))).all())
    latest = {idea.id: (idea, event) for idea, event in answers}  # the last answer of each
    answered = list(latest.values())[-MAX_IDEAS:]
    supporters = list(await session.scalars(
        select(IdeaSupport.member_id).join(Idea, Idea.id == IdeaSupport.idea_id)
        .where(*visible, IdeaSupport.created_at >= scope.start,
               IdeaSupport.created_at < scope.end)))
    metrics = {PROPOSED_METRIC: proposed_count, SUPPORTS_METRIC: len(supporters),
               ANSWERED_METRIC: len(latest)}
    active = set(supporters) | {idea.author_id for idea in proposed}
    if not proposed and not answered:
        return SectionResult(active_members=active, metrics=metrics)
    t = scope.t
    names = {territory.id: territory.name for territory in scope.territories}

    def where(idea: Idea) -> tuple[Inline, ...]:
        return (Text(f"{names[idea.territory_id]} · "),) if scope.for_staff else ()

    blocks: list[Block] = []
    if proposed:
        blocks.append(Paragraph(t._("<b>New ideas</b>")))
        blocks.append(BulletList(tuple(
            (*where(view.idea), *line(t, view))
            for view in await store.views(session, proposed))))
    if answered:
        items = []
        for idea, event in answered:
            said: tuple[Inline, ...] = (
                *where(idea), Bold((Text(f"#{idea.id}"),)), Text(" " + shorten(idea.text, 60)),
                Text(" — "), Bold((Text(status_name(t, event.status or idea.status)),)))
            if event.note:
                said += (Text(": " + shorten(event.note, 120)),)
            items.append(said)
        blocks.append(Paragraph(t._("<b>Answers to ideas</b>")))
        blocks.append(BulletList(tuple(items)))
    return SectionResult(blocks, active, metrics)
