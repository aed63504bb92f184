"""Telegram updates are stored before they are acknowledged, and handled once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from storage.repositories import UpdateAlreadyHandled
from storage.types import utcnow
from storage.uow import UnitOfWork

UPDATE = {"update_id": 500, "message": {"chat": {"id": 42}, "text": "/start"}}


async def test_a_replayed_update_is_stored_once(uow_factory: Callable[[], UnitOfWork]) -> None:
    async with uow_factory() as uow:
        assert await uow.inbox.add(500, UPDATE, chat_id=42) is True
        await uow.commit()
    async with uow_factory() as uow:  # Telegram sends it again after a crash
        assert await uow.inbox.add(500, {"update_id": 500, "other": True}, chat_id=42) is False
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.inbox.get(500)
        assert stored is not None
        assert stored.raw == UPDATE


async def test_a_group_of_webhook_updates_is_stored_in_one_go_replays_dropped(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    async with uow_factory() as uow:
        await uow.inbox.add(500, UPDATE, chat_id=42)
        fresh = await uow.inbox.add_many(
            [(500, UPDATE, 42), (501, {"update_id": 501}, 42), (502, {"update_id": 502}, None)]
        )
        await uow.commit()
    assert fresh == {501, 502}
    async with uow_factory() as uow:
        assert [u.update_id for u in await uow.inbox.pending()] == [500, 501, 502]


async def test_unhandled_updates_come_back_in_order_until_handled(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    async with uow_factory() as uow:
        for update_id in (9_000_000_003, 9_000_000_001, 9_000_000_002):
            await uow.inbox.add(update_id, {"update_id": update_id})
        await uow.commit()
    async with uow_factory() as uow:
        pending = await uow.inbox.pending()
        assert [u.update_id for u in pending] == [9_000_000_001, 9_000_000_002, 9_000_000_003]
        await uow.inbox.mark_handled(9_000_000_001)
        await uow.inbox.mark_handled(9_000_000_002, error="ValueError: bad input")
        await uow.commit()
    async with uow_factory() as uow:
        assert [u.update_id for u in await uow.inbox.pending()] == [9_000_000_003]
        failed = await uow.inbox.get(9_000_000_002)
        assert failed is not None and failed.error == "ValueError: bad input"
        assert failed.handled_at is not None


async def test_a_worker_takes_over_only_updates_whose_worker_died(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    """Worker A stores two updates under its name; B, starting, takes none of them
    while A's lease lasts, and both once it has run out (A died). A restarted under
    its own name takes its own back at once."""
    lease = timedelta(seconds=30)
    async with uow_factory() as uow:
        await uow.inbox.add_many(
            [(701, {"update_id": 701}, 42), (702, {"update_id": 702}, 43)],
            claimed_by="host:8001",
            lease=lease,
        )
        await uow.inbox.add(703, {"update_id": 703}, chat_id=44)  # stored before claims
        await uow.commit()
    async with uow_factory() as uow:
        taken = await uow.inbox.take_over("host:8002", lease=lease)
        await uow.commit()
    assert [u.update_id for u in taken] == [703]
    async with uow_factory() as uow:  # A lives: its renewal keeps both
        assert await uow.inbox.renew("host:8001", lease=lease) == {701, 702}
        await uow.commit()
    async with uow_factory() as uow:  # A restarted under its name: its own come back
        mine = await uow.inbox.take_over("host:8001", lease=lease, own=True)
        await uow.commit()
    assert [(u.update_id, u.raw) for u in mine] == [
        (701, {"update_id": 701}),
        (702, {"update_id": 702}),
    ]
    later = utcnow() + lease + timedelta(seconds=1)
    async with uow_factory() as uow:  # A died: after the lease B takes them
        taken = await uow.inbox.take_over("host:8002", lease=lease, now=later)
        await uow.commit()
    assert [u.update_id for u in taken] == [701, 702, 703]
    async with uow_factory() as uow:  # and A, were it alive after all, holds nothing
        assert await uow.inbox.renew("host:8001", lease=lease) == set()
        assert await uow.inbox.renew("host:8002", lease=lease) == {701, 702, 703}
        await uow.commit()


async def test_an_update_handled_meanwhile_rolls_back_a_second_answer(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    async with uow_factory() as uow:
        await uow.inbox.add(801, {"update_id": 801}, chat_id=42)
        await uow.commit()
    async with uow_factory() as uow:  # worker B answered it
        await uow.inbox.mark_handled(801)
        await uow.commit()
    async with uow_factory() as uow:  # worker A, late, answers too: refused
        await uow.outbox.enqueue(42, "dialog", {"text": "twice"})
        with pytest.raises(UpdateAlreadyHandled):
            await uow.inbox.mark_handled(801, only_pending=True)
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due() == []  # the late answer was rolled back
        await uow.inbox.mark_handled(99_999, only_pending=True)  # unknown: nothing to mark


async def test_two_workers_marking_one_update_at_once_commit_once(
    uow_factory: Callable[[], UnitOfWork], backend: str
) -> None:
    """On PostgreSQL the second marker waits on the row lock, then finds it handled."""
    async with uow_factory() as uow:
        await uow.inbox.add(901, {"update_id": 901}, chat_id=42)
        await uow.commit()

    async def handle(text: str) -> bool:
        try:
            async with uow_factory() as uow:
                await uow.outbox.enqueue(42, "dialog", {"text": text})
                await uow.inbox.mark_handled(901, only_pending=True)
                await asyncio.sleep(0.05)
                await uow.commit()
        except UpdateAlreadyHandled:
            return False
        return True

    results = await asyncio.gather(handle("A"), handle("B"))
    assert sorted(results) == [False, True]
