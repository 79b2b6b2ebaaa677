"""Looking at meetups: /incontri (upcoming, past, all territories) and /calendario (.ics)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import words
from bot.context import Context
from bot.i18n import Translator
from bot.meetups import card, ics
from bot.meetups.store import GOING, MAYBE, NO, WAITING, find
from bot.messages import Attachment, BulletList, Inline, OutMessage, Paragraph, RichText, rich
from storage.models import Member, Territory
from storage.models.meetups import Meetup, MeetupAnswer

SHOWN = 20
PAST_WORDS = {"passati", "past", "passato"}
ALL_WORDS = {"tutti", "all", "tutto"}


async def answer_counts(session: AsyncSession,
                        ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Meetup id → answer → how many, in one query."""
    rows = await session.execute(
        select(MeetupAnswer.meetup_id, MeetupAnswer.answer, func.count())
        .where(MeetupAnswer.meetup_id.in_(ids))
        .group_by(MeetupAnswer.meetup_id, MeetupAnswer.answer))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for meetup_id, answer, n in rows:
        counts[meetup_id][answer] = n
    return counts


def line(t: Translator, zone: tzinfo, meetup: Meetup, counts: dict[str, int], *, past: bool,
         territory: str | None = None) -> tuple[Inline, ...]:
    """One meetup in a list (here and in digests): number, date, title, answers."""
    head = t._("no. {number} · {when} · <b>{title}</b>", number=meetup.id,
               when=t.when(meetup.starts_at, zone), title=meetup.title)
    if territory:
        head = t._("{territory} · {meetup}", territory=territory, meetup=head)
    going = counts.get(GOING, 0)
    if past:
        answers = t.n_("{n} person had said they would be there",
                       "{n} people had said they would be there", going)
    elif counts.get(WAITING):
        answers = t._("going {going} (and {waiting} waiting), maybe {maybe}, not going {no}",
                      going=going, waiting=counts[WAITING], maybe=counts.get(MAYBE, 0),
                      no=counts.get(NO, 0))
    else:
        answers = t._("going {going}, maybe {maybe}, not going {no}", going=going,
                      maybe=counts.get(MAYBE, 0), no=counts.get(NO, 0))
    return t._("{meetup} — {answers}", meetup=head, answers=answers)


async def list_command(ctx: Context, args: str) -> None:
    """/incontri [passati|tutti]."""
    option = (words(args) or [""])[0].casefold()
    if option and option not in PAST_WORDS | ALL_WORDS:
        past_word = ctx.t.p_("past")
        ctx.fail("Write {upcoming} for the coming meetups, or {past} for the past ones.",
                 upcoming=ctx.cmd("incontri"), past=ctx.cmd(f"incontri {past_word}"))
    everywhere = option in ALL_WORDS
    past = option in PAST_WORDS
    query = select(Meetup, Territory.name).join(Territory, Territory.id == Meetup.territory_id)
    if everywhere:
        ctx.require_staff()
    else:
        territory = await ctx.require_territory()
        query = query.where(Meetup.territory_id == territory.id)
    if past:
        query = query.where(Meetup.status == "scheduled", Meetup.starts_at <= ctx.now)
        query = query.order_by(Meetup.starts_at.desc(), Meetup.id.desc())
    else:
        query = query.where(Meetup.status == "scheduled", Meetup.starts_at > ctx.now)
        query = query.order_by(Meetup.starts_at, Meetup.id)
    rows = (await ctx.session.execute(query.limit(SHOWN + 1))).all()
    where = ctx.t.p_("all territories") if everywhere else territory.name
    if not rows:
        if past:
            await ctx.reply(ctx.t._("No past meetups in {territory}.", territory=where))
        else:
            await ctx.reply(ctx.t._("No meetups planned in {territory}. Propose one: "
                                    "<b>{example}</b>", territory=where,
                                    example=ctx.cmd("incontro")))
        return
    counts = await answer_counts(ctx.session, [m.id for m, _ in rows[:SHOWN]])
    items = tuple(line(ctx.t, ctx.zone, meetup, counts[meetup.id], past=past,
                       territory=name if everywhere else None)
                  for meetup, name in rows[:SHOWN])
    title = (ctx.t._("<b>Past meetups in {territory}</b>", territory=where) if past
             else ctx.t._("<b>Coming meetups in {territory}</b>", territory=where))
    blocks: list[Paragraph | BulletList] = [Paragraph(title), BulletList(items)]
    if len(rows) > SHOWN:
        blocks.append(Paragraph(ctx.t._("Only the first {n} are shown.", n=SHOWN)))
    elif not past and not everywhere:
        blocks.append(Paragraph(ctx.t._("To answer: <b>{example}</b>", example=ctx.cmd(
            f"partecipo {rows[0][0].id} {card.answer_word(ctx.t, GOING)}"))))
    await ctx.reply(RichText(tuple(blocks)))


