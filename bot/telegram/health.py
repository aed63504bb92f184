"""Is this bot process alive, ready, and how is it doing: probes and metrics.

- `GET /healthz` (liveness): the process answers; nothing else is checked, so a load
  balancer or systemd never restarts a worker because the database is slow.
- `GET /readyz` (readiness): the database answers, it is at the newest migration, and
  the Bot API answered recently. Telegram is not called on each probe: every Bot API
  call the bot makes (sending, getUpdates) counts, and only when none succeeded within
  `KONSULTA_BOT_API_FRESH_SECONDS` is one `getMe` made, at most once per that interval.
  The body is a small JSON object saying which check failed.
- `GET /metrics` (Prometheus text format): updates received, handled and failed, the
  handling latency, the outbox by status, the inbox backlog, and what the sender
  counts (messages sent, 429s). It is served only on the separate health server
  (`KONSULTA_HEALTH_PORT`, bound to `KONSULTA_HEALTH_HOST`, 127.0.0.1 by default),
  never on the public webhook endpoint.

Nothing here carries personal data: metrics are counts, the probes name checks only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from konsulta.bootstrap import App
from storage.health import database_revision, queue_depths
from storage.migrate import head_revision
from storage.models import OutboxStatus

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Handling latency buckets, seconds: a dialog turn takes milliseconds, a slow one a second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: A probe waits at most this long for the database or the Bot API.
PROBE_TIMEOUT = 5.0


class BotApiWatch(BaseRequestMiddleware):
    """Remembers when the Bot API last answered (any answer, even an error about the
    request, means it is reachable; a network fault or a 5xx does not)."""

    def __init__(self) -> None:
        self.last_answer: float | None = None

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            response = await make_request(bot, method)
        except (TelegramNetworkError, TelegramServerError):
            raise
        except TelegramAPIError:
            self.last_answer = time.monotonic()
            raise
        self.last_answer = time.monotonic()
        return response


class SenderCounters(Collector):
    """What the sender already counts, read (never reset) at each scrape. Only the
    attributes the sender has are reported, so a rewritten sender does not break it."""

    FIELDS: ClassVar[dict[str, tuple[str, str]]] = {
        "sent": ("konsulta_messages_sent", "Messages the sender delivered"),
        "failed": ("konsulta_messages_failed", "Messages the sender gave up on"),
        "too_many_requests": ("konsulta_telegram_429", "429 Too Many Requests from the Bot API"),
    }

    def __init__(self) -> None:
        self.sender: object | None = None

    def collect(self) -> Iterator[Metric]:
        for attribute, (name, documentation) in self.FIELDS.items():
            value = getattr(self.sender, attribute, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield CounterMetricFamily(name, documentation, value=value)


class Health:
    """The probes and metrics of one bot process (one registry each, not the global
    one, so several runtimes in one test process do not collide)."""

    def __init__(self, app: App, bot: Bot) -> None:
        self.app = app
        self.bot = bot
        self.head = head_revision()
        self.api = BotApiWatch()
        bot.session.middleware(self.api)
        self._refreshing: asyncio.Task[None] | None = None
        self._last_refresh = -1e9
        self.registry = CollectorRegistry()
        self.sender_counters = SenderCounters()
        self.registry.register(self.sender_counters)
        self.received = Counter(
            "konsulta_updates_received", "Updates stored in the inbox", registry=self.registry
        )
        self.handled_total = Counter(
            "konsulta_updates_handled", "Updates handled", registry=self.registry
        )
        self.failed = Counter(
            "konsulta_updates_failed", "Updates whose handler failed", registry=self.registry
        )
        self.latency = Histogram(
            "konsulta_update_handling_seconds",
            "Time from the start of handling an update to its commit",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox = Gauge(
            "konsulta_outbox_messages",
            "Outbox rows by status",
            ["status"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            "konsulta_inbox_backlog",
            "Updates stored but not yet handled (all workers)",
            registry=self.registry,
        )
        self.api_age = Gauge(
            "konsulta_bot_api_last_answer_seconds",
            "Seconds since the Bot API last answered this process (-1: never)",
            registry=self.registry,
        )

    # --- what the runtime reports -------------------------------------------------

    def handled(self, seconds: float, *, failed: bool) -> None:
        self.handled_total.inc()
        self.latency.observe(seconds)
        if failed:
            self.failed.inc()

    def watch_sender(self, sender: object) -> None:
        self.sender_counters.sender = sender

    # --- readiness ----------------------------------------------------------------

    async def readiness(self) -> dict[str, Any]:
        """Each check with its result; ready when every one is true."""
        checks: dict[str, Any] = {}
        try:
            revision = await asyncio.wait_for(database_revision(self.app.engine), PROBE_TIMEOUT)
        except Exception as error:  # the database does not answer
            log.warning("readiness: database: %s", type(error).__name__)
            checks["database"] = False
            checks["migrations"] = False
        else:
            checks["database"] = True
            checks["migrations"] = revision == self.head
        checks["bot_api"] = await self.bot_api_reachable()
        checks["ready"] = all(checks.values())
        return checks

    async def bot_api_reachable(self) -> bool:
        fresh = self.app.settings.bot_api_fresh_seconds
        if self._age() <= fresh:
            return True
        now = time.monotonic()
        if self._refreshing is None and now - self._last_refresh >= fresh:
            self._last_refresh = now
            self._refreshing = asyncio.create_task(self._get_me())
        if self._refreshing is not None:
            with contextlib.suppress(Exception):  # the check's answer says it
                await asyncio.wait_for(asyncio.shield(self._refreshing), PROBE_TIMEOUT)
        return self._age() <= fresh

    async def _get_me(self) -> None:
        try:
            await self.bot.get_me(request_timeout=int(PROBE_TIMEOUT))
        except Exception as error:
            log.warning("readiness: the Bot API did not answer getMe: %s", type(error).__name__)
        finally:
            self._refreshing = None

    def _age(self) -> float:
        last = self.api.last_answer
        return float("inf") if last is None else time.monotonic() - last

    # --- metrics ------------------------------------------------------------------

    async def metrics(self) -> bytes:
        try:
            depths = await asyncio.wait_for(queue_depths(self.app.engine), PROBE_TIMEOUT)
        except Exception as error:
            log.warning("metrics: could not count the queues: %s", type(error).__name__)
        else:
            for status in sorted({*map(str, OutboxStatus), *depths.outbox}):
                self.outbox.labels(status=status).set(depths.outbox.get(status, 0))
            self.backlog.set(depths.inbox_backlog)
        age = self._age()
        self.api_age.set(-1 if age == float("inf") else age)
        return generate_latest(self.registry)

    # --- the HTTP side --------------------------------------------------------------

    def add_probes(self, application: web.Application) -> None:
        """/healthz and /readyz (the webhook server gets these, never /metrics)."""
        application.router.add_get("/healthz", self._healthz)
        application.router.add_get("/readyz", self._readyz)

    def server(self) -> web.Application:
        """The health server: the probes and /metrics."""
        application = web.Application()
        self.add_probes(application)
        application.router.add_get("/metrics", self._metrics)
        return application

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self.readiness()
        return web.Response(
            status=200 if checks["ready"] else 503,
            text=json.dumps(checks),
            content_type="application/json",
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self.metrics()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
