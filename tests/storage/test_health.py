"""/healthz and /metrics answer over HTTP with the bot's real state."""

from __future__ import annotations

import aiohttp

from bot.health import HealthServer
from tests.support import Bot


async def test_health_and_metrics(sqlite_url: str) -> None:
    bot = await Bot.started(sqlite_url)
    server = HealthServer(bot.app, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        await bot.send("marco", "milano", "/chi", deliver=False)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                report = await response.json()
            assert report["database"] is True and report["adapters"] == {"memory": True}
            assert report["outbox_depth"] == 1
            await bot.app.delivery.drain()
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
            assert 'piazzabot_events_total{kind="CommandEvent",platform="memory"}' in text
            assert "piazzabot_outbox_depth 0.0" in text
            assert 'piazzabot_messages_sent_total{platform="memory"}' in text
            bot.adapter.healthy = lambda: False  # type: ignore[method-assign]
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 503
                assert (await response.json())["adapters"] == {"memory": False}
    finally:
        await server.stop()
        await bot.stop()
