"""The whole bot — `bot.app.App` with the `MatrixAdapter` — against the test Synapse.

`BotFactory` starts bots (each its own Matrix account, database and crypto store) and stops
them at the end of the test; `MatrixBot.restarted()` stops a bot and starts it again on
the same database, store and account, as a process restart would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio
import pytest
from sqlalchemy import select

from adapters.matrix.adapter import MatrixAdapter
from bot.app import App
from bot.config import Config
from bot.messages import OutMessage
from bot.outbox import Outbox
from storage.models import Chat, Identity, OutboxMessage, PostedMessage
from tests.adapters.matrix.helpers import (
    checked,
    create_room,
    event_log,
    send_event,
    send_text,
    sync_until,
    wait_for_event,
)
from tests.adapters.matrix.synapse import RegisteredUser, SynapseServer

READY_SECONDS = 20.0
BOUND = "ora è la chat del territorio Milano"  # the answer to binding a chat to Milano


@dataclass
class MatrixBot:
    app: App
    adapter: MatrixAdapter
    account: RegisteredUser
    config: Config

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def post(self, message: OutMessage, *, room_id: str | None = None,
                   person: str | None = None) -> None:
        """Write `message` to the outbox as a use case does: to a room's chat, or privately
        to a person (by Matrix user id); the delivery loop sends it."""
        async with self.app.db.transaction() as session:
            outbox = Outbox(session, self.app.clock, self.app.services.platforms, "Europe/Rome")
            if room_id is not None:
                chat = await session.scalar(select(Chat).where(
                    Chat.platform == "matrix", Chat.external_id == room_id))
                assert chat is not None, f"the bot has no chat for {room_id}"
                target = outbox.chat_target(chat)
            else:
                identity = await session.scalar(select(Identity).where(
                    Identity.platform == "matrix", Identity.user_id == person))
                assert identity is not None, f"the bot does not know {person}"
                target = outbox.person_target(identity, "it")
            await outbox.post(target, message)
        self.app.delivery.wake()

    async def chat(self, room_id: str) -> Chat | None:
        async with self.app.db.transaction() as session:
            return await session.scalar(select(Chat).where(
                Chat.platform == "matrix", Chat.external_id == room_id))

    async def outbox(self) -> list[tuple[str, str | None]]:
        """Every outbox row's state and error, oldest first."""
        async with self.app.db.transaction() as session:
            rows = await session.execute(select(OutboxMessage.state, OutboxMessage.last_error)
                                         .order_by(OutboxMessage.id))
            return [(state, error) for state, error in rows]

    async def wait_until(self, predicate: Callable[[], Any], what: str,
                         within: float = 10.0) -> None:
        """Wait (without syncing anyone) until the bot's side satisfies `predicate`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (await predicate() if asyncio.iscoroutinefunction(predicate)
                   else predicate()):
            if loop.time() > deadline:
                pytest.fail(f"the bot: no {what} within {within}s", pytrace=False)
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self.app.stop()


@dataclass
class BotFactory:
    server: SynapseServer
    root: Path
    bots: list[MatrixBot] = field(default_factory=list)

    async def __call__(self, *, encryption: bool = True, allowed_servers: list[str] | None = None,
                       password_login: bool = False, setup: Callable[[App], None] | None = None,
                       **matrix: Any) -> MatrixBot:
        account = await self.server.register(f"piazzabot-{secrets.token_hex(3)}")
        folder = self.root / account.user_id.strip("@").replace(":", "_")
        folder.mkdir(parents=True)
        credentials: dict[str, Any] = (
            {"password": account.password, "device_id": "PIAZZABOT"} if password_login
            else {"access_token": account.access_token, "device_id": account.device_id})
        config = Config.model_validate({
            "database": {"url": f"sqlite+aiosqlite:///{folder}/bot.db"},
            "console": {"enabled": False},
            "matrix": {"enabled": True, "homeserver": self.server.base_url,
                       "user_id": account.user_id, "encryption": encryption,
                       "store_path": str(folder / "store"),
                       "allowed_servers": allowed_servers if allowed_servers is not None
                       else [self.server.server_name],
                       **credentials, **matrix},
        })
        return await self.start(config, account, setup)

    async def start(self, config: Config, account: RegisteredUser,
                    setup: Callable[[App], None] | None = None) -> MatrixBot:
        adapter = MatrixAdapter(config.matrix, default_locale=config.locale)
        app = App(config, [adapter])
        if setup is not None:
            setup(app)
        await app.start()
        bot = MatrixBot(app, adapter, account, config)
        self.bots.append(bot)
        try:
            await asyncio.wait_for(adapter.ready.wait(), READY_SECONDS)
        except TimeoutError:
            pytest.fail("the Matrix adapter did not finish its first sync", pytrace=False)
        return bot

    async def restart(self, bot: MatrixBot,
                      setup: Callable[[App], None] | None = None) -> MatrixBot:
        await self.stop(bot)
        return await self.start(bot.config, bot.account, setup)

    async def stop(self, bot: MatrixBot) -> None:
        if bot in self.bots:
            self.bots.remove(bot)
            await bot.stop()

    async def aclose(self) -> None:
        for bot in list(self.bots):
            await self.stop(bot)


# ---------------------------------------------------------------- what members do and see


async def set_power_level(client: nio.AsyncClient, room_id: str, user_id: str,
                          level: int) -> None:
    """Read-modify-write the room's ``m.room.power_levels`` state."""
    current = checked(await client.room_get_state_event(room_id, "m.room.power_levels"))
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    checked(await client.room_put_state(room_id, "m.room.power_levels", content))


