"""Telegram updates are stored before they are acknowledged, and handled once."""

from __future__ import annotations

from collections.abc import Callable

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
