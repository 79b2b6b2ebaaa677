"""From a closed date poll to a meetup: "Crea incontro" on the result, or /crea_incontro
(/create_meetup). Facilitators only.

The meetup is made through the meetups feature's own `create` (its card, reminders, the
creator going), on the winning date (or the one named, on a tie), with the poll's question
as title and the place given in the poll (`| luogo: …`), in the command, or asked for in a
short guided conversation. Everyone who said yes to that date is put down as "maybe" on
the meetup and asked privately (or with a mention) to confirm. An anonymous poll kept no
link between voters and dates, so nobody is marked there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import conversations
from bot.commands import fields as split_fields
from bot.commands import words
from bot.context import Context
from bot.meetups import answers as meetup_answers
from bot.meetups import card as meetup_card
from bot.meetups import fields as meetup_fields
from bot.meetups.manage import Draft, create
from bot.meetups.notify import tell
from bot.meetups.store import GOING, MAYBE, NO
from bot.messages import OutMessage, rich
from bot.outbox import Target
from bot.polls.result import closer_of, meetup_choices, result_message
from bot.polls.scoring import YES
from bot.polls.store import find, options_of, tally, territory_of
from storage.models.meetups import Meetup
from storage.models.polls import Poll, PollOption, PollVote

PLACE = "poll.place"  # the guided conversation asking for the place
IDLE = timedelta(minutes=30)


def _usage(ctx: Context) -> str:
    return ctx.cmd("crea_incontro 3")


async def meetup_command(ctx: Context, args: str) -> None:
    """/crea_incontro N [OPZIONE] [| LUOGO]."""
    parts = split_fields(args)
    head = words(parts[0]) if parts else []
    if not head or len(head) > 2 or len(parts) > 2:
        ctx.fail("Write the poll's number, and the option if there was a tie; a place can "
                 "follow after |. Example: <b>{example}</b>",
                 example=ctx.cmd("crea_incontro 3 | " + ctx.t.p_(
                     "Trattoria da Mario, via Roma 1")))
    poll = await find(ctx, head[0], _usage(ctx), for_update=True)
    position = None
    if len(head) == 2:
        options = await options_of(ctx.session, poll.id)
        if not head[1].isdecimal() or not 1 <= int(head[1]) <= len(options):
            ctx.fail("Poll no. {number} has options 1 to {count}. Example: <b>{example}</b>",
                     number=poll.id, count=len(options),
                     example=ctx.cmd(f"crea_incontro {poll.id} 1"))
        position = int(head[1]) - 1
    await start(ctx, poll, position, parts[1] if len(parts) == 2 else None)


async def meetup_action(ctx: Context, payload: dict, undo: bool) -> str:
    """The result's "Crea incontro" button (or reaction)."""
    if undo:
        return ""
    poll = await ctx.session.scalar(
        select(Poll).where(Poll.id == payload["poll"]).with_for_update())
    if poll is None or poll.territory_id != ctx.chat.territory_id:
        return ctx.t.p_("This button is no longer valid.")
    return await start(ctx, poll, int(payload["option"]), None)


async def _checked(ctx: Context, poll: Poll, position: int | None) -> PollOption:
    """The date the meetup will be on, after every check (a refusal otherwise)."""
    territory = await territory_of(ctx.session, poll)
    if not await ctx.is_facilitator(territory):
        ctx.fail("Only the facilitators of {territory} can make a meetup of a poll.",
                 territory=territory.name)
    if poll.status == "open":
        ctx.fail("Poll no. {number} is still open. To close it now: <b>{command}</b>",
                 number=poll.id, command=ctx.cmd(f"chiudi {poll.id}"))
    if poll.kind != "date":
        ctx.fail("Poll no. {number} is not about dates, so it cannot become a meetup. "
                 "{command} proposes one.", number=poll.id, command=ctx.cmd("incontro"))
    if poll.meetup_id is not None:
        ctx.fail("Poll no. {number} already became meetup no. {meetup}.", number=poll.id,
                 meetup=poll.meetup_id)
    options = await options_of(ctx.session, poll.id)
    if position is None:
        choices = meetup_choices(poll, options, await tally(ctx.session, poll, options),
                                 ctx.now)
        if len(choices) != 1:
            ctx.fail("No single date won poll no. {number} (or it has passed): say which "
                     "option, for example <b>{example}</b>", number=poll.id,
                     example=ctx.cmd(f"crea_incontro {poll.id} 1"))
        return choices[0]
    option = options[position]
    if option.starts_at is None or option.starts_at <= ctx.now:
        ctx.fail("That date has passed: choose another option.")
    return option


