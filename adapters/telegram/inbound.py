"""Telegram updates as the core's events.

Nothing a user sends is trusted: commands are parsed by the core's own parser, button data
is passed to the core as an opaque token (the core checks it against its records), and only
text messages, button presses, poll answers and the bot's own membership changes become
events. Messages from bots — the bot itself included — are ignored, and so are edits:
acting again on an edited command could do twice what was meant once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram import Bot, CallbackQuery, Chat, ChatMember, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType
from telegram.error import TelegramError

from adapters.base import CoreHandle
from adapters.telegram.admins import AdminCache
from adapters.telegram.poll_memory import PollMemory
from bot.commands import split_command
from bot.events import (
    ActionEvent,
    ChatMovedEvent,
    ChatRef,
    CommandEvent,
    Event,
    MembershipEvent,
    PollAnswerEvent,
    Sender,
    TextEvent,
)

log = logging.getLogger(__name__)

PLATFORM = "telegram"
MAX_TOAST = 200  # Telegram's limit for answerCallbackQuery text
PRESENT = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR,
                     ChatMemberStatus.MEMBER})


def chat_ref(chat: Chat, message: Message | None = None) -> ChatRef:
    """The chat, and the forum topic when the message was written in one."""
    private = chat.type == ChatType.PRIVATE
    thread = None
    if message is not None and message.is_topic_message and message.message_thread_id:
        thread = str(message.message_thread_id)
    return ChatRef(PLATFORM, str(chat.id), is_private=private,
                   title=None if private else chat.title, thread_id=thread)


def _is_in(member: ChatMember) -> bool:
    return member.status in PRESENT or (
        member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False)))


def _mentioned(message: Message) -> tuple[str, ...]:
    """People named by a text mention (Telegram's link to someone without a @username)."""
    users = [entity.user for entity in message.entities
             if entity.type == MessageEntityType.TEXT_MENTION and entity.user is not None]
    return tuple(dict.fromkeys(str(user.id) for user in users if not user.is_bot))


def _replied_to(message: Message) -> str | None:
    """The author of the message this one answers — not the topic: in a forum every message
    "replies" to the message that opened its topic."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.is_bot:
        return None
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return str(replied.from_user.id)


def _moved(event_id: str, message: Message) -> ChatMovedEvent | None:
    """A group upgraded to a supergroup: Telegram says so in both chats (the old one with
    the new id, the new one with the old id); either moves the chat."""
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return None
    user = message.from_user
    sender = Sender(str(user.id), user.full_name, user.username) if user else Sender(
        str(old), message.chat.title or str(old))
    return ChatMovedEvent(PLATFORM, event_id, ChatRef(PLATFORM, str(old), title=message.chat.title),
                          sender, new_external_id=str(new))


class Inbound:
    def __init__(self, bot: Bot, core: CoreHandle, admins: AdminCache,
                 polls: PollMemory) -> None:
        self.bot = bot
        self.core = core
        self.admins = admins
        self.polls = polls

    async def handle(self, update: Update) -> None:
        """Hand one update to the core. Raises if the core could not take it (the caller
        decides whether to try again; the core ignores an update it already processed)."""
        await self.handle_many([update])

    async def handle_many(self, updates: Sequence[Update]) -> None:
        """Hand updates fetched together to the core, which takes them in one transaction,
        then answer the button presses among them with their toasts. Raises if the core
        could not take them, after stopping the presses' spinners (they are retried)."""
        taken = [(update, await self._event(update)) for update in updates]
        events = [event for _update, event in taken if event is not None]
        presses = [update.callback_query for update, event in taken if event is not None]
        try:
            outcomes = await self.core.handle_many(events)
        except Exception:
            await asyncio.gather(*(self._answer(query, None) for query in presses if query))
            raise
        await asyncio.gather(*(
            self._answer(query, outcome.text if outcome is not None else None)
            for query, outcome in zip(presses, outcomes, strict=True) if query is not None))

    async def _event(self, update: Update) -> Event | None:
        """The core's event for `update`, or None if the bot does not act on it."""
        event_id = str(update.update_id)
        if update.callback_query is not None:
            return await self._button(event_id, update.callback_query)
        if update.message is not None:
            return await self._message(event_id, update.message)
        if update.poll_answer is not None:
            return await self._poll_answer(event_id, update)
        if update.my_chat_member is not None:
            return await self._membership(event_id, update)
        if update.chat_member is not None:
            self.admins.forget(update.chat_member.chat.id)  # someone's rights may have changed
        else:
            log.debug("update %s of a kind the bot does not act on", event_id)
        return None

    async def _sender(self, user: User, chat: Chat) -> Sender:
        admin = chat.type != ChatType.PRIVATE and await self.admins.is_admin(chat.id, user.id)
        return Sender(user_id=str(user.id), display_name=user.full_name,
                      username=user.username, is_chat_admin=admin)

    async def _message(self, event_id: str, message: Message) -> Event | None:
        chat = message.chat
        moved = _moved(event_id, message)
        if moved is not None:
            return moved
        if message.sender_chat is not None:
            if message.sender_chat.id != chat.id:
                return None  # posted on behalf of a channel
            # An anonymous administrator: Telegram shows the group itself as the sender.
            sender = Sender(user_id=str(chat.id), display_name=chat.title or str(chat.id),
                            is_chat_admin=True)
        elif message.from_user is None or message.from_user.is_bot:
            return None
        else:
            sender = await self._sender(message.from_user, chat)
        text = message.text
        if text is None:
            return None
        base = {"platform": PLATFORM, "event_id": event_id, "chat": chat_ref(chat, message),
                "sender": sender}
        command = split_command(text, prefixes="/", bot_username=self.bot.username)
        if command is not None:
            return CommandEvent(**base, name=command[0], args=command[1],
                                message_id=str(message.message_id),
                                mentions=_mentioned(message), reply_to_user=_replied_to(message))
        if split_command(text, prefixes="/") is not None:
            return None  # a command for another bot (/cmd@OtherBot)
        return TextEvent(**base, text=text, message_id=str(message.message_id))

    async def _button(self, event_id: str, query: CallbackQuery) -> Event | None:
        message = query.message
        if message is None or query.from_user.is_bot:
            await self._answer(query, None)  # a button under an inline message: not ours
            return None
        chat = message.chat
        where = chat_ref(chat, message if isinstance(message, Message) else None)
        return ActionEvent(PLATFORM, event_id, where, await self._sender(query.from_user, chat),
                           token=query.data or "", message_id=str(message.message_id))

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        try:
            await query.answer(text[:MAX_TOAST] if text else None, show_alert=False)
        except TelegramError as exc:  # too late (a retried press): nothing to do
            log.debug("answerCallbackQuery %s: %s", query.id, exc.message)

    async def _poll_answer(self, event_id: str, update: Update) -> Event | None:
        answer = update.poll_answer
        assert answer is not None
        if answer.user is None or answer.user.is_bot:
            return None  # an anonymous vote on behalf of a chat
        poll = await self.polls.find(answer.poll_id)
        if poll is None:
            log.debug("answer to unknown poll %s ignored", answer.poll_id)
            return None
        chat = ChatRef(PLATFORM, str(poll.chat_id), is_private=poll.private)
        admin = not poll.private and await self.admins.is_admin(poll.chat_id, answer.user.id)
        sender = Sender(str(answer.user.id), answer.user.full_name, answer.user.username, admin)
        return PollAnswerEvent(PLATFORM, event_id, chat, sender, poll_id=answer.poll_id,
                               options=tuple(answer.option_ids), message_id=str(poll.message_id))

    async def _membership(self, event_id: str, update: Update) -> Event | None:
        change = update.my_chat_member
        assert change is not None
        chat = change.chat
        self.admins.forget(chat.id)
        was_in, now_in = _is_in(change.old_chat_member), _is_in(change.new_chat_member)
        if was_in == now_in:
            return None  # promoted or restricted: still there
        if now_in and chat.type == ChatType.PRIVATE:
            return None  # unblocked: the person's next message reactivates the chat
        sender = await self._sender(change.from_user, chat) if now_in else Sender(
            str(change.from_user.id), change.from_user.full_name, change.from_user.username)
        log.info("bot %s chat %s", "added to" if now_in else "removed from", chat.id,
                 extra={"platform": PLATFORM, "platform_chat_id": chat.id})
        return MembershipEvent(PLATFORM, event_id, chat_ref(chat), sender, joined=now_in)
