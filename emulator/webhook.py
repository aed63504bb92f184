"""Pushes queued updates to the bot's webhook, one at a time, in order.

Telegram keeps an update until the webhook answers 2xx and retries with growing
pauses otherwise; Konsulta relies on that (it answers 200 only after the update is
committed to its inbox), so the emulator must redeliver exactly the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp

from emulator.config import WebhookConfig
from emulator.state import EmulatorState, Update, WebhookSettings

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    def __init__(self, state: EmulatorState, config: WebhookConfig) -> None:
        self.state = state
        self.config = config
        self.delivered = 0
        self.failed_attempts = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    def restart(self) -> None:
        """Follow ``state.webhook``: (re)start delivery for a URL, stop it for none."""
        if self._task is not None:
            self._task.cancel()
            self._stopping.add(self._task)
            self._task = None
        if self.state.webhook is not None:
            self._task = asyncio.create_task(self._deliver_forever(self.state.webhook))

    async def stop(self) -> None:
        self.state.webhook = None
        self.restart()
        for task in self._stopping:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stopping.clear()

    def _next_update(self, settings: WebhookSettings) -> Update | None:
        allowed = settings.allowed_updates
        if allowed:
            self.state.updates = [u for u in self.state.updates if u.kind in allowed]
        return self.state.updates[0] if self.state.updates else None

    async def _deliver_forever(self, settings: WebhookSettings) -> None:
        timeout = aiohttp.ClientTimeout(total=self.config.request_timeout)
        delay = self.config.retry_initial_delay
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self.state.closed:
                update = self._next_update(settings)
                if update is None:
                    await self.state.wait_until(lambda: bool(self.state.updates), 3600)
                    continue
                error = await self._post(session, settings, update)
                if error is None:
                    self.delivered += 1
                    if update in self.state.updates:
                        self.state.updates.remove(update)
                    delay = self.config.retry_initial_delay
                    continue
                self.failed_attempts += 1
                settings.last_error_date = self.state.unix_now()
                settings.last_error_message = error
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_delay)

    async def _post(
        self, session: aiohttp.ClientSession, settings: WebhookSettings, update: Update
    ) -> str | None:
        """Return ``None`` when delivered, else Telegram-style ``last_error_message``."""
        headers = {"Content-Type": "application/json"}
        if settings.secret_token:
            headers[SECRET_HEADER] = settings.secret_token
        try:
            async with session.post(
                settings.url, data=json.dumps(update.to_json()), headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as error:
            return f"Connection failed: {error.__class__.__name__}"