async def start(ctx: Context, poll: Poll, position: int | None, place: str | None) -> str:
    """Make the meetup now, or ask for the place first. Returns what a toast says."""
    option = await _checked(ctx, poll, position)
    assert option.starts_at is not None
    place = place or poll.place
    if place is None:
        await conversations.begin(ctx, PLACE, {"poll": poll.id, "option": option.position,
                                               "since": ctx.now.isoformat()})
        await ctx.reply(ctx.t._("Where will it be, on {when}? An address, or a link for an "
                                "online meetup. (To stop: {cancel})",
                                when=ctx.t.when(option.starts_at, ctx.zone),
                                cancel=ctx.cmd("annulla")))
        return ctx.t.p_("Where will it be? Answer in the chat.")
    meetup = await make(ctx, poll, option, meetup_fields.place(ctx, place))
    return ctx.t.p_("Meetup no. {number} is planned.", number=meetup.id)


async def place_answer(ctx: Context, state: dict[str, Any], text: str) -> None:
    """The guided conversation's answer: the place."""
    if ctx.now - datetime.fromisoformat(state["since"]) > IDLE:
        await conversations.clear(ctx)
        return
    poll = await ctx.session.scalar(
        select(Poll).where(Poll.id == state["poll"]).with_for_update())
    await conversations.clear(ctx)
    if poll is None:
        return
    option = await _checked(ctx, poll, int(state["option"]))
    await make(ctx, poll, option, meetup_fields.place(ctx, text))


def _title(question: str) -> str:
    if len(question) <= meetup_fields.MAX_TITLE:
        return question
    return question[:meetup_fields.MAX_TITLE - 1] + "…"


async def make(ctx: Context, poll: Poll, option: PollOption, place: str) -> Meetup:
    territory = await territory_of(ctx.session, poll)
    assert option.starts_at is not None
    meetup = await create(ctx, territory, Draft(_title(poll.question), option.starts_at, place))
    poll.meetup_id = meetup.id
    yes = [m for m in await ctx.session.scalars(
        select(PollVote.member_id).where(PollVote.option_id == option.id,
                                         PollVote.answer == YES).order_by(PollVote.id))
           if m != ctx.member.id]
    for member_id in yes:
        await meetup_answers.set_answer(ctx, meetup, member_id, MAYBE)
    if yes:
        await meetup_card.publish(ctx, meetup)

        def invitation(target: Target) -> OutMessage:
            t = target.t
            return OutMessage(text=rich(
                t._("Poll no. {poll} chose a date: <b>{title}</b> is meetup no. {number}.",
                    poll=poll.id, title=meetup.title, number=meetup.id),
                *meetup_card.when_where(target, meetup),
                t._("You said yes to this date, so I put you down as maybe. Will you come? "
                    "<b>{yes}</b> or <b>{no}</b>",
                    yes=target.cmd(f"partecipo {meetup.id} "
                                   f"{meetup_card.answer_word(t, GOING)}"),
                    no=target.cmd(f"partecipo {meetup.id} {meetup_card.answer_word(t, NO)}"))))

        await tell(ctx, territory, yes, invitation)
    await _refresh_results(ctx, poll)
    if poll.anonymous:
        await ctx.reply(ctx.t._("The poll was anonymous, so nobody is marked: everyone answers "
                                "on the meetup's card."))
    elif yes:
        await ctx.reply(ctx.t.n_(
            "I put the {n} person who said yes to that date down as maybe, and asked them "
            "to confirm.",
            "I put the {n} people who said yes to that date down as maybe, and asked them "
            "to confirm.", len(yes)))
    return meetup


async def _refresh_results(ctx: Context, poll: Poll) -> None:
    """The result messages now name the meetup instead of offering to make it."""
    options = await options_of(ctx.session, poll.id)
    counts = await tally(ctx.session, poll, options)
    territory = await territory_of(ctx.session, poll)
    closer = await closer_of(ctx.session, poll)
    for target in await ctx.outbox.territory_targets(territory):
        if target.caps.edits:
            await ctx.outbox.post(target, await result_message(
                ctx.outbox, target, poll, options, counts, closer))
