"""Telling particular members something: privately where the platform lets the bot write to
a person, otherwise with a mention in their territory's chat on that platform.

A member may have accounts on several platforms; the first of them (the oldest) on a
running platform with private messages gets the message. Private messages are written in
the language of the territory's chat on that platform (a member has no language of their
own) and show times in the territory's zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from sqlalchemy import select

from bot.meetups.store import Scope
from bot.messages import Inline, Mention, OutMessage, Paragraph, RichText, Text
from bot.outbox import Target
from storage.models import Chat, Identity, Territory

Compose = Callable[[Target], OutMessage]


async def _chat_locales(scope: Scope, territory: Territory) -> dict[str, str]:
    """The language of the territory's first chat on each platform."""
    chats = await scope.session.scalars(
        select(Chat).where(Chat.territory_id == territory.id, Chat.kind == "territory",
                           Chat.active.is_(True)).order_by(Chat.id.desc()))
    return {chat.platform: chat.locale for chat in chats}


async def private_targets(scope: Scope, territory: Territory,
                          member_ids: Iterable[int]) -> tuple[dict[int, Target],
                                                              dict[int, list[Identity]]]:
    """For each member: the private `Target` to use, or (if none) their running accounts."""
    wanted = list(dict.fromkeys(member_ids))
    if not wanted:
        return {}, {}
    identities = await scope.session.scalars(
        select(Identity).where(Identity.member_id.in_(wanted)).order_by(Identity.id))
    platforms = scope.services.platforms
    accounts: dict[int, list[Identity]] = {member: [] for member in wanted}
    for identity in identities:
        if identity.platform in platforms:
            accounts[identity.member_id].append(identity)
    locales = await _chat_locales(scope, territory)
    private: dict[int, Target] = {}
    for member, owned in accounts.items():
        reachable = [i for i in owned if platforms.caps(i.platform).direct_messages]
        if reachable:
            first = reachable[0]
            locale = locales.get(first.platform, scope.services.config.locale)
            private[member] = scope.outbox.person_target(first, locale, territory.timezone)
    unreached = {m: owned for m, owned in accounts.items() if m not in private and owned}
    return private, unreached


async def tell(scope: Scope, territory: Territory, member_ids: Iterable[int],
               compose: Compose) -> None:
    """Send each member `compose(target)`: privately, or mentioned in the territory's chats.

    Mentions are grouped: one message per chat names everyone it is for (without the
    attachment, which is only sent privately)."""
    private, unreached = await private_targets(scope, territory, member_ids)
    for target in private.values():
        await scope.outbox.post(target, compose(target))
    if not unreached:
        return
    for target in await scope.outbox.territory_targets(territory):
        mentions: list[Inline] = []
        for owned in unreached.values():
            for identity in owned:
                if identity.platform == target.platform:
                    if mentions:
                        mentions.append(Text(", "))
                    mentions.append(Mention(identity.display_name, identity.user_id,
                                            identity.platform))
                    break
        if mentions:
            message = compose(target)
            text = RichText((Paragraph(tuple(mentions)), *message.text.blocks))
            await scope.outbox.post(target, replace(message, text=text, attachment=None,
                                                    actions=()))
