"""What both bot runtimes do around their framework, written once and free of either:
aiogram's (`bot.telegram.runtime`) and python-telegram-bot's (`bot.ptb.runtime`).

- `store_batch`: a batch of updates is committed to the inbox before it is
  acknowledged; a replayed `update_id` (or a repeat within the batch) is dropped.
- `poll_updates`: long polling whose offset moves on only after the batch is stored.
- `ChatQueues`: one chat's updates strictly one after another in update_id order,
  different chats in parallel; `mark_handled` ends each one whatever happened.
- `run_until_stopped`: the process's loops and the outreach tick side by side until
  told to stop; then the updates under way are let finish.

Each runtime brings what is its framework's: how an update names its chat, how it is
stored as JSON, how it is handled and marked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from konsulta.bootstrap import App
from outreach.scheduler import Outreach
from outreach.transcripts import FetchFile
from storage.sqlite_driver import run_inline

log = logging.getLogger(__name__)

#: Below every chat id: the queue of an update that has no chat is its own.
NO_CHAT = -(10**15)


class Incoming(Protocol):
    """An update of either framework."""

    @property
    def update_id(self) -> int: ...


U = TypeVar("U", bound=Incoming)


async def store_batch(
    app: App,
    updates: Sequence[U],
    chat: Callable[[U], int],
    raw: Callable[[U], dict[str, Any]],
    *,
    worker: str | None = None,
    bot: str = "",
) -> list[U]:
    """Commit updates of `bot` to the inbox in one statement and transaction, claimed
    by `worker`; returns the ones not seen before."""
    rows = []
    for update in updates:
        key = chat(update)
        rows.append((update.update_id, raw(update), key if key > NO_CHAT else None))
    lease = timedelta(seconds=app.settings.inbox_lease_seconds)
    async with app.uow() as uow:
        new = await uow.inbox.add_many(rows, claimed_by=worker, lease=lease, bot=bot)
        await uow.commit()
    fresh: list[U] = []
    for update in updates:
        if update.update_id in new:
            new.discard(update.update_id)  # a repeat within the batch runs once
            fresh.append(update)
    return fresh


async def poll_updates(
    stop: asyncio.Event,
    get_updates: Callable[[int | None], Awaitable[Sequence[U]]],
    accept: Callable[[Sequence[U]], Awaitable[None]],
    *,
    transient: tuple[type[Exception], ...],
    retry_after: Callable[[Exception], float | None],
) -> None:
    """Long polling: `get_updates(offset)`, then `accept` (which commits the batch);
    the offset moves on only after that. A `transient` error is waited out: a rate
    limit for its `retry_after`, anything else with a back-off up to 30 s."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            updates = await get_updates(offset)
        except transient as error:
            wait = retry_after(error)
            if wait is None:
                log.warning("getUpdates failed (%s); retrying in %.0fs", error, backoff)
                wait, backoff = backoff, min(backoff * 2, 30)
            await asyncio.sleep(wait)
            continue
        backoff = 1.0
        if updates:
            await accept(updates)
            offset = updates[-1].update_id + 1


async def mark_handled(
    app: App, update_id: int, error: str | None = None, *, bot: str = ""
) -> None:
    """Mark an update handled (with its error if it failed), unless another worker
    did; if that fails too it is only logged: the update is handled again on start."""
    try:
        async with app.uow() as uow:
            await uow.inbox.mark_handled_if_pending(update_id, error=error, bot=bot)
            await uow.commit()
    except Exception:
        log.exception("could not mark update %s handled", update_id)


class ChatQueues(Generic[U]):
    """Hands updates to `handle`, one chat's one after another, chats in parallel."""

    def __init__(self, chat: Callable[[U], int], handle: Callable[[U], Awaitable[None]]) -> None:
        self.chat = chat
        self.handle = handle
        self.queues: dict[int, deque[U]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def submit(self, updates: Sequence[U]) -> None:
        for update in sorted(updates, key=lambda u: u.update_id):
            key = self.chat(update)
            self.queues.setdefault(key, deque()).append(update)
            if key not in self.tasks:
                self.tasks[key] = asyncio.create_task(self._drain(key))

    async def _drain(self, key: int) -> None:
        run_inline()  # a dialog's statements are short (storage/sqlite_driver.py)
        queue = self.queues[key]
        try:
            while queue:
                await self.handle(queue.popleft())
        finally:
            del self.tasks[key]
            del self.queues[key]

    async def idle(self) -> None:
        """Wait until every submitted update is handled."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)


async def run_until_stopped(
    app: App,
    stop: asyncio.Event,
    loops: dict[str, Coroutine[Any, Any, None]],
    *,
    wake: Callable[[], None],
    idle: Callable[[], Awaitable[None]],
    fetch_file: FetchFile | None = None,
) -> None:
    """Run `loops` (receiving, sending...) and outreach (follow-ups, broadcasts, machine
    transcripts...) until `stop`; then outreach stops, the loops are cancelled and
    the updates under way finish (`idle`)."""
    tasks = [asyncio.create_task(loop, name=name) for name, loop in loops.items()]
    outreach = Outreach(app, wake=wake, fetch_file=fetch_file)
    outreach.start()
    try:
        await stop.wait()
    finally:
        await outreach.shutdown()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await idle()
