"""`/healthz` and `/metrics` on a local address, for the service's supervisor and Prometheus.

/healthz answers 200 when the database answers and every adapter is connected, else 503,
with a JSON body: database, adapters, outbox depth and the age of its oldest message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


async def outbox_state(app: App) -> tuple[int, float]:
    """Pending messages, and how long the oldest has waited (seconds)."""
    async with app.db.transaction() as session:
        depth, oldest = (await session.execute(
            select(func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.state == "pending"))).one()
    age = (app.clock.now() - oldest).total_seconds() if isinstance(oldest, datetime) else 0.0
    return int(depth), max(age, 0.0)


async def health(app: App) -> dict[str, Any]:
    report: dict[str, Any] = {"adapters": {p: a.healthy() for p, a in app.adapters.items()}}
    try:
        depth, age = await outbox_state(app)
        report.update(database=True, outbox_depth=depth, outbox_oldest_seconds=round(age, 1))
    except Exception as exc:  # the database is down or unreachable
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        report["database"] = False
    report["ok"] = report["database"] and all(report["adapters"].values())
    return report


class OutboxCollector(Collector):
    """Outbox depth and age, read when Prometheus scrapes (values cached by the server)."""

    def __init__(self) -> None:
        self.depth = 0
        self.age = 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("piazzabot_outbox_depth", "Messages waiting for delivery",
                                value=self.depth)
        yield GaugeMetricFamily("piazzabot_outbox_oldest_seconds",
                                "How long the oldest waiting message has waited", value=self.age)


class HealthServer:
    def __init__(self, app: App, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.outbox = OutboxCollector()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        web_app = web.Application()
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real one, if 0 was asked
        REGISTRY.register(self.outbox)
        log.info("health and metrics on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            REGISTRY.unregister(self.outbox)
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await health(self.app)
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            self.outbox.depth, self.outbox.age = await outbox_state(self.app)
        except Exception:
            log.warning("metrics: outbox state unavailable")
        return web.Response(body=generate_latest(REGISTRY),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})
