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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ClockOffset
from storage.repositories._dialect import upsert_insert

__all__ = ["CLOCK_NAME", "Clock", "ControllableClock", "SystemClock", "read_offset", "set_offset"]

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

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def refresh(self) -> None:
        async with self._sessionmaker() as session:
            self.offset = await read_offset(session)

    async def advance(self, delta: timedelta) -> datetime:
        async with self._sessionmaker() as session:
            offset = await read_offset(session) + delta
            await set_offset(session, offset)
            await session.commit()
        self.offset = offset
        return self.now()

    async def reset(self) -> None:
        async with self._sessionmaker() as session:
            await set_offset(session, timedelta(0))
            await session.commit()
        self.offset = timedelta(0)


async def read_offset(session: AsyncSession) -> timedelta:
    seconds = (
        await session.execute(
            select(ClockOffset.offset_seconds).where(ClockOffset.name == CLOCK_NAME)
        )
    ).scalar_one_or_none()
    return timedelta(seconds=seconds or 0)


async def set_offset(session: AsyncSession, offset: timedelta) -> None:
    seconds = int(offset.total_seconds())
    now = datetime.now(UTC)
    statement = (
        upsert_insert(session, ClockOffset)
        .values(name=CLOCK_NAME, offset_seconds=seconds, updated_at=now)
        .on_conflict_do_update(
            index_elements=[ClockOffset.name], set_={"offset_seconds": seconds, "updated_at": now}
        )
    )
    await session.execute(statement)
