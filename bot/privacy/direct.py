"""Sending the sender something only they should read: their data, a linking code.

Such a message goes to the person (`outbox.person_target`) wherever the platform lets the
bot write privately — also when asked in a private chat, so that it is tied to the account
and deleted with it when the member is forgotten. Asked in a group, the group is told only
that it went privately; where no private message is possible, the group gets an invitation
to write privately instead, never the content.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.context import Context
from bot.messages import OutMessage
from bot.outbox import Target


def private_target(ctx: Context, *, needs_files: bool = False) -> Target | None:
    """Where to reach the sender privately, or None if this platform gives no way."""
    platforms = ctx.services.platforms
    caps = platforms.caps(ctx.identity.platform)
    if caps.direct_messages and ctx.identity.platform in platforms:
        target = ctx.outbox.person_target(ctx.identity, ctx.chat.locale,
                                          ctx.territory.timezone if ctx.territory else None)
    elif ctx.chat.is_private:
        target = ctx.here
    else:
        return None
    if needs_files and not target.caps.files:
        return None
    return target


async def send_privately(ctx: Context, command: str,
                         compose: Callable[[Target], OutMessage], *,
                         needs_files: bool = False) -> None:
    """Post `compose(target)` to the sender privately; in a group, say so there (or refuse
    kindly when it cannot be done, posting nothing private in the group). `command` (its
    Italian name) is what to send from a private chat instead."""
    target = private_target(ctx, needs_files=needs_files)
    if target is None:
        if needs_files and ctx.chat.is_private:
            ctx.fail("I can't send files on this platform, sorry.")
        ctx.fail("I can't write to you privately from here: open a private chat with me and "
                 "send <b>{command}</b> there.",
                 command=ctx.cmd(command))
    await ctx.outbox.post(target, compose(target))
    if not ctx.chat.is_private:
        await ctx.reply(ctx.t._("I sent it to you in a private message. Nothing there? "
                                "Open a private chat with me, then ask again."))
