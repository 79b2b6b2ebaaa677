"""Guided conversations: the bot asks, and the member's next message in that chat answers.

Only the member who started one is heard; other members' messages pass by. State is a
small JSON dict kept in the `conversations` table, so a restart does not lose it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from bot.context import Context
from storage.models import Conversation


async def begin(ctx: Context, kind: str, state: dict[str, Any]) -> None:
    """Start (or restart) the sender's conversation of `kind` in this chat."""
    await ctx.session.merge(Conversation(chat_id=ctx.chat.id, member_id=ctx.member.id, kind=kind,
                                         state=state, updated_at=ctx.now))


async def clear(ctx: Context) -> bool:
    """End the sender's conversation in this chat; True if there was one."""
    result = await ctx.session.execute(delete(Conversation).where(
        Conversation.chat_id == ctx.chat.id, Conversation.member_id == ctx.member.id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
