"""The clock outreach decides "is it due?" with: real UTC, or real UTC plus an offset.

Tests and the web playground need to jump two weeks ahead without waiting. With
`KONSULTA_CONTROLLABLE_CLOCK=true` the offset lives in the database (`clock_offsets`),
so `konsulta clock advance 14d` in one process moves the clock of every bot process on
the same database at their next tick. Only outreach reads this clock; the outbox and
the sender keep real time (a message due "now" on the moved clock is due now).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from storage.clock_offsets import read_offset, write_offset
from storage.engine import Sessionmaker

__all__ = ["CLOCK_NAME", "Clock", "ControllableClock", "SystemClock"]

CLOCK_NAME = "default"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, UTC."""
        ...

    async def refresh(self) -> None:
        """Pick up a change made by another process (a no-op for the real clock)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def refresh(self) -> None:
        return None


class ControllableClock:
    """Real time plus an offset read from the database at every `refresh()`."""

    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def refresh(self) -> None:
        self.offset = await read_offset(self._sessionmaker, CLOCK_NAME)

    async def advance(self, delta: timedelta) -> datetime:
        offset = await read_offset(self._sessionmaker, CLOCK_NAME) + delta
        await write_offset(self._sessionmaker, CLOCK_NAME, offset)
        self.offset = offset
        return self.now()

    async def reset(self) -> None:
        await write_offset(self._sessionmaker, CLOCK_NAME, timedelta(0))
        self.offset = timedelta(0)
