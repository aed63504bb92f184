"""The counts a running broadcast makes again and again (before every feed, every
second) read partial indexes of the rows still in play, in their order and up to a
limit, never the sent rows: on PostgreSQL without a vacuum, the status indexes they
read before kept two dead entries per message sent, and a million-recipient broadcast
slowed down with every message (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from database_checks import session_of
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from storage_stories import NewCitizen

from storage.models import BroadcastDelivery
from storage.types import utcnow
from storage.uow import UnitOfWork


async def _plan(
    engine: AsyncEngine, backend: str, count: Callable[[], Awaitable[None]]
) -> list[str]:
    """The query plan of the first count `count` sends, as the database would run it
    on a big table."""
    seen: list[tuple[str, Any]] = []

    def note(_c: Any, _cur: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "count(" in statement.lower():
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        await count()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
    statement, parameters = seen[0]
    async with engine.connect() as connection:
        if backend == "postgresql":
            # A test's table is a few pages, where reading all of it is cheapest; the
            # plan that matters is the one a big table gets.
            await connection.exec_driver_sql("SET enable_seqscan = off")
            plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        else:
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return [" ".join(map(str, row)) for row in plan]


async def test_the_feed_counts_the_waiting_broadcast_messages_up_to_its_window(
    uow_factory: Callable[[], UnitOfWork], engine: AsyncEngine, backend: str
) -> None:
    async with uow_factory() as uow:
        ids = [
            await uow.outbox.enqueue(1000 + n, "broadcast", {"text": f"#{n}"}) for n in range(30)
        ]
        await uow.outbox.enqueue(1, "dialog", {"text": "Dziękujemy"})
        await uow.commit()
    async with uow_factory() as uow:  # the sender got through two thirds of them
        await uow.outbox.mark_sent_many([i for i in ids[:20] if i is not None], sent_at=utcnow())
        await uow.commit()

    async def count() -> None:
        async with uow_factory() as uow:
            assert await uow.broadcasts.queued_in_outbox(at_most=100) == 10
            assert await uow.broadcasts.queued_in_outbox(at_most=4) == 4

    lines = await _plan(engine, backend, count)
    assert any("ix_outbox_pending_broadcasts" in line for line in lines), lines
    assert not any("ix_outbox_status" in line or "Sort" in line for line in lines), lines


async def test_the_end_of_a_broadcast_is_looked_for_among_its_unfinished_deliveries_only(
    uow_factory: Callable[[], UnitOfWork],
    engine: AsyncEngine,
    backend: str,
    new_citizen: NewCitizen,
) -> None:
    citizens = [await new_citizen(7000 + n) for n in range(6)]
    now = utcnow()
    async with uow_factory() as uow:
        organisation = await uow.organisations.get_or_create("gmina-demo", "Gmina Demo")
        broadcast = await uow.broadcasts.create(
            name="lift",
            segment={"everyone": True},
            texts={"pl": "Winda działa."},
            default_language="pl",
            organisation_id=organisation.id,
            now=now,
        )
        statuses = ["sent", "sent", "blocked", "queued", "pending", "pending"]
        session_of(uow).add_all(
            BroadcastDelivery(
                broadcast_id=broadcast.id,
                citizen_id=citizen.id,
                status=status,
                due_at=now,
                updated_at=now,
            )
            for citizen, status in zip(citizens, statuses, strict=True)
        )
        await uow.commit()

    async def count() -> None:
        async with uow_factory() as uow:
            assert await uow.broadcasts.unfinished(broadcast.id, at_most=100) == 3
            assert await uow.broadcasts.unfinished(broadcast.id, at_most=2) == 2

    lines = await _plan(engine, backend, count)
    assert any("ix_broadcast_deliveries_unfinished" in line for line in lines), lines
    assert not any("Sort" in line or "TEMP B-TREE" in line for line in lines), lines
