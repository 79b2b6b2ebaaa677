"""What the bot's database holds, read directly (SELECT only) after or while it runs.

Members are named by their Telegram user id, chats by their Telegram chat id, so that the
database can be compared with what the emulator saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from storage.models import Chat, Identity, Member, OutboxMessage, ProcessedEvent, Territory
from storage.models.ideas import Idea, IdeaSupport
from storage.models.meetups import MeetupAnswer, MeetupReminder


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat: int  # the Telegram chat id: a group's, or the person's for a private message
    key: str | None
    state: str
    attempts: int
    message_id: int | None


@dataclass(frozen=True)
class ReminderRow:
    meetup: int
    offset_minutes: int
    due_at: datetime
    sent_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class Snapshot:
    processed: frozenset[str]  # Telegram update ids
    homes: dict[int, str | None]  # member → chosen territory
    ideas: dict[int, tuple[int, str]]  # idea number → (author, text)
    supports: frozenset[tuple[int, int]]  # (idea, member)
    answers: dict[tuple[int, int], str]  # (meetup, member) → answer
    outbox: list[OutboxRow]
    reminders: list[ReminderRow]

    def ideas_with(self, marker: str) -> list[int]:
        return [number for number, (_author, text) in self.ideas.items()
                if marker in text.split()]


async def read(url: str) -> Snapshot:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as db:
            return await _read(db)
    finally:
        await engine.dispose()


async def _read(db: AsyncConnection) -> Snapshot:
    person = dict((await db.execute(
        select(Identity.member_id, Identity.user_id).where(Identity.platform == "telegram"))
    ).all())
    user_of = {identity.id: int(identity.user_id) for identity in (await db.execute(
        select(Identity.id, Identity.user_id))).all()}
    chats = {row.id: int(row.external_id) for row in (await db.execute(
        select(Chat.id, Chat.external_id).where(Chat.platform == "telegram"))).all()}
    names = dict((await db.execute(select(Territory.id, Territory.name))).all())

    def member(member_id: int) -> int:
        return int(person[member_id])

    homes = {member(row.id): names.get(row.home_territory_id) for row in (await db.execute(
        select(Member.id, Member.home_territory_id))).all() if row.id in person}
    ideas = {row.id: (member(row.author_id), row.text) for row in (await db.execute(
        select(Idea.id, Idea.author_id, Idea.text))).all()}
    supports = frozenset((row.idea_id, member(row.member_id)) for row in (await db.execute(
        select(IdeaSupport.idea_id, IdeaSupport.member_id))).all())
    answers = {(row.meetup_id, member(row.member_id)): row.answer for row in (await db.execute(
        select(MeetupAnswer.meetup_id, MeetupAnswer.member_id, MeetupAnswer.answer))).all()}
    outbox = [OutboxRow(
        row.id, chats[row.chat_id] if row.chat_id is not None else user_of[row.identity_id],
        row.key, row.state, row.attempts,
        int(row.platform_message_id) if row.platform_message_id else None)
        for row in (await db.execute(select(
            OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.identity_id,
            OutboxMessage.key, OutboxMessage.state, OutboxMessage.attempts,
            OutboxMessage.platform_message_id).order_by(OutboxMessage.id))).all()]
    reminders = [ReminderRow(row.meetup_id, row.offset_minutes, row.due_at, row.sent_at,
                             row.outcome) for row in (await db.execute(select(
                                 MeetupReminder.meetup_id, MeetupReminder.offset_minutes,
                                 MeetupReminder.due_at, MeetupReminder.sent_at,
                                 MeetupReminder.outcome))).all()]
    processed = frozenset((await db.execute(select(ProcessedEvent.event_id).where(
        ProcessedEvent.platform == "telegram"))).scalars().all())
    return Snapshot(processed, homes, ideas, supports, answers, outbox, reminders)
