"""`konsulta run --framework ptb`: the citizens' journey on python-telegram-bot.

Receiving is ptb's: its `Bot`, pointed at the configured Bot API server (Telegram, a
local telegram-bot-api, the project's emulator) with `base_url`, long-polls, and its
`Application` routes each update to the handlers in `bot.ptb.citizens`. Everything
after that is shared with the aiogram runtime (`bot.runtime`, `make_sender`):

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
import logging
import os
from collections.abc import Sequence
from datetime import timedelta

from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes

from bot.ptb.citizens import Citizens
from bot.runtime import (
    NO_CHAT,
    ChatQueues,
    mark_handled,
    poll_updates,
    run_until_stopped,
    store_batch,
)
from bot.telegram.runtime import (
    ALLOWED_UPDATES,
    make_bot,
    make_sender,
    patiently,
    register_commands,
)
from bot.telegram.sender import Sender
from konsulta.bootstrap import App
from konsulta.conversations import Conversations

log = logging.getLogger(__name__)


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
        self.chats = ChatQueues(chat_key, self._handle)
        self.failures: dict[int, str] = {}

    @classmethod
    def build(cls, app: App) -> PtbRuntime:
        # ptb 23 reads durations as timedelta; opt in now rather than warn on each read.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request else
        return cls(app, make_sender(app, make_bot(app.settings)))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            error = context.error
            self.failures[update.update_id] = f"{type(error).__name__}: {error}"[:500]
            log.error("update %s failed", update.update_id, exc_info=error)

    async def accept(self, updates: Sequence[Update]) -> None:
        """Commit to the inbox, then handle the ones not seen before."""
        self.chats.submit(await store_batch(self.app, updates, chat_key, Update.to_dict))

    async def _handle(self, update: Update) -> None:
        await self.application.process_update(update)  # errors go to `on_error`
        await mark_handled(self.app, update.update_id, self.failures.pop(update.update_id, None))

    async def recover(self) -> None:
        async with self.app.uow() as uow:
            pending = await uow.inbox.pending(limit=100_000)
        bot = self.application.bot
        self.chats.submit([Update.de_json(row.raw, bot) for row in pending if row.raw])

    async def poll(self, stop: asyncio.Event, timeout: int = 25) -> None:
        """Long polling; the offset moves on only after the batch is committed."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        await poll_updates(
            stop,
            lambda offset: bot.get_updates(
                offset=offset,
                timeout=timeout,
                allowed_updates=ALLOWED_UPDATES,
                read_timeout=timeout + 10,
            ),
            self.accept,
            transient=(RetryAfter, NetworkError),
            retry_after=lambda e: seconds(e.retry_after) if isinstance(e, RetryAfter) else None,
        )

    async def run(self, stop: asyncio.Event) -> None:
        async with self.application:  # initialize (getMe) ... shutdown
            await patiently(
                "setMyCommands", lambda: register_commands(self.app, self.sender.bot), stop
            )
            await self.recover()
            log.info("bot @%s is running (ptb, polling)", self.application.bot.username)
            loops = {"receive": self.poll(stop), "sender": self.sender.run(stop)}
            try:
                await run_until_stopped(
                    self.app, stop, loops, wake=self.sender.wake, idle=self.chats.idle
                )
            finally:
                await self.sender.bot.session.close()
