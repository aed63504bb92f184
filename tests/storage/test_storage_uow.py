"""One unit of work per event: it commits once, or nothing is saved."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.uow import UnitOfWork


async def test_an_error_mid_event_saves_nothing(uow_factory: Callable[[], UnitOfWork]) -> None:
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.inbox.add(1, {})
            await uow.outbox.enqueue(1, "dialog", {"text": "hi"})
            raise RuntimeError("handler crashed")
    async with uow_factory() as uow:
        assert await uow.inbox.get(1) is None
        assert await uow.outbox.claim_due() == []


async def test_leaving_without_commit_saves_nothing_but_keeps_objects_readable(
    uow_factory: Callable[[], UnitOfWork], pseudonym_secret: str
) -> None:
    async with uow_factory() as uow:
        citizen = await uow.citizens.get_or_create(3, 3, secret=pseudonym_secret)
    assert citizen.participant_id.startswith("p-")
    async with uow_factory() as uow:
        assert await uow.citizens.find(3) is None


async def test_a_busy_moment_keeps_its_postgresql_connections_for_the_next_one(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], backend: str
) -> None:
    """Under load a worker holds about fifteen transactions at once (one per citizen
    being answered, the webhook's commit, the sender's round). A pool that keeps
    fewer closes the extra connections as they come back, and the next busy moment
    opens them again: a new PostgreSQL backend, a handshake and every statement
    prepared again, which made a citizen's /start wait hundreds of milliseconds."""
    if backend != "postgresql":
        pytest.skip("SQLite connections are files, not server processes")
    opened = 0

    def connected(*_args: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(engine.sync_engine, "connect", connected)
    all_in = asyncio.Event()
    busy = 0

    async def answer_one_citizen() -> None:
        nonlocal busy
        async with UnitOfWork(sessionmaker) as uow:
            await uow.inbox.get(1)  # checks out a connection
            busy += 1
            if busy == 15:
                all_in.set()
            await all_in.wait()

    await asyncio.gather(*(answer_one_citizen() for _ in range(15)))
    assert opened == 15
    all_in.clear()
    busy = 0
    await asyncio.gather(*(answer_one_citizen() for _ in range(15)))
    assert opened == 15, "the second busy moment opened connections again"
