"""`konsulta run --framework ptb`: the citizens' journey on python-telegram-bot.

Receiving is ptb's: its `Bot`, pointed at the configured Bot API server (Telegram, a
local telegram-bot-api, the project's emulator) with `base_url`, long-polls, and its
`Application` routes each update to the handlers in `bot.ptb.citizens`. Everything
after that is shared with the aiogram runtime:

- the inbox: a batch of updates is committed before the offset moves on (ptb's own
  `Updater` would acknowledge them first), a replayed `update_id` is dropped, and
  what was stored but not handled before a stop is handled on start;
- one chat's updates are handled one after another, chats in parallel, and every
  update ends marked handled (by its handler's transaction, else here, with the error
  if it failed);
- delivery: what the services queue leaves through the one aiogram `Sender`, the
  outbox's only reader, which keeps the order per chat and Telegram's limits; the
  outreach tick (follow-ups, reminders, broadcasts) wakes it as in `bot.telegram`.
  Rendering the outbox through ptb's `Bot` would mean a second sender with the same
  invariants, so ptb here only receives, parses and answers button taps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Sequence
from datetime import timedelta

from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes

from bot.ptb.citizens import Citizens
from bot.telegram.keyboards import track_keyboards
from bot.telegram.runtime import ALLOWED_UPDATES, make_bot, patiently, register_commands
from bot.telegram.sender import Sender
from konsulta.bootstrap import App
from konsulta.conversations import Conversations
from outreach.scheduler import Outreach

log = logging.getLogger(__name__)

#: Below every chat id: the queue of an update that has no chat is its own.
NO_CHAT = -(10**15)


def chat_key(update: Update) -> int:
    """The chat whose updates must be handled in order (as `bot.telegram.inbox`)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return NO_CHAT - update.update_id


def seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class PtbRuntime:
    """ptb's `Application` fed from the inbox; the aiogram `Sender` delivers."""

    def __init__(self, app: App, sender: Sender) -> None:
        self.app = app
        self.sender = sender
        self.application = (
            Application.builder()
            .token(app.settings.bot_token.get_secret_value())
            .base_url(f"{app.settings.api_base_url}/bot")
            .base_file_url(f"{app.settings.api_base_url}/file/bot")
            .updater(None)  # polling is ours: commit to the inbox first
            .build()
        )
        self.application.add_handlers(Citizens(app, Conversations(app)).handlers())
        self.application.add_error_handler(self.on_error)
        self.queues: dict[int, deque[Update]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.failures: dict[int, str] = {}

    @classmethod
    def build(cls, app: App) -> PtbRuntime:
        # ptb 23 reads durations as timedelta; opt in now rather than warn on each read.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request else
        bot = make_bot(app.settings)
        track_keyboards(app, bot)  # one live keyboard per question, as in `Runtime.build`
        sender = Sender(app, bot)
        app.handoff = sender  # as `Runtime.build`: replies reach the sender on commit
        return cls(app, sender)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            error = context.error
            self.failures[update.update_id] = f"{type(error).__name__}: {error}"[:500]
            log.error("update %s failed", update.update_id, exc_info=error)

    async def accept(self, updates: Sequence[Update]) -> None:
        """Commit to the inbox, then handle the ones not seen before."""
        rows = []
        for update in updates:
            key = chat_key(update)
            rows.append((update.update_id, update.to_dict(), key if key > NO_CHAT else None))
        async with self.app.uow() as uow:
            new = await uow.inbox.add_many(rows)
            await uow.commit()
        fresh = []
        for update in updates:
            if update.update_id in new:
                new.discard(update.update_id)  # a repeat within the batch runs once
                fresh.append(update)
        self.submit(fresh)

    def submit(self, updates: Sequence[Update]) -> None:
        for update in sorted(updates, key=lambda u: u.update_id):
            key = chat_key(update)
            self.queues.setdefault(key, deque()).append(update)
            if key not in self.tasks:
                self.tasks[key] = asyncio.create_task(self._drain(key))

    async def _drain(self, key: int) -> None:
        queue = self.queues[key]
        try:
            while queue:
                await self._handle(queue.popleft())
        finally:
            del self.tasks[key]
            del self.queues[key]

    async def _handle(self, update: Update) -> None:
        await self.application.process_update(update)  # errors go to `on_error`
        error = self.failures.pop(update.update_id, None)
        try:
            async with self.app.uow() as uow:
                await uow.inbox.mark_handled_if_pending(update.update_id, error=error)
                await uow.commit()
        except Exception:
            log.exception("could not mark update %s handled", update.update_id)

    async def recover(self) -> None:
        async with self.app.uow() as uow:
            pending = await uow.inbox.pending(limit=100_000)
        bot = self.application.bot
        self.submit([Update.de_json(row.raw, bot) for row in pending if row.raw])

    async def poll(self, stop: asyncio.Event, timeout: int = 25) -> None:
        """Long polling; the offset moves on only after the batch is committed."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        backoff = 1.0
        while not stop.is_set():
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=timeout + 10,
                )
            except RetryAfter as error:
                await asyncio.sleep(seconds(error.retry_after))
                continue
            except NetworkError as error:
                log.warning("getUpdates failed (%s); retrying in %.0fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            backoff = 1.0
            if updates:
                await self.accept(updates)
                offset = updates[-1].update_id + 1

    async def run(self, stop: asyncio.Event) -> None:
        async with self.application:  # initialize (getMe) ... shutdown
            await patiently(
                "setMyCommands", lambda: register_commands(self.app, self.sender.bot), stop
            )
            await self.recover()
            log.info("bot @%s is running (ptb, polling)", self.application.bot.username)
            tasks = [
                asyncio.create_task(self.poll(stop), name="receive"),
                asyncio.create_task(self.sender.run(stop), name="sender"),
            ]
            outreach = Outreach(self.app, wake=self.sender.wake)
            outreach.start()
            try:
                await stop.wait()
            finally:
                await outreach.shutdown()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                with contextlib.suppress(Exception):
                    while self.tasks:
                        await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)
                await self.sender.bot.session.close()
