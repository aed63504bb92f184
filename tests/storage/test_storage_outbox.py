"""The outbox: dialog replies before broadcasts, no duplicates, no double claims."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from storage.types import utcnow
from storage.uow import UnitOfWork


async def _enqueue_many(uow_factory: Callable[[], UnitOfWork], count: int) -> list[int]:
    ids: list[int] = []
    async with uow_factory() as uow:
        for n in range(count):
            message_id = await uow.outbox.enqueue(1000 + n, "broadcast", {"text": f"#{n}"})
            assert message_id is not None
            ids.append(message_id)
        await uow.commit()
    return ids


async def test_dialog_replies_go_before_broadcasts_and_future_messages_wait(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    async with uow_factory() as uow:
        broadcast = await uow.outbox.enqueue(1, "broadcast", {"text": "Nowa konsultacja"})
        later = await uow.outbox.enqueue(
            1, "reminder", {"text": "Jutro"}, due_at=utcnow() + timedelta(hours=1)
        )
        reply = await uow.outbox.enqueue(2, "dialog", {"text": "Dziękujemy", "buttons": []})
        await uow.commit()
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(limit=10)
        await uow.commit()
    assert [m.id for m in claimed] == [reply, broadcast]
    assert later not in [m.id for m in claimed]
    assert all(m.claims == 1 and m.attempts == 0 for m in claimed)


async def test_a_claimed_message_is_leased_then_marked(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    sent, blocked, retried, failed = await _enqueue_many(uow_factory, 4)
    async with uow_factory() as uow:
        assert len(await uow.outbox.claim_due()) == 4
        await uow.commit()
    async with uow_factory() as uow:  # leased: nobody else takes them meanwhile
        assert await uow.outbox.claim_due() == []
        await uow.outbox.mark_sent(sent)
        await uow.outbox.mark_blocked(blocked, "Forbidden: bot was blocked by the user")
        await uow.outbox.mark_failed(retried, "429", retry_at=utcnow())
        await uow.outbox.mark_failed(failed, "400: chat not found")
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.outbox.claim_due()
        assert [m.id for m in again] == [retried]
        assert again[0].claims == 2 and again[0].last_error == "429"
        statuses = {i: (await uow.outbox.get(i)).status for i in (sent, blocked, failed)}  # type: ignore[union-attr]
    assert statuses == {sent: "sent", blocked: "blocked", failed: "failed"}
    # a sender that died holding a lease: the message is due again when the lease ends
    async with uow_factory() as uow:
        late = await uow.outbox.claim_due(now=utcnow() + timedelta(minutes=5))
    assert [m.id for m in late] == [retried]


async def test_a_dedupe_key_queues_a_broadcast_message_once(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    async with uow_factory() as uow:
        first = await uow.outbox.enqueue(7, "broadcast", {"text": "x"}, dedupe_key="b1:c7")
        assert first is not None
        await uow.commit()
    async with uow_factory() as uow:  # the broadcast resumes after a restart
        assert await uow.outbox.enqueue(7, "broadcast", {"text": "x"}, dedupe_key="b1:c7") is None
        assert await uow.outbox.enqueue(8, "broadcast", {"text": "x"}, dedupe_key="b1:c8")
        await uow.commit()


async def test_two_claimers_never_get_the_same_outbox_row(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    ids = await _enqueue_many(uow_factory, 40)

    async def sender() -> list[int]:
        taken: list[int] = []
        while True:
            async with uow_factory() as uow:
                batch = await uow.outbox.claim_due(limit=3)
                await asyncio.sleep(0.01)  # hold the claim while "sending"
                for message in batch:
                    await uow.outbox.mark_sent(message.id)
                await uow.commit()
            if not batch:
                return taken
            taken += [m.id for m in batch]

    first, second = await asyncio.gather(sender(), sender())
    assert not set(first) & set(second)
    assert sorted(first + second) == ids


async def test_postgresql_skips_rows_another_claimer_holds(
    uow_factory: Callable[[], UnitOfWork], backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time; SKIP LOCKED is PostgreSQL's")
    ids = await _enqueue_many(uow_factory, 6)
    async with uow_factory() as first, uow_factory() as second:
        a = await first.outbox.claim_due(limit=4)
        b = await second.outbox.claim_due(limit=4)  # first has not committed yet
        assert [m.id for m in a] == ids[:4]
        assert [m.id for m in b] == ids[4:]
        await first.commit()
        await second.commit()


async def test_a_sender_whose_lease_ran_out_starts_none_of_the_rows_taken_from_it(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    """Each claim counts up a row's `claims`, the sender's token. A sender that
    stalled past its lease finds one row claimed again by another sender: it renews
    and starts sending only the rows its tokens still hold, and marks sent exactly
    those."""
    first, second = await _enqueue_many(uow_factory, 2)
    now = utcnow()
    async with uow_factory() as uow:
        stalled = await uow.outbox.claim_due(limit=10, now=now, lease=timedelta(seconds=1))
        await uow.commit()
    async with uow_factory() as uow:  # the lease ran out: another sender takes the second
        later = now + timedelta(seconds=2)
        [taken] = await uow.outbox.claim_due(limit=1, now=later, chats=[1001])
        await uow.commit()
    assert taken.id == second and taken.claims == 2
    tokens = {row.id: row.claims for row in stalled}
    async with uow_factory() as uow:
        assert await uow.outbox.renew(tokens, lease=timedelta(seconds=30)) == {first}
        started = await uow.outbox.start_sending(tokens)
        await uow.outbox.mark_sent_many(started, sent_at=utcnow())
        await uow.commit()
    assert started == {first}
    async with uow_factory() as uow:
        assert (await uow.outbox.get(first)).status == "sent"  # type: ignore[union-attr]
        assert (await uow.outbox.get(second)).status == "pending"  # type: ignore[union-attr]
