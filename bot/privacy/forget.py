"""/dimenticami (/forgetme): deleting a member's personal data, keeping their contributions.

After an explicit confirmation (a button only they can press, valid ten minutes, or the
command with the word "conferma"), in the one transaction of that event:

- every platform account of the member (all linked ones) is deleted, with the messages
  waiting for it or kept after delivery and the message slots of its private chat;
- roles, conversations in progress and buttons meant for them alone are deleted;
- the member's row stays, nameless (`bot.i18n.ANONYMOUS`, read "a member" in each
  language) and without a home territory, so that ideas, supports, answers, votes, reports
  and the history keep counting and read "a member";
- an audit entry `privacy.forget` records that it happened (no names, no platform ids);
- open cards that showed the name are edited.

A later message from the same account is a stranger's: it creates a new member.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, or_, select

from bot import audit
from bot.context import Context
from bot.i18n import ANONYMOUS
from bot.messages import OutMessage, RichText, rich
from bot.outbox import discard_held
from bot.privacy import cards
from bot.privacy.tables import MEMBER_COLUMNS, member_subject
from storage.models import ActionToken, Identity, OutboxMessage, PostedMessage

KIND = "privacy.forget"
TTL = timedelta(minutes=10)
CONFIRM_WORDS = ("conferma", "confirm")


def _key(member_id: int) -> str:
    return f"privacy-forget:{member_id}"


async def ask(ctx: Context) -> None:
    """The warning, with the button that confirms (for the sender only, ten minutes)."""
    t = ctx.t
    accounts = await ctx.session.scalar(
        select(func.count()).select_from(Identity).where(Identity.member_id == ctx.member.id))
    word = t.p_("confirm")
    # A fresh button each time, so that "within 10 minutes" is true of the latest question.
    await ctx.session.execute(delete(ActionToken).where(
        ActionToken.kind == KIND, ActionToken.member_id == ctx.member.id))
    confirm = await ctx.outbox.action(
        ctx.here, KIND, {"member": ctx.member.id}, label=t.p_("Yes, forget me"),
        command=f"dimenticami {word}", key=_key(ctx.member.id), member_id=ctx.member.id,
        ttl=TTL)
    text = rich(
        t.n_("Do you want me to forget you? I will delete your account and everything that "
             "says who you are: name, roles, conversations in progress.",
             "Do you want me to forget you? I will delete your {n} linked accounts and "
             "everything that says who you are: name, roles, conversations in progress.",
             accounts or 1),
        t._("Your ideas, supports, answers to meetups and votes stay, so that counts stay "
            "right, but under the name <i>a member</i>. It cannot be undone."),
        t._("To confirm, press the button or send <b>{command}</b> within 10 minutes.",
            command=ctx.cmd(f"dimenticami {word}")))
    await ctx.outbox.post(ctx.here, OutMessage(text, actions=((confirm,),),
                                               key=_key(ctx.member.id)))


async def forget(ctx: Context) -> None:
    """Forget the sender (see the module's doc)."""
    member = ctx.member
    shown = await cards.touched(ctx, member.id, counts=False)
    identities = list(await ctx.session.scalars(
        select(Identity.id).where(Identity.member_id == member.id)))
    session = ctx.session
    await session.execute(delete(OutboxMessage).where(OutboxMessage.identity_id.in_(identities))
                          .execution_options(synchronize_session=False))
    discard_held(session, identities)
    private_slots = [f"i{identity}:%" for identity in identities]
    for model in (PostedMessage, ActionToken):
        await session.execute(delete(model).where(or_(*(
            model.slot.like(prefix) for prefix in private_slots)))
            .execution_options(synchronize_session=False))
    for spec in MEMBER_COLUMNS:
        if spec.forget == "delete":
            await session.execute(delete(spec.model).where(spec.column == member.id)
                                  .execution_options(synchronize_session="fetch"))
    member.display_name = ANONYMOUS
    member.home_territory_id = None
    await audit.record(ctx, KIND, subject=member_subject(member.id), accounts=len(identities))
    await session.flush()
    await cards.refresh(ctx, shown)


def _done(ctx: Context) -> RichText:
    return rich(ctx.t._("Done: I have forgotten you. What you contributed stays as "
                        "<i>a member</i>'s. If you write to me again, I will know you as "
                        "someone new."))


async def forget_command(ctx: Context, args: str) -> None:
    word = ctx.t.p_("confirm")
    given = args.strip().casefold()
    if given and given not in (*CONFIRM_WORDS, word.casefold()):
        ctx.fail("To confirm, send <b>{command}</b>.", command=ctx.cmd(f"dimenticami {word}"))
    if not given:
        await ask(ctx)
        return
    await forget(ctx)
    await ctx.reply(_done(ctx))


async def forget_action(ctx: Context, payload: dict, undo: bool) -> str:
    """The confirmation button: the dispatcher checked it is the sender's and still valid."""
    if undo or payload.get("member") != ctx.member.id:
        return ctx.t.p_("This button is no longer valid.")
    key = _key(ctx.member.id)
    await forget(ctx)
    await ctx.outbox.post(ctx.here, OutMessage(_done(ctx), key=key))  # edits the question
    return ctx.t.p_("Done: I have forgotten you.")
