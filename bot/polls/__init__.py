"""Polls (issue 6): a facilitator asks the territory a question — often "when?" — and
members answer in every chat, on every platform; the answers add up in the database.

Modules: `parsing` (what /sondaggio says), `launch` (/sondaggio), `card` (how each chat
shows the poll, refreshed as answers come), `voting` (/vota, buttons, reactions, native
answers), `scoring` (ranking, yes / if need be / no), `closing` (/chiudi and the deadline
job), `result` (the result message), `meetup` (a date poll's winner becomes a meetup),
`reminders` (24 h before the deadline), `listing` (/sondaggi), `digest` (the digest
section), `members` (who belongs to a territory), `store` (the tables).
"""

from __future__ import annotations

from bot.commands import CommandSpec, Registry
from bot.i18n import N_
from bot.polls import closing, launch, listing, meetup, voting
from bot.polls.digest import polls_section
from bot.polls.reminders import ReminderJob
from bot.polls.store import CARD


def register(registry: Registry) -> None:
    registry.command(CommandSpec(
        ("sondaggio", "poll"), launch.poll_command,
        N_("Launch a poll: dates or anything else, in every chat of the territory"),
        usage=N_("QUESTION | OPTION | OPTION [...] [| closes: WHEN] [| anonymous] "
                 "[| mode: yes-maybe-no] [| results: at closing] [| place: WHERE]"),
        example=N_("When shall we meet? | Saturday 12 December at 7pm | Sunday 13 December "
                   "at 6pm | closes: Thursday at 8pm"),
        audience="facilitator"))
    registry.command(CommandSpec(
        ("vota", "vote"), voting.vote_command,
        N_("Answer a poll: the options you choose (yes, maybe or no for each, where the poll "
           "asks); a dash takes your answers back"),
        usage=N_("N OPTION [OPTION …]"), example=N_("3 1 2")))
    registry.command(CommandSpec(
        ("sondaggi", "polls"), listing.list_command,
        N_("The open polls here, with their deadline and who leads")))
    registry.command(CommandSpec(
        ("chiudi", "close"), closing.close_command, N_("Close a poll now and post its result"),
        usage=N_("N"), example=N_("3"), audience="facilitator"))
    registry.command(CommandSpec(
        ("crea_incontro", "create_meetup"), meetup.meetup_command,
        N_("Make a meetup of a closed date poll's winning date"),
        usage=N_("N [OPTION] [| PLACE]"), example=N_("3 | Bar Centrale, piazza Duomo"),
        audience="facilitator"))
    registry.action("poll.vote", voting.vote_action)
    registry.card(CARD, voting.refresh_card)
    registry.action("poll.meetup", meetup.meetup_action)
    registry.conversation(meetup.PLACE, meetup.place_answer)
    registry.poll_answers(voting.native_answer)
    registry.job(closing.ClosingJob())
    registry.job(ReminderJob())
    registry.digest_section(polls_section)
