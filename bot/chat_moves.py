"""A chat that gets a new id on its platform keeps its place: a Telegram group upgraded to a
supergroup (its admins turned on a supergroup feature, or it grew) is the same territory
chat under another id. Without this, the bot would answer in the supergroup as in a chat it
had never seen, and every card and digest for the old id would be refused.

Told either way: by the platform's service message (`ChatMovedEvent`) or by a delivery the
platform refuses with the new id (`adapters.base.Moved`). Whichever comes second finds
nothing left to move.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, select, update

from storage.models import Chat, OutboxMessage

log = logging.getLogger(__name__)

CHATS = Chat.__table__
OUTBOX = OutboxMessage.__table__


def move_chat(conn: Connection, platform: str, old_id: str, new_id: str) -> bool:
    """Give the chat `old_id` of `platform` the id `new_id`; True if a chat moved.

    If the bot already knows a chat under the new id (someone wrote there before the move
    was told), that row takes over what the old one was — its territory, kind and language,
    and the messages still waiting to go — and the old row stays, inactive, for the records
    that point to it."""
    old = conn.execute(select(CHATS).where(CHATS.c.platform == platform,
                                           CHATS.c.external_id == old_id)).first()
    if old is None or old_id == new_id:
        return False
    new = conn.execute(select(CHATS.c.id).where(CHATS.c.platform == platform,
                                                CHATS.c.external_id == new_id)).scalar()
    if new is None:
        conn.execute(update(CHATS).where(CHATS.c.id == old.id).values(
            external_id=new_id, active=True))
    else:
        conn.execute(update(CHATS).where(CHATS.c.id == new).values(
            territory_id=old.territory_id, kind=old.kind, locale=old.locale, active=True))
        conn.execute(update(CHATS).where(CHATS.c.id == old.id).values(active=False))
        conn.execute(update(OUTBOX).where(OUTBOX.c.chat_id == old.id,
                                          OUTBOX.c.state == "pending").values(chat_id=new))
    log.info("chat %s of %s is now %s", old_id, platform, new_id,
             extra={"platform": platform, "platform_chat_id": new_id})
    return True
