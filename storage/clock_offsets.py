"""Where the controllable clock keeps its offset: one row per clock in `clock_offsets`.

`konsulta.clock.ControllableClock` reads it at every tick and `konsulta clock advance`
writes it, each in a short transaction of its own (not a unit of work: the clock is
read before any event's work starts, and by every process on the database).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ClockOffset
from storage.repositories._dialect import upsert_insert

__all__ = ["read_offset", "write_offset"]


async def read_offset(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> timedelta:
    """The clock's offset from real time (zero if it was never moved)."""
    async with sessionmaker() as session:
        seconds = (
            await session.execute(
                select(ClockOffset.offset_seconds).where(ClockOffset.name == name)
            )
        ).scalar_one_or_none()
    return timedelta(seconds=seconds or 0)


async def write_offset(
    sessionmaker: async_sessionmaker[AsyncSession], name: str, offset: timedelta
) -> None:
    """Set the clock's offset and commit."""
    seconds = int(offset.total_seconds())
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        statement = (
            upsert_insert(session, ClockOffset)
            .values(name=name, offset_seconds=seconds, updated_at=now)
            .on_conflict_do_update(
                index_elements=[ClockOffset.name],
                set_={"offset_seconds": seconds, "updated_at": now},
            )
        )
        await session.execute(statement)
        await session.commit()
