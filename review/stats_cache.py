"""Answer aggregates kept for a few seconds, refreshed in the background.

Counting a million answers takes PostgreSQL most of a second, too slow to repeat on
every page view. The headline counts (runs) stay live on every view; the per-question
aggregates for a (consultation, filters) pair are computed once, served from here, and
recomputed in the background once older than `max_age` (stale-while-revalidate), so a
page never waits for a recount it has already seen. A cache only: losing it (a
restart, a second process) costs one recount, never data. `max_age=0` turns it off.

Views that arrive together while a key is missing wait for one computation (single
flight), so a burst of readers costs one recount, not one each. The public pages
keep their own instance (`Dashboard.public`), so their traffic never evicts the
dashboard's entries; it is built with `keep_none=False`: a None (nothing published)
is not kept, and a refresh that finds None drops the entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    value: Any
    at: float


class StatsCache:
    def __init__(
        self,
        max_age: float,
        *,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
        keep_none: bool = True,
    ) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self.keep_none = keep_none
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}
        self._computing: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
        """The value for `key` and its age in seconds (0 when just computed)."""
        if self.max_age <= 0:
            return await compute(), 0.0
        entry = self._entries.get(key)
        now = self._clock()
        if entry is None:
            return await self._first(key, compute), 0.0
        self._entries.move_to_end(key)
        age = now - entry.at
        if age > self.max_age and key not in self._refreshing:
            task = asyncio.create_task(self._refresh(key, compute))
            self._refreshing[key] = task
        return entry.value, age

    async def _first(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        """Compute a missing value once, however many views wait for it."""
        waiting = self._computing.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._computing[key] = future
        try:
            value = await compute()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(value)
            self._store(key, value)
            return value
        finally:
            self._computing.pop(key, None)

    def clear(self) -> None:
        """Forget every value (after a change the values depend on, e.g. publishing)."""
        self._entries.clear()

    def _store(self, key: Hashable, value: Any) -> None:
        if value is None and not self.keep_none:
            self._entries.pop(key, None)
            return
        self._entries[key] = _Entry(value, self._clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def _refresh(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> None:
        try:
            self._store(key, await compute())
        except Exception:  # a failed recount keeps the last good numbers
            log.exception("refreshing dashboard aggregates failed")
        finally:
            self._refreshing.pop(key, None)

    async def close(self) -> None:
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
