"""Creating, changing and cancelling meetups: /incontro (in one line), /modifica,
/annulla_incontro. The guided form (`bot.meetups.guided`) and date polls create through
`create` too."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.commands import fields as split_fields
from bot.context import Context
from bot.i18n import N_
from bot.meetups import answers, card, fields, ics, reminders
from bot.meetups.notify import tell
from bot.meetups.store import GOING, find, is_open, members_answering
from bot.messages import Inline, OutMessage, rich
from bot.outbox import Target
from storage.models import Conversation, Territory
from storage.models.meetups import Meetup

GUIDED = "meetup.new"  # the guided conversation's kind (see bot.meetups.guided)


@dataclass
class Draft:
    title: str
    starts_at: datetime
    place: str
    description: str | None = None
    capacity: int | None = None


def create_example(ctx: Context) -> str:
    return ctx.cmd("incontro " + ctx.t.p_("Social dinner | next Saturday at 7pm | "
                                          "Trattoria da Mario | seats: 20"))


async def create_in_one_line(ctx: Context, args: str) -> None:
    """/incontro TITOLO | QUANDO | DOVE [| DESCRIZIONE] [| posti: N]."""
    territory = await ctx.require_territory()
    parts = split_fields(args)
    if not 3 <= len(parts) <= 5:
        ctx.fail("Write the title, when and where, separated by |; a description and the "
                 "seats can follow. Example: <b>{example}</b> — or send <b>{alone}</b> alone and "
                 "I will ask step by step.", example=create_example(ctx),
                 alone=ctx.cmd("incontro"))
    draft = Draft(fields.title(ctx, parts[0]), fields.when(ctx, parts[1]),
                  fields.place(ctx, parts[2]))
    for extra in parts[3:]:
        seats = fields.seats_field(extra)
        if seats is not None and draft.capacity is None:
            draft.capacity = fields.capacity(ctx, seats)
        elif seats is None and draft.description is None:
            draft.description = fields.description(ctx, extra)
        else:
            ctx.fail("One description and one number of seats at most. Example: "
                     "<b>{example}</b>", example=create_example(ctx))
    waiting = await ctx.session.get(Conversation, (ctx.chat.id, ctx.member.id))
    if waiting is not None and waiting.kind == GUIDED:
        await ctx.session.delete(waiting)
    await create(ctx, territory, draft)


async def create(ctx: Context, territory: Territory, draft: Draft) -> Meetup:
    """The meetup, its reminders, the organiser's "going", and the card in every chat."""
    meetup = Meetup(uid=f"{uuid.uuid4()}@piazzabot", territory_id=territory.id,
                    organiser_id=ctx.member.id, title=draft.title, starts_at=draft.starts_at,
                    place=draft.place, description=draft.description, capacity=draft.capacity,
                    status="scheduled", sequence=0, created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(meetup)
    await ctx.session.flush()
    await reminders.schedule(ctx.session, meetup, ctx.now)
    await answers.set_answer(ctx, meetup, ctx.member.id, GOING)
    chats = await card.publish(ctx, meetup)
    date_word, example = ctx.t.p_("date"), ctx.t.p_("next Saturday at 7pm")
    fix = ctx.cmd(f"modifica {meetup.id} {date_word} {example}")
    lines = [ctx.t._("Meetup no. {number} is on <b>{when}</b>. Wrong date? <b>{fix}</b>",
                     number=meetup.id, when=ctx.t.when(meetup.starts_at, ctx.zone), fix=fix)]
    if not chats:
        lines.append(ctx.t._("{territory} has no chat I can post it in yet: it is in "
                             "{list}.", territory=territory.name, list=ctx.cmd("incontri")))
    elif ctx.chat.territory_id != territory.id:
        lines.append(ctx.t.n_("It is in the chat of {territory}.",
                              "It is in the {n} chats of {territory}.", chats,
                              territory=territory.name))
    await ctx.reply(rich(*lines))
    return meetup


async def _require_manager(ctx: Context, meetup: Meetup) -> None:
    territory = await ctx.require_territory()
    if meetup.organiser_id != ctx.member.id and not await ctx.is_facilitator(territory):
        ctx.fail("Only the organiser of the meetup and the facilitators of {territory} can do "
                 "this.", territory=territory.name)
    if meetup.status == "cancelled":
        ctx.fail("Meetup no. {number} was cancelled.", number=meetup.id)
    if not is_open(meetup, ctx.now):
        ctx.fail("Meetup no. {number} has already started: it can no longer be changed.",
                 number=meetup.id)


# --- /modifica --------------------------------------------------------------------------

FIELDS = {
    "title": ("titolo", "title", "nome", "name"),
    "date": ("data", "quando", "date", "when", "ora", "time"),
    "place": ("luogo", "dove", "place", "where"),
    "description": ("descrizione", "description"),
    "capacity": ("posti", "capacity", "seats", "capienza"),
}
FIELD_LABELS = {
    "title": N_("title"), "date": N_("date"), "place": N_("place"),
    "description": N_("description"), "capacity": N_("seats"),
}
_FIELD_OF = {name: field for field, names in FIELDS.items() for name in names}


def _shown(target: Target, field: str, value: object) -> str:
    """A field's value as a notice shows it, in the target's language and zone."""
    if field == "date" and isinstance(value, datetime):
        return target.t.when(value, target.zone)
    if value is None:
        return target.t.p_("no limit") if field == "capacity" else "—"
    return str(value)


async def edit_command(ctx: Context, args: str) -> None:
    """/modifica N campo valore."""
    place_word = ctx.t.p_("place")
    example = ctx.cmd(f"modifica 3 {place_word} Bar Centrale")
    parts = args.split(None, 2)
    names = ", ".join(ctx.t.gettext(label) for label in FIELD_LABELS.values())
    if len(parts) < 3 or parts[1].casefold() not in _FIELD_OF:
        ctx.fail("Write the number, what to change and the new value. Example: "
                 "<b>{example}</b>. You can change: {fields}.", example=example, fields=names)
    meetup = await find(ctx, parts[0], example, for_update=True)
    await _require_manager(ctx, meetup)
    field, raw = _FIELD_OF[parts[1].casefold()], parts[2]
    attribute = "starts_at" if field == "date" else field
    before = getattr(meetup, attribute)
    promoted: list[int] = []
    if field == "title":
        meetup.title = fields.title(ctx, raw)
    elif field == "date":
        meetup.starts_at = fields.when(ctx, raw)
    elif field == "place":
        meetup.place = fields.place(ctx, raw)
    elif field == "description":
        meetup.description = fields.description(ctx, raw)
    else:
        meetup.capacity = fields.capacity(ctx, raw)
    after = getattr(meetup, attribute)
    if after == before:
        ctx.fail("Nothing changes: the {field} is already that.",
                 field=ctx.t.gettext(FIELD_LABELS[field]))
    if field == "date":
        await reminders.forget_sent(ctx.session, meetup)
        await reminders.schedule(ctx.session, meetup, ctx.now)
    if field == "capacity":
        promoted = await answers.fill_places(ctx.session, meetup)
    meetup.sequence += 1
    meetup.updated_at = ctx.now
    await ctx.session.flush()
    await card.publish(ctx, meetup)

    def notice(target: Target) -> list[tuple[Inline, ...]]:
        t = target.t
        return [t._("Meetup no. {number}, <b>{title}</b>, has changed.", number=meetup.id,
                    title=meetup.title),
                t._("<b>{field}</b>: now {new} (it was {old}).",
                    field=t.gettext(FIELD_LABELS[field]).capitalize(),
                    new=_shown(target, field, after), old=_shown(target, field, before))]

    told = await _tell_answering(ctx, meetup, notice)
    await answers.announce_promotions(ctx, meetup, promoted)
    await ctx.reply(rich(ctx.t.n_(
        "Done. {n} person who answered going or maybe has been told.",
        "Done. {n} people who answered going or maybe have been told.", told)
        if told else ctx.t._("Done.")))


# --- /annulla_incontro ------------------------------------------------------------------


async def cancel_command(ctx: Context, args: str) -> None:
    """/annulla_incontro N [motivo]."""
    reason = ctx.t.p_("bad weather")
    example = ctx.cmd(f"annulla_incontro 3 {reason}")
    parts = args.split(None, 1)
    if not parts:
        ctx.fail("Which meetup? Example: <b>{example}</b>", example=example)
    meetup = await find(ctx, parts[0], example, for_update=True)
    await _require_manager(ctx, meetup)
    meetup.cancel_reason = fields.reason(ctx, parts[1]) if len(parts) > 1 else None
    meetup.status = "cancelled"
    meetup.sequence += 1
    meetup.updated_at = ctx.now
    await ctx.session.flush()
    await reminders.schedule(ctx.session, meetup, ctx.now)  # drops the unsent ones
    await card.publish(ctx, meetup)

    def notice(target: Target) -> list[tuple[Inline, ...]]:
        t = target.t
        lines = [t._("Meetup no. {number}, <b>{title}</b>, has been cancelled.",
                     number=meetup.id, title=meetup.title)]
        if meetup.cancel_reason:
            lines.append(t._("Reason: {reason}", reason=meetup.cancel_reason))
        return lines

    told = await _tell_answering(ctx, meetup, notice)
    await ctx.reply(rich(ctx.t.n_(
        "Meetup no. {number} is cancelled. {n} person who answered going or maybe has been "
        "told.",
        "Meetup no. {number} is cancelled. {n} people who answered going or maybe have been "
        "told.",
        told, number=meetup.id) if told else ctx.t._("Meetup no. {number} is cancelled.",
                                                     number=meetup.id)))


# --- shared -----------------------------------------------------------------------------


async def _tell_answering(ctx: Context, meetup: Meetup,
                          lines: Callable[[Target], list[tuple[Inline, ...]]]) -> int:
    """Tell those going, waiting or maybe (except whoever made the change) what happened,
    with the updated calendar file attached where they get it privately; how many."""
    member_ids = [m for m in await members_answering(ctx.session, meetup.id)
                  if m != ctx.member.id]
    territory = await ctx.session.get_one(Territory, meetup.territory_id)
    organiser = await card.organiser_name(ctx.session, meetup)

    def compose(target: Target) -> OutMessage:
        t = target.t
        file = ics.attachment([(meetup, organiser)], target.zone, t, ctx.now, meetup.title,
                              t.p_("meetup-{number}", number=meetup.id))
        return OutMessage(text=rich(*lines(target), *card.when_where(target, meetup)),
                          attachment=file)

    await tell(ctx, territory, member_ids, compose)
    return len(member_ids)
