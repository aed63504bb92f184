"""The one sender: every outbound Telegram call of the bot goes through here.

It drains the outbox (rows committed together with the state they belong to) in
priority order, so a citizen mid-dialog never waits behind a town-wide broadcast;
keeps to Telegram's limits with token buckets; pauses everything on a 429 for
`retry_after`; marks a citizen unreachable on a 403. Messages to one chat go out one
at a time, in the order they were queued. A claimed row is leased, so if this process
dies, another (or the restarted one) sends it when the lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.app import App
from bot.telegram.render import render
from bot.telegram.throttle import Limits
from storage.models import OutboxMessage
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
#: Longest a round waits for one chat's rate limit before deferring its messages.
MAX_CHAT_WAIT = 0.3


@dataclass(frozen=True)
class Result:
    message_id: int
    status: str  # sent, failed, blocked, retry
    error: str | None = None
    retry_in: float = 0.0
    chat_id: int = 0
    citizen_id: int | None = None
    forget: bool = False


class Sender:
    def __init__(
        self,
        app: App,
        bot: Bot,
        limits: Limits | None = None,
        *,
        batch: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.bot = bot
        settings = app.settings
        rate = 1000.0 if settings.paid_broadcast else settings.rate_per_second
        self.limits = limits or Limits(per_second=rate, per_chat=settings.rate_per_chat)
        # About half a second of sending per round, so a dialog reply queued behind a
        # broadcast waits at most that long.
        self.batch = batch or max(10, int(self.limits.per_second / 2))
        self.clock = clock
        self.paused_until = 0.0
        self.sent = 0
        self.too_many_requests = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look at the outbox now rather than at the next tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        while not stop.is_set():
            try:
                count = await self.send_due()
            except Exception:  # a database hiccup must not kill the sender
                log.exception("sending round failed")
                count = 0
            if count == 0:
                self._wake.clear()
                waiters = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

    async def send_due(self) -> int:
        """One round: claim due rows, send them chat by chat, record the results."""
        async with self.app.uow() as uow:
            claimed = await uow.outbox.claim_due(limit=self.batch, lease=timedelta(minutes=2))
            await uow.commit()
        if not claimed:
            return 0
        by_chat: dict[int, list[OutboxMessage]] = defaultdict(list)
        for row in claimed:
            by_chat[row.chat_id].append(row)
        results: list[Result] = []
        await asyncio.gather(*(self._send_chat(rows, results) for rows in by_chat.values()))
        await self._record(results)
        return len(claimed)

    async def _send_chat(self, rows: list[OutboxMessage], results: list[Result]) -> None:
        for index, row in enumerate(rows):
            chat_wait = self.limits.chat(row.chat_id).wait_time()
            if chat_wait > MAX_CHAT_WAIT:
                # Do not hold the whole round for one busy chat: its rest goes next round.
                result = Result(row.id, "retry", "throttled", chat_wait, row.chat_id)
            else:
                result = await self._send_one(row)
            results.append(result)
            if result.status in {"blocked", "retry"}:
                # Keep the chat's order: what follows waits for the same retry.
                for later in rows[index + 1 :]:
                    status = "blocked" if result.status == "blocked" else "retry"
                    results.append(
                        Result(later.id, status, result.error, result.retry_in, later.chat_id)
                    )
                return

    async def _throttle(self, chat_id: int) -> None:
        while True:
            wait = max(self.paused_until - self.clock(), self.limits.wait_time(chat_id))
            if wait <= 0:
                self.limits.take(chat_id)
                return
            await asyncio.sleep(wait)

    async def _send_one(self, row: OutboxMessage) -> Result:
        payload: dict[str, Any] = row.payload
        await self._throttle(row.chat_id)
        texts = self.app.texts(payload.get("language") or self.app.settings.default_language)
        forget = bool(payload.get("forget"))
        try:
            await self.bot(render(row.chat_id, payload, texts))
        except TelegramRetryAfter as error:
            self.too_many_requests += 1
            self.paused_until = max(self.paused_until, self.clock() + error.retry_after)
            log.warning("429 from Telegram: pausing all sends for %ss", error.retry_after)
            return Result(row.id, "retry", "429", float(error.retry_after), row.chat_id)
        except TelegramForbiddenError as error:
            return Result(row.id, "blocked", error.message, 0, row.chat_id, row.citizen_id)
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return Result(row.id, "sent", None, 0, row.chat_id, forget=forget)
            log.error("Telegram refused outbox row %s: %s", row.id, error.message)
            return Result(row.id, "failed", error.message, 0, row.chat_id)
        except (TelegramNetworkError, TelegramServerError) as error:
            if row.attempts >= MAX_ATTEMPTS:
                return Result(row.id, "failed", str(error), 0, row.chat_id)
            return Result(row.id, "retry", str(error), 2.0**row.attempts, row.chat_id)
        self.sent += 1
        return Result(row.id, "sent", None, 0, row.chat_id, forget=forget)

    async def _record(self, results: list[Result]) -> None:
        now = utcnow()
        async with self.app.uow() as uow:
            for result in results:
                if result.status == "sent":
                    if result.forget:  # e.g. the goodbye after /delete: keep no trace
                        await uow.outbox.delete(result.message_id)
                    else:
                        await uow.outbox.mark_sent(result.message_id, sent_at=now)
                elif result.status == "retry":
                    retry_at = now + timedelta(seconds=result.retry_in)
                    await uow.outbox.mark_failed(
                        result.message_id, result.error or "retry", retry_at=retry_at
                    )
                elif result.status == "blocked":
                    await uow.outbox.mark_blocked(result.message_id, result.error)
                    await uow.outbox.block_pending_for_chat(result.chat_id, result.error)
                    if result.citizen_id is not None:
                        await uow.citizens.mark_unreachable(result.citizen_id)
                else:
                    await uow.outbox.mark_failed(result.message_id, result.error or "failed")
            await uow.commit()
