"""Effectively-once updates: stored before they are acknowledged, handled in order.

aiogram's own polling confirms an update to Telegram before the handler finishes, so
a crash loses it. Here every update is first committed to the inbox table (polling:
the whole batch, then the offset moves on; webhook: the 200 is answered after the
commit); a replayed `update_id` is recognised and dropped. Handling happens from the
inbox: one citizen's updates strictly one after another in update_id order, different
citizens in parallel. Every update handled ends marked (`InboxWorker._handle`), and
marking drops its raw JSON. After a crash, whatever was stored but not handled is
handled on start.

Several workers (webhook processes) on one PostgreSQL: each update is handled by
exactly one of them. The worker that stores an update claims it (`worker` and a lease
on the inbox row), renews the lease on what it holds while it lives, and takes over
only updates whose lease ran out: a dead worker's, never a live one's. The handling
transaction marks its update handled only if it is still pending (else it rolls back,
`UpdateAlreadyHandled`), so even a worker that stalled past its lease cannot commit an
answer twice. One citizen's transactions take turns on the citizen row's lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol, cast

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError

from bot.logs import handling_update
from bot.runtime import NO_CHAT, ChatQueues, mark_handled, store_batch
from konsulta.bootstrap import App
from konsulta.outbound import noting_marks
from storage.repositories import UpdateAlreadyHandled

log = logging.getLogger(__name__)


def chat_key(update: Update) -> int:
    """The chat whose updates must be handled in order (or the update's own id)."""
    for message in (update.message, update.edited_message):
        if message is not None:
            return message.chat.id
    query = update.callback_query
    if query is not None:
        return query.message.chat.id if query.message is not None else query.from_user.id
    if update.my_chat_member is not None:
        return update.my_chat_member.chat.id
    return NO_CHAT - update.update_id


def raw_update(update: Update) -> dict[str, Any]:
    return update.model_dump(mode="json", exclude_none=True, by_alias=True)


async def store_updates(
    app: App, updates: Sequence[Update], *, worker: str | None = None, bot: str = ""
) -> list[Update]:
    """Commit updates of `bot` to the inbox in one statement and transaction, claimed
    by `worker`; returns the ones not seen before."""
    return await store_batch(app, updates, chat_key, raw_update, worker=worker, bot=bot)


def _known(update: Update) -> bool:
    """Whether aiogram knows the update's kind. Telegram adds kinds every year; one
    newer than this aiogram is no failure, just nothing any router can want (aiogram
    itself would only warn and skip it)."""
    try:
        kind = update.event_type
    except UpdateTypeLookupError:
        log.info("update %s is of a kind this bot does not know", update.update_id)
        return False
    return bool(kind)


class LateCallbackAnswers(BaseRequestMiddleware):
    """A button tap answered too late is no failure of its update.

    Handlers answer a tapped button (`answerCallbackQuery`, the spinner on the phone)
    straight away, before their transaction commits. An update handled late (after a
    restart, or taken over from a worker that died between that answer and its commit)
    gets "query is too old" from Telegram: the spinner has long stopped, the rest of
    the update still has to be handled, so that answer is skipped, not raised. Every
    `Sender` registers this on its bot, so each runtime has it.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if not isinstance(method, AnswerCallbackQuery) or "query is too old" not in str(error):
                raise
            log.info("a button tap was answered too late (handled after a restart)")
            return cast(Response[TelegramType], Response[bool](ok=True, result=True))


class UpdateMetrics(Protocol):
    """What the worker reports about each update it handles (see bot/telegram/health.py)."""

    def handled(self, seconds: float, *, failed: bool) -> None: ...


class InboxWorker:
    """Feeds stored updates to the dispatcher, one chat at a time per chat.

    `name` is this worker among all on the database: the updates it stores are claimed
    in its name (see `store_updates`), `keep_claims` renews their lease while it runs
    and takes over a dead worker's.
    """

    def __init__(
        self,
        app: App,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        name: str = "worker",
        metrics: UpdateMetrics | None = None,
        bot_name: str = "",
    ) -> None:
        self.app = app
        #: Which of the deployment's bots (its own inbox: update ids are per bot).
        self.bot_name = bot_name
        self.dispatcher = dispatcher
        self.bot = bot
        self.name = name
        self.metrics = metrics
        self.lease = timedelta(seconds=app.settings.inbox_lease_seconds)
        self.chats = ChatQueues(chat_key, self._handle_queued)
        #: Updates submitted and not yet handled, and those of them another worker
        #: took over meanwhile (this one had stalled past its lease): skipped.
        self.held: set[int] = set()
        self.lost: set[int] = set()
        self.handled = 0
        self.taken_over = 0

    def submit(self, updates: Sequence[Update]) -> None:
        self.held.update(update.update_id for update in updates)
        self.chats.submit(updates)

    async def _handle_queued(self, update: Update) -> None:
        if update.update_id in self.lost:
            self.lost.discard(update.update_id)
            self.held.discard(update.update_id)
            log.warning("update %s was taken over by another worker", update.update_id)
            return
        try:
            await self._handle(update)
        finally:
            self.held.discard(update.update_id)

    async def _handle(self, update: Update) -> None:
        """Handle one update; afterwards it is marked handled, whatever happened.

        The rule that every update ends marked lives here, not in each handler: a
        handler that answers marks its update in the transaction that stores what it
        did (`konsulta.outbound.deliver`), and this marks every other one (no handler
        wanted it, a handler returned without answering, or failed), so no update is
        handled again at every restart or keeps the person's name and text in the
        inbox. Updates `deliver` marked are skipped, which saves a write transaction
        per update on the busy path. An update another worker handled meanwhile rolls
        back and is left as that worker marked it.
        """
        error: str | None = None
        started = time.perf_counter()
        with handling_update(update.update_id), noting_marks() as marked:
            try:
                if _known(update):
                    await self.dispatcher.feed_update(self.bot, update)
            except UpdateAlreadyHandled:
                log.warning("update %s was handled by another worker", update.update_id)
                self.handled += 1
                return
            except Exception as exc:  # never let one bad update stop the citizen's queue
                log.exception("update %s failed", update.update_id)
                error = f"{type(exc).__name__}: {exc}"[:500]
        if update.update_id not in marked or error is not None:
            await mark_handled(self.app, update.update_id, error, bot=self.bot_name)
        self.handled += 1
        if self.metrics is not None:
            self.metrics.handled(time.perf_counter() - started, failed=error is not None)

    async def recover(self) -> int:
        """Submit what was stored but not handled before the last stop: updates this
        worker's name held before (a restart) and any whose lease ran out."""
        return await self._take_over(own=True)

    async def _take_over(self, *, own: bool) -> int:
        async with self.app.uow() as uow:
            claimed = await uow.inbox.take_over(
                self.name, lease=self.lease, own=own, bot=self.bot_name
            )
            await uow.commit()
        fresh = [row for row in claimed if row.update_id not in self.held]
        updates = [
            Update.model_validate(row.raw, context={"bot": self.bot}) for row in fresh if row.raw
        ]
        # A claimed row with no raw update left (emptied by an erasure) is done.
        empty = [row.update_id for row in fresh if not row.raw]
        if empty:
            async with self.app.uow() as uow:
                for update_id in empty:
                    await uow.inbox.mark_handled_if_pending(update_id, bot=self.bot_name)
                await uow.commit()
        self.submit(updates)
        if updates:
            self.taken_over += len(updates)
            log.info("resuming %d update(s) stored but not handled", len(updates))
        return len(updates)

    async def keep_claims(self, stop: asyncio.Event) -> None:
        """While this worker runs: renew the lease on the updates it holds, and take
        over updates whose worker died (their lease ran out), a few times per lease."""
        interval = self.lease.total_seconds() / 3
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                held = set(self.held)
                async with self.app.uow() as uow:
                    renewed = await uow.inbox.renew(self.name, lease=self.lease, bot=self.bot_name)
                    await uow.commit()
                if held - renewed:  # handled meanwhile, locked, or taken by another worker
                    async with self.app.uow() as uow:
                        taken = await uow.inbox.taken_from(
                            self.name, held - renewed, bot=self.bot_name
                        )
                    self.lost = (self.lost | taken) & self.held
                await self._take_over(own=False)
            except Exception:
                log.exception("could not renew this worker's claims on its updates")

    async def idle(self) -> None:
        """Wait until every submitted update is handled (tests, shutdown)."""
        await self.chats.idle()
