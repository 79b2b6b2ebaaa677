"""The meetup card: one keyed message per territory chat, edited in place on every change.

Each chat gets the card in its own language and with its own buttons (tokens are per chat),
but all show the same answers, counted once across every chat and platform.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.meetups.fields import place_url
from bot.meetups.store import GOING, KEY, MAYBE, NO, Scope, Tally, tally
from bot.messages import Action, Bold, Inline, Link, OutMessage, Paragraph, RichText, Text
from bot.outbox import Button, Outbox, Target
from storage import core
from storage.models import Member, Territory
from storage.models.meetups import Meetup

MAX_NAMES = 40
ANSWER_EMOJI = {GOING: "✅", MAYBE: "🤔", NO: "❌"}
CALENDAR_EMOJI = "📅"


def answer_word(t: Translator, answer: str) -> str:
    """The word for an answer in a text command: sì/forse/no, yes/maybe/no."""
    words = {GOING: t.p_("yes"), MAYBE: t.p_("maybe"), NO: t.p_("no")}
    return words[answer]


def names(t: Translator, people: list[str]) -> str:
    if len(people) <= MAX_NAMES:
        return ", ".join(people)
    rest = len(people) - MAX_NAMES
    return t.p_("{names} and {n} more", names=", ".join(people[:MAX_NAMES]), n=rest)


def place_line(meetup: Meetup) -> tuple[Inline, ...]:
    return (Text("📍 "), Link(place_url(meetup.place), (Text(meetup.place),)))


def when_where(target: Target, meetup: Meetup) -> list[Paragraph]:
    """The date in full (in the target's zone) and the place, linked."""
    when = target.t.when(meetup.starts_at, target.zone)
    return [Paragraph((Bold((Text(when),)),)), Paragraph(place_line(meetup))]


def heading(target: Target, meetup: Meetup) -> list[Paragraph]:
    """Title, date in full, place: how the card starts."""
    if meetup.status == "cancelled":
        title = target.t._("❌ Cancelled: <b>{title}</b>", title=meetup.title)
    else:
        title = (Text(f"{CALENDAR_EMOJI} "), Bold((Text(meetup.title),)))
    return [Paragraph(title), *when_where(target, meetup)]


def _answers(t: Translator, meetup: Meetup, counts: Tally) -> list[Paragraph]:
    going = len(counts.going)
    if meetup.concluded_at is not None:
        return [Paragraph(t.n_("It took place: {n} person had said they would be there.",
                               "It took place: {n} people had said they would be there.", going))]
    if not going:
        lines = [t._("<b>Going:</b> nobody yet")]
    elif meetup.capacity:
        lines = [t._("<b>Going ({n} of {seats}):</b> {names}", n=going, seats=meetup.capacity,
                     names=names(t, counts.going))]
    else:
        lines = [t._("<b>Going ({n}):</b> {names}", n=going, names=names(t, counts.going))]
    if counts.waiting:
        lines.append(t._("<b>Waiting list:</b> {names}", names=names(t, counts.waiting)))
    lines.append(t._("Maybe: {maybe} · Not going: {no}", maybe=counts.maybe, no=counts.no))
    return [Paragraph(line) for line in lines]


async def _actions(outbox: Outbox, target: Target, meetup: Meetup) -> tuple[Action, ...]:
    t = target.t
    labels = {GOING: t.p_("Going"), MAYBE: t.p_("Maybe"), NO: t.p_("Not going")}
    buttons = [Button("meetup.answer", {"meetup": meetup.id, "answer": answer}, labels[answer],
                      emoji=ANSWER_EMOJI[answer],
                      command=f"partecipo {meetup.id} {answer_word(t, answer)}")
               for answer in (GOING, MAYBE, NO)]
    buttons.append(Button("meetup.calendar", {"meetup": meetup.id}, t.p_("Calendar"),
                          emoji=CALENDAR_EMOJI, command=f"calendario {meetup.id}"))
    return tuple(await outbox.actions(target, buttons, key=KEY.format(id=meetup.id)))


async def render(outbox: Outbox, target: Target, meetup: Meetup, organiser: str,
                 counts: Tally) -> OutMessage:
    t = target.t
    blocks: list[Paragraph] = heading(target, meetup)
    if meetup.description:
        blocks.append(Paragraph((Text(meetup.description),)))
    blocks.append(Paragraph(t._("Organised by {name} · meetup no. {number}", name=organiser,
                                number=meetup.id)))
    if meetup.status == "cancelled":
        if meetup.cancel_reason:
            blocks.append(Paragraph(t._("Reason: {reason}", reason=meetup.cancel_reason)))
    else:
        blocks.extend(_answers(t, meetup, counts))
    open_card = meetup.status == "scheduled" and meetup.concluded_at is None
    actions = (await _actions(outbox, target, meetup),) if open_card else ()
    return OutMessage(text=RichText(tuple(blocks)), actions=actions,
                      key=KEY.format(id=meetup.id))


_NAME = core.Statement(  # built once: every answer runs it
    select(Member.display_name).where(Member.id == bindparam("member_id")))


async def organiser_name(session: AsyncSession, meetup: Meetup) -> str:
    found = await core.rows(session, _NAME, {"member_id": meetup.organiser_id})
    return found[0].display_name if found else "?"


async def publish(scope: Scope, meetup: Meetup) -> int:
    """Post (or edit in place) the card in every chat of the meetup's territory; returns how
    many chats it went to."""
    territory = await scope.session.get_one(Territory, meetup.territory_id)
    organiser = await organiser_name(scope.session, meetup)
    counts = await tally(scope.session, meetup.id)
    targets = await scope.outbox.territory_targets(territory)
    for target in targets:
        await scope.outbox.post(target, await render(scope.outbox, target, meetup, organiser,
                                                      counts))
    return len(targets)