def from_bot(bot: MatrixBot, kind: type = nio.RoomMessageText,
             where: Callable[[Any], bool] = lambda _e: True) -> Callable[[Any], bool]:
    """Match for `wait_for_event`: an event of `kind` sent by the bot."""
    return lambda e: isinstance(e, kind) and e.sender == bot.user_id and where(e)


def bot_events(client: nio.AsyncClient, room_id: str, bot: MatrixBot,
               kind: type = nio.RoomMessageText) -> list[Any]:
    return [e for e in event_log(client).events(room_id) if from_bot(bot, kind)(e)]


async def settle(client: nio.AsyncClient, seconds: float = 1.0) -> None:
    """Sync `client` for a while, so that anything that would still come has come."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    await sync_until(client, lambda: loop.time() >= end, within=seconds + 5)


def posted(bot: MatrixBot, platform: str, key: str) -> Callable[[], Awaitable[bool]]:
    """For `MatrixBot.wait_until`: the bot has recorded where the message keyed `key` went on
    `platform` (right after the platform accepted it). A reaction is resolved through that
    record, so a test that reacts at once waits for it; a member is never that quick."""
    async def check() -> bool:
        async with bot.app.db.transaction() as session:
            slots = await session.scalars(select(PostedMessage.slot).where(
                PostedMessage.platform == platform))
            return any(slot.endswith(f":{key}") for slot in slots)
    return check


async def room_with(owner: nio.AsyncClient, bot: MatrixBot, *members: nio.AsyncClient,
                    **create: Any) -> str:
    """`owner` creates a room (`room_create` arguments) with the bot and `members` in it;
    returns once the bot has said hello."""
    room_id = await create_room(owner, invite=[bot.user_id, *(m.user_id for m in members)],
                                **create)
    for member in members:
        checked(await member.join(room_id))
        await sync_until(member, lambda m=member: room_id in m.rooms)
    await wait_for_event(owner, room_id, from_bot(bot, where=lambda e: "piazzabot" in e.body),
                         what="the bot's hello")
    return room_id


async def bind_to_milano(bot: MatrixBot, admin: nio.AsyncClient, room_id: str) -> None:
    """`admin` (the room's creator) binds the room to Milano; returns once the bot said so."""
    await send_text(admin, room_id, "!territorio Milano")
    await wait_for_event(admin, room_id, from_bot(bot, where=lambda e: BOUND in e.body),
                         what="the room bound")


def localpart(client: nio.AsyncClient) -> str:
    """The member's name as the bot shows it (Synapse's default display name)."""
    return str(client.user_id).partition(":")[0].lstrip("@")


def relates(event: nio.Event) -> dict[str, Any]:
    return dict(event.source["content"].get("m.relates_to", {}))


def an_edit_of(event_id: str, text: str) -> Callable[[Any], bool]:
    """Match for `wait_for_event`: an edit (`m.replace`) of `event_id` whose new content
    has `text` in its body."""
    return lambda e: (isinstance(e, nio.RoomMessageText)
                      and relates(e) == {"rel_type": "m.replace", "event_id": event_id}
                      and text in e.source["content"]["m.new_content"]["body"])


async def react(client: nio.AsyncClient, room_id: str, event_id: str, key: str) -> str:
    """`client` reacts with `key` to `event_id`; returns the reaction's event id."""
    return await send_event(client, room_id, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": event_id, "key": key}})


async def seeded(client: nio.AsyncClient, room_id: str, bot: MatrixBot, event_id: str,
                 *keys: str) -> None:
    """Wait until `client` sees the bot's own reaction with each of `keys` under `event_id`:
    the buttons of a card."""
    for key in keys:
        await wait_for_event(client, room_id, from_bot(bot, nio.ReactionEvent, lambda e, k=key: (
            e.reacts_to == event_id and e.key == k)), what=f"seeded {key}")