# --- calendar files ---------------------------------------------------------------------


async def _with_organisers(session: AsyncSession,
                           meetups: Sequence[Meetup]) -> list[tuple[Meetup, str]]:
    ids = {m.organiser_id for m in meetups}
    names = dict((await session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(ids)))).all())
    return [(m, names.get(m.organiser_id, "?")) for m in meetups]


async def meetup_file(ctx: Context, meetup: Meetup) -> Attachment:
    return ics.attachment(await _with_organisers(ctx.session, [meetup]), ctx.zone, ctx.t,
                          ctx.now, meetup.title,
                          ctx.t.p_("meetup-{number}", number=meetup.id))


def _file_message(ctx: Context, meetup: Meetup, file: Attachment) -> OutMessage:
    return OutMessage(text=rich(ctx.t._("📅 <b>{title}</b>, {when}: open the file to add it "
                                        "to your calendar.", title=meetup.title,
                                        when=ctx.t.when(meetup.starts_at, ctx.zone))),
                      attachment=file)


async def calendar_command(ctx: Context, args: str) -> None:
    """/calendario [N]: one meetup, or all the coming ones of the territory, as .ics."""
    territory = await ctx.require_territory()
    parts = words(args)
    if parts:
        meetup = await find(ctx, parts[0], ctx.cmd("calendario 3"))
        await ctx.reply(_file_message(ctx, meetup, await meetup_file(ctx, meetup)))
        return
    meetups = (await ctx.session.scalars(
        select(Meetup).where(Meetup.territory_id == territory.id, Meetup.status == "scheduled",
                             Meetup.starts_at > ctx.now).order_by(Meetup.starts_at))).all()
    if not meetups:
        ctx.fail("No meetups planned in {territory}. Propose one: <b>{example}</b>",
                 territory=territory.name, example=ctx.cmd("incontro"))
    name = ctx.t.p_("Meetups in {territory}", territory=territory.name)
    file = ics.attachment(await _with_organisers(ctx.session, meetups), ctx.zone, ctx.t,
                          ctx.now, name, name)
    await ctx.reply(OutMessage(
        text=rich(ctx.t.n_("📅 The coming meetup in {territory}: open the file to add it to "
                           "your calendar.",
                           "📅 The {n} coming meetups in {territory}: open the file to add "
                           "them to your calendar.", len(meetups), territory=territory.name)),
        attachment=file))


async def calendar_action(ctx: Context, payload: dict, undo: bool) -> str:
    """The card's "Calendar" button: the file privately where the platform allows it (a
    file for every press would crowd the group), else in the chat."""
    meetup = await ctx.session.get(Meetup, payload["meetup"])
    if meetup is None:
        return ctx.t.p_("This meetup no longer exists.")
    if undo:
        return ""
    message = _file_message(ctx, meetup, await meetup_file(ctx, meetup))
    if ctx.here.caps.direct_messages and not ctx.chat.is_private:
        zone = ctx.territory.timezone if ctx.territory else None
        await ctx.outbox.post(ctx.outbox.person_target(ctx.identity, ctx.chat.locale, zone),
                              message)
        return ctx.t.p_("I sent you the calendar file privately.")
    await ctx.reply(message)
    return ctx.t.p_("Here is the calendar file.")
