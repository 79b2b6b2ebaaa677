"""Meetups (issue 5): a member proposes one, the territory answers on a card that is edited
in place in every chat, on every platform; seats with a waiting list, reminders, calendar
files, and a record once it has taken place.

Modules: `fields` (what members write, checked), `manage` (create, change, cancel),
`guided` (the step-by-step creation), `answers` (going/maybe/no, the waiting list), `card`
(the card), `notify` (telling particular members), `listing` (/incontri, /calendario),
`ics` (iCalendar files), `reminders` and `conclusion` (the scheduled work), `store`
(reading meetups and their answers), `digest` (the meetups part of digests).
"""

from __future__ import annotations

from bot.commands import CommandSpec, Registry
from bot.context import Context
from bot.i18n import N_
from bot.meetups import answers, guided, listing, manage, reminders
from bot.meetups.conclusion import ConclusionJob
from bot.meetups.digest import meetups_section
from bot.meetups.reminders import ReminderJob
from bot.meetups.store import CARD


async def propose(ctx: Context, args: str) -> None:
    """/incontro (/meetup): in one line, or alone to be asked step by step."""
    if args.strip():
        await manage.create_in_one_line(ctx, args)
    else:
        await guided.begin(ctx)


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("incontro", "meetup"), propose,
        N_("Propose a meetup (alone: I ask step by step)"),
        usage=N_("TITLE | WHEN | WHERE [| DESCRIPTION] [| seats: N]"),
        example=N_("Social dinner | next Saturday at 7pm | Trattoria da Mario | seats: 20")))
    registry.command(CommandSpec(
        ("incontri", "meetups"), listing.list_command,
        N_("The coming meetups here (or the past ones)"),
        usage=N_("[past]"), example=N_("past")))
    registry.command(CommandSpec(
        ("partecipo", "rsvp"), answers.answer_command,
        N_("Answer a meetup: going, maybe or not going"),
        usage=N_("N yes|maybe|no"), example=N_("3 yes")))
    registry.command(CommandSpec(
        ("calendario", "calendar"), listing.calendar_command,
        N_("The coming meetups as a calendar file (.ics), or just one"),
        usage=N_("[N]"), example=N_("3")))
    registry.command(CommandSpec(
        ("modifica", "edit"), manage.edit_command,
        N_("Change a meetup: title, date, place, description, seats (its organiser or a "
           "facilitator)"),
        usage=N_("N FIELD VALUE"), example=N_("3 place Bar Centrale, piazza Duomo")))
    registry.command(CommandSpec(
        ("annulla_incontro", "cancel_meetup"), manage.cancel_command,
        N_("Cancel a meetup (its organiser or a facilitator)"),
        usage=N_("N [REASON]"), example=N_("3 bad weather")))
    registry.command(CommandSpec(
        ("promemoria", "reminders"), reminders.reminders_command,
        N_("When meetup reminders go out in this territory"),
        usage=N_("[24h 2h | no]"), example=N_("24h 2h"), audience="facilitator"))
    registry.action("meetup.answer", answers.answer_action)
    registry.card(CARD, answers.refresh_card)
    registry.action("meetup.calendar", listing.calendar_action)
    registry.conversation(manage.GUIDED, guided.next_answer)
    registry.job(ReminderJob())
    registry.job(ConclusionJob())
    registry.digest_section(meetups_section)
