"""Telling members about an idea they care about: privately where possible, else in the chat.

A member is written to privately through their first identity on a running platform that
can send direct messages. Members with no such identity are named (a real mention where
they have an identity on that chat's platform) in one message in each chat of the
territory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import select

from bot.context import Context
from bot.messages import Inline, Mention, OutMessage, Paragraph, RichText, Text
from bot.outbox import Target
from storage.models import Identity, Member, Territory

Say = Callable[[Target], RichText]


async def tell_members(ctx: Context, territory: Territory, member_ids: Iterable[int],
                       say: Say) -> int:
    """Write `say(target)` to each member; returns how many members it reaches."""
    ids = list(dict.fromkeys(member_ids))
    if not ids:
        return 0
    chats = await ctx.outbox.territory_targets(territory)
    identities: dict[int, list[Identity]] = defaultdict(list)
    for identity in await ctx.session.scalars(
            select(Identity).where(Identity.member_id.in_(ids)).order_by(Identity.id)):
        identities[identity.member_id].append(identity)
    platforms = ctx.outbox.platforms
    in_chat: list[int] = []
    for member_id in ids:
        private = next((i for i in identities[member_id] if i.platform in platforms
                        and platforms.caps(i.platform).direct_messages), None)
        if private is None:
            in_chat.append(member_id)
            continue
        # The language of the territory's chat on that platform, lacking a personal one.
        locale = next((c.t.locale for c in chats if c.platform == private.platform),
                      ctx.services.config.locale)
        target = ctx.outbox.person_target(private, locale, territory.timezone)
        await ctx.outbox.post(target, OutMessage(say(target)))
    if in_chat and chats:
        names = dict((await ctx.session.execute(
            select(Member.id, Member.display_name).where(Member.id.in_(in_chat)))).all())
        for chat in chats:
            mentions: list[Inline] = []
            for member_id in in_chat:
                there = next((i for i in identities[member_id] if i.platform == chat.platform),
                             None)
                if mentions:
                    mentions.append(Text(", "))
                mentions.append(Mention(there.display_name, there.user_id, there.platform)
                                if there else Mention(names.get(member_id, "?")))
            await ctx.outbox.post(chat, OutMessage(_addressed(tuple(mentions), say(chat))))
    return len(ids) - (0 if chats else len(in_chat))


def _addressed(mentions: tuple[Inline, ...], text: RichText) -> RichText:
    """`text` with the people it is for named in front: "giulia, marco: …"."""
    first, *rest = text.blocks
    if isinstance(first, Paragraph):
        return RichText((Paragraph((*mentions, Text(": "), *first.children)), *rest))
    return RichText((Paragraph(mentions), *text.blocks))
