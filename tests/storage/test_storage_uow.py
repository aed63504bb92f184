"""One unit of work per event: it commits once, or nothing is saved."""

from __future__ import annotations

from collections.abc import Callable

import pytest

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
