"""Effectively-once updates: stored before they are acknowledged, handled in order.

aiogram's own polling confirms an update to Telegram before the handler finishes, so
a crash loses it. Here every update is first committed to the inbox table (polling:
the whole batch, then the offset moves on; webhook: the 200 is answered after the
commit); a replayed `update_id` is recognised and dropped. Handling happens from the
inbox: one citizen's updates strictly one after another in update_id order, different
citizens in parallel. Every update handled ends marked (`InboxWorker._handle`), and
marking drops its raw JSON. After a crash, whatever was stored but not handled is
handled on start.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError

from konsulta.bootstrap import App
from konsulta.outbound import noting_marks

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
    return -(10**15) - update.update_id


def raw_update(update: Update) -> dict[str, Any]:
    return update.model_dump(mode="json", exclude_none=True, by_alias=True)


async def store_updates(app: App, updates: Sequence[Update]) -> list[Update]:
    """Commit updates to the inbox in one statement and transaction; returns the ones
    not seen before."""
    rows = []
    for update in updates:
        key = chat_key(update)
        rows.append((update.update_id, raw_update(update), key if key > -(10**15) else None))
    async with app.uow() as uow:
        new = await uow.inbox.add_many(rows)
        await uow.commit()
    fresh: list[Update] = []
    for update in updates:
        if update.update_id in new:
            new.discard(update.update_id)
            fresh.append(update)
    return fresh


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


class InboxWorker:
    """Feeds stored updates to the dispatcher, one chat at a time per chat."""

    def __init__(self, app: App, dispatcher: Dispatcher, bot: Bot) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.bot = bot
        self.queues: dict[int, deque[Update]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.handled = 0

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
        """Handle one update; afterwards it is marked handled, whatever happened.

        The rule that every update ends marked lives here, not in each handler: a
        handler that answers marks its update in the transaction that stores what it
        did (`konsulta.outbound.deliver`), and this marks every other one (no handler
        wanted it, a handler returned without answering, or failed), so no update is
        handled again at every restart or keeps the person's name and text in the
        inbox. Updates `deliver` marked are skipped, which saves a write transaction
        per update on the busy path.
        """
        error: str | None = None
        with noting_marks() as marked:
            try:
                if _known(update):
                    await self.dispatcher.feed_update(self.bot, update)
            except Exception as exc:  # never let one bad update stop the citizen's queue
                log.exception("update %s failed", update.update_id)
                error = f"{type(exc).__name__}: {exc}"[:500]
        if update.update_id not in marked or error is not None:
            try:
                async with self.app.uow() as uow:
                    await uow.inbox.mark_handled_if_pending(update.update_id, error=error)
                    await uow.commit()
            except Exception:
                log.exception("could not mark update %s handled", update.update_id)
        self.handled += 1

    async def recover(self) -> int:
        """Submit what was stored but not handled before the last stop."""
        async with self.app.uow() as uow:
            pending = await uow.inbox.pending(limit=100_000)
        updates = [
            Update.model_validate(row.raw, context={"bot": self.bot}) for row in pending if row.raw
        ]
        self.submit(updates)
        if updates:
            log.info("resuming %d update(s) stored before the last stop", len(updates))
        return len(updates)

    async def idle(self) -> None:
        """Wait until every submitted update is handled (tests, shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)
