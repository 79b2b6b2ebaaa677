"""The terminal adapter: turns what pretend members type into events, and shows replies."""

from __future__ import annotations

from adapters.base import Adapter, Capabilities, CoreHandle, Delivered, Outgoing, Rejected
from adapters.console.world import World, private_chat
from bot.commands import split_command
from bot.events import (
    ActionEvent,
    ActionOutcome,
    ChatRef,
    CommandEvent,
    Event,
    Sender,
    TextEvent,
)

PLATFORM = "console"


class ConsoleAdapter(Adapter):
    platform = PLATFORM
    capabilities = Capabilities(buttons=True, edits=True, files=True, images=True,
                                direct_messages=True, max_text=100_000)

    def __init__(self, world: World) -> None:
        self.world = world
        self.core: CoreHandle | None = None

    async def start(self, core: CoreHandle) -> None:
        self.core = core

    async def stop(self) -> None:
        self.core = None

    async def deliver(self, item: Outgoing) -> Delivered:
        dest = item.destination
        chat = dest.chat_id or private_chat(dest.user_id or "?")
        try:
            if item.edit_of is not None:
                return Delivered(self.world.edit(item.edit_of, item.message), chat)
        except KeyError:
            raise Rejected(f"message {item.edit_of} not found") from None
        return Delivered(self.world.post(chat, item.message), chat)

    # --- what members do ----------------------------------------------------------------

    def _origin(self, user: str, chat: str) -> tuple[ChatRef, Sender]:
        chat = self.world.chat_name(chat, user)
        private = self.world.is_private(chat)
        ref = ChatRef(PLATFORM, chat, is_private=private, title=None if private else chat)
        admin = (user, chat) in self.world.admins and not private
        return ref, Sender(user_id=user, display_name=user, is_chat_admin=admin)

    async def say(self, user: str, chat: str, text: str) -> None:
        ref, sender = self._origin(user, chat)
        base = {"platform": PLATFORM, "event_id": self.world.event_id(), "chat": ref,
                "sender": sender}
        command = split_command(text, prefixes="/!")
        event: Event = (CommandEvent(**base, name=command[0], args=command[1]) if command
                        else TextEvent(**base, text=text))
        await self._handle(event)

    async def press(self, user: str, chat: str, number: int) -> None:
        ref, sender = self._origin(user, chat)
        buttons = self.world.latest_buttons(ref.external_id)
        if not 1 <= number <= len(buttons):
            self.world.note(f"no button {number} here")
            return
        event = ActionEvent(PLATFORM, self.world.event_id(), ref, sender,
                            token=buttons[number - 1].token)
        outcome = await self._handle(event)
        if outcome is not None:
            self.world.toast(outcome.text)

    async def _handle(self, event: Event) -> ActionOutcome | None:
        if self.core is None:
            self.world.note("the bot is not running")
            return None
        return await self.core.handle(event)
