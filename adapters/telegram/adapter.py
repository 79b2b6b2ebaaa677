"""The Telegram adapter: PTB's lifecycle driven by the bot, in the bot's own event loop.

Polling (`polling.Poller`, which stores the update offset) or a webhook (PTB's `Updater`
server, which checks Telegram's secret token header); no JobQueue, no persistence — the
database and the scheduler do that job. Outgoing calls pass the rate limiter
(`rate_limit.TelegramRateLimiter`: Telegram's limits, the overall one as a sliding window),
which waits out one flood-control answer itself; past that, the error goes back to the
outbox, which retries later.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler

from adapters.base import Adapter, Capabilities, CoreHandle, Delivered, Outgoing, RetryLater
from adapters.telegram.admins import AdminCache
from adapters.telegram.commands_menu import register_commands
from adapters.telegram.http import AiohttpRequest
from adapters.telegram.inbound import PLATFORM, Inbound
from adapters.telegram.log_redaction import hide_in_logs
from adapters.telegram.outbound import Outbound
from adapters.telegram.poll_memory import PollMemory
from adapters.telegram.polling import Poller
from adapters.telegram.rate_limit import TelegramRateLimiter
from adapters.telegram.render import MAX_TEXT
from bot.config import TelegramConfig

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "poll_answer",
                   "my_chat_member", "chat_member")
RATE_LIMIT_RETRIES = 1  # flood-control answers waited out in place; then the outbox waits
MESSAGES_PER_SECOND = 30  # Telegram's limits, kept by the rate limiter: overall,
GROUP_MESSAGES_PER_MINUTE = 20  # and per group


class TelegramAdapter(Adapter):
    platform = PLATFORM
    capabilities = Capabilities(buttons=True, edits=True, native_polls=True, files=True,
                                images=True, direct_messages=True, max_text=MAX_TEXT)

    def __init__(self, config: TelegramConfig, *, default_locale: str = "it") -> None:
        if config.token is None or not config.token.get_secret_value():
            raise ValueError("telegram.token is required")
        self.config = config
        self.default_locale = default_locale
        self.application: Application | None = None
        self.poller: Poller | None = None
        self._outbound: Outbound | None = None

    @property
    def username(self) -> str | None:
        return self.application.bot.username if self.application else None

    def _build(self) -> Application:
        token = self.config.token.get_secret_value() if self.config.token else ""
        hide_in_logs(token)
        builder = (ApplicationBuilder().token(token)
                   .base_url(self.config.base_url).base_file_url(self.config.base_file_url)
                   .request(AiohttpRequest())
                   .get_updates_request(AiohttpRequest(connections=1))
                   .rate_limiter(TelegramRateLimiter(
                       MESSAGES_PER_SECOND, GROUP_MESSAGES_PER_MINUTE, RATE_LIMIT_RETRIES))
                   .job_queue(None).persistence(None))
        if self.config.mode == "polling":
            builder = builder.updater(None)
        return builder.build()

    async def start(self, core: CoreHandle) -> None:
        application = self._build()
        await application.initialize()  # getMe: a wrong token stops the start here
        bot = application.bot
        polls = PollMemory(core.state)
        inbound = Inbound(bot, core, AdminCache(bot, self.config.admin_cache_seconds), polls)
        self._outbound = Outbound(bot, polls)
        self.application = application
        try:
            await register_commands(bot, core, self.default_locale)
            await application.start()
            if self.config.mode == "webhook":
                await self._start_webhook(application, inbound)
            else:
                await bot.delete_webhook(drop_pending_updates=False)
                self.poller = Poller(bot, inbound.handle_many, core.state, ALLOWED_UPDATES)
                await self.poller.start()
        except BaseException:
            await self.stop()
            raise
        log.info("telegram: @%s receiving by %s", bot.username, self.config.mode)

    async def _start_webhook(self, application: Application, inbound: Inbound) -> None:
        """PTB's webhook server: it refuses requests without the secret token (403)."""
        async def on_update(update: Update, _context: object) -> None:
            await inbound.handle(update)

        application.add_handler(TypeHandler(Update, on_update))
        hook = self.config.webhook
        # The configuration requires both in webhook mode (bot.config.TelegramConfig).
        assert hook.url is not None and hook.secret_token is not None and application.updater
        await application.updater.start_webhook(
            listen=hook.listen, port=hook.port, url_path=urlsplit(hook.url).path or "/",
            webhook_url=hook.url, secret_token=hook.secret_token.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES), drop_pending_updates=False)

    async def stop(self) -> None:
        application, self.application = self.application, None
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        if application is None:
            return
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    def healthy(self) -> bool:
        application = self.application
        if application is None or not application.running:
            return False
        if self.poller is not None:
            return self.poller.running
        return application.updater is not None and application.updater.running

    async def deliver(self, item: Outgoing) -> Delivered:
        if self._outbound is None:
            raise RetryLater("telegram adapter not started")
        return await self._outbound.deliver(item)
