"""The outbox (messages to send) and the inbox (Telegram updates received).

Outbox claiming works like a job queue: due pending rows are taken in priority then id
order and leased (their `due_at` moves forward by the lease), so a sender that crashes
mid-send only delays its messages. On PostgreSQL the candidate rows are locked with
`FOR UPDATE SKIP LOCKED`, so several senders never take the same row; on SQLite the
claiming UPDATE itself holds the single write lock, with the same effect.

The inbox makes update handling effectively-once: an update is inserted (by
`update_id`) before Telegram is told it arrived, and a replay is recognised by the
insert doing nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate, OutboxKind, OutboxMessage, OutboxStatus, Priority
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

__all__ = [
    "DEFAULT_INBOX_LEASE",
    "DEFAULT_LEASE",
    "HANDED_KINDS",
    "ClaimedUpdate",
    "InboxRepository",
    "OutboxRepository",
    "UpdateAlreadyHandled",
]

DEFAULT_LEASE = timedelta(minutes=2)
#: How long a worker holds the updates it stored without renewing (see InboxRepository).
DEFAULT_INBOX_LEASE = timedelta(seconds=30)

_DEFAULT_PRIORITY = {
    OutboxKind.DIALOG: Priority.DIALOG,
    OutboxKind.REPLY: Priority.REPLY,
    OutboxKind.NOTICE: Priority.NOTICE,
    OutboxKind.FOLLOWUP: Priority.FOLLOWUP,
    OutboxKind.REMINDER: Priority.REMINDER,
    OutboxKind.BROADCAST: Priority.BROADCAST,
}


#: Kinds a unit of work may hand straight to this process's sender (see `queue`).
HANDED_KINDS = {OutboxKind.DIALOG, OutboxKind.NOTICE}


class OutboxRepository:
    def __init__(self, session: AsyncSession, *, lease: timedelta | None = None) -> None:
        self._session = session
        #: Set when this process runs a sender that takes rows from memory.
        self._lease = lease
        #: Rows queued by `queue` already claimed for this process's sender; the unit
        #: of work hands them over once they are committed.
        self.handed: list[OutboxMessage] = []
        #: Whether rows were queued that a sender must claim from the table.
        self.queued = False

    async def queue(
        self, chat_id: int, kind: str, payloads: list[dict[str, Any]], *, citizen_id: int | None
    ) -> None:
        """Messages to one chat, in order, in one statement: the replies to an update.

        With a sender in this process (`lease`), the rows are written already claimed
        for it (`attempts` 1 is the fencing token, `due_at` the end of the lease) and
        kept in `handed`: the sender gets them from memory, with no claiming round. If
        the process dies before sending them, the lease runs out and any sender claims
        them as usual: nothing is lost, and the fencing token keeps a late sender from
        sending them twice.
        """
        if not payloads:
            return
        now = utcnow()
        handed = self._lease is not None and OutboxKind(kind) in HANDED_KINDS
        rows = [
            {
                "chat_id": chat_id,
                "kind": kind,
                "payload": payload,
                "citizen_id": citizen_id,
                "priority": _DEFAULT_PRIORITY[OutboxKind(kind)],
                "status": OutboxStatus.PENDING,
                "due_at": now + self._lease if handed and self._lease else now,
                "attempts": 1 if handed else 0,
                "created_at": now,
            }
            for payload in payloads
        ]
        statement = insert(OutboxMessage).returning(OutboxMessage, sort_by_parameter_order=True)
        inserted = list(await self._session.scalars(statement, rows))
        if handed:
            self.handed += inserted
        else:
            self.queued = True

    async def enqueue(
        self,
        chat_id: int,
        kind: str,
        payload: dict[str, Any],
        *,
        citizen_id: int | None = None,
        priority: int | None = None,
        due_at: datetime | None = None,
        dedupe_key: str | None = None,
    ) -> int | None:
        """Queue a message; returns its id, or None if `dedupe_key` was already queued
        (so a resumed broadcast never sends twice). Priority defaults from the kind."""
        now = utcnow()
        statement = (
            upsert_insert(self._session, OutboxMessage)
            .values(
                chat_id=chat_id,
                kind=kind,
                payload=payload,
                citizen_id=citizen_id,
                priority=_DEFAULT_PRIORITY.get(OutboxKind(kind), Priority.NOTICE)
                if priority is None
                else priority,
                status=OutboxStatus.PENDING,
                dedupe_key=dedupe_key,
                due_at=due_at or now,
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
            .returning(OutboxMessage.id)
        )
        result = await self._session.execute(statement)
        self.queued = True
        return result.scalar_one_or_none()

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self._session.get(OutboxMessage, message_id, populate_existing=True)

    async def claim_due(
        self, *, limit: int = 50, now: datetime | None = None, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Take up to `limit` due pending messages, lower priority number first.

        Each claimed row gets `attempts + 1` and `due_at = now + lease`; it stays
        pending until `mark_sent`/`mark_failed`/`mark_blocked`. If the sender dies,
        the row is due again when the lease runs out.
        """
        now = now or utcnow()
        candidates = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(candidates))
            .values(attempts=OutboxMessage.attempts + 1, due_at=now + lease)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        claimed = list((await self._session.execute(claim)).scalars())
        claimed.sort(key=lambda message: (message.priority, message.id))
        return claimed

    async def mark_sent(self, message_id: int, *, sent_at: datetime | None = None) -> None:
        await self._set(message_id, status=OutboxStatus.SENT, sent_at=sent_at or utcnow())

    async def mark_failed(
        self, message_id: int, error: str, *, retry_at: datetime | None = None
    ) -> None:
        """Record a failed send: retried at `retry_at` if given, else given up on."""
        if retry_at is not None:
            await self._set(message_id, last_error=error, due_at=retry_at)
        else:
            await self._set(message_id, status=OutboxStatus.FAILED, last_error=error)

    async def mark_blocked(self, message_id: int, error: str | None = None) -> None:
        """The citizen blocked the bot (403): never retry this message."""
        await self._set(message_id, status=OutboxStatus.BLOCKED, last_error=error)

    async def delete(self, message_id: int) -> None:
        """Forget a sent message entirely (the goodbye after an erasure)."""
        await self._session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))

    async def block_pending_for_chat(self, chat_id: int, error: str | None = None) -> int:
        """Stop every pending message to a chat that blocked the bot; returns how many."""
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.BLOCKED, last_error=error)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _set(self, message_id: int, **values: Any) -> None:
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


class UpdateAlreadyHandled(Exception):
    """The update this transaction answers was handled meanwhile (by another worker
    that took it over): the transaction must roll back, so nothing is done twice."""


@dataclass(frozen=True)
class ClaimedUpdate:
    update_id: int
    raw: dict[str, Any]


class InboxRepository:
    """Updates in, each handled exactly once across every worker on the database.

    An update is claimed by the worker that stores it (`add_many(claimed_by=...)`),
    which renews the lease on what it holds while it lives (`renew`). `take_over`
    claims updates whose lease ran out (a dead worker's) with `FOR UPDATE SKIP
    LOCKED`, never a live worker's. `mark_handled(only_pending=True)` is conditional:
    in the handling transaction it finds the update still pending or raises
    `UpdateAlreadyHandled`, so of two workers that both handled an update only one
    commits what it did.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, update_id: int, raw: dict[str, Any], *, chat_id: int | None = None) -> bool:
        """Store an update; False if this `update_id` is already known (a replay)."""
        return update_id in await self.add_many([(update_id, raw, chat_id)])

    async def add_many(
        self,
        updates: list[tuple[int, dict[str, Any], int | None]],
        *,
        claimed_by: str | None = None,
        lease: timedelta = DEFAULT_INBOX_LEASE,
    ) -> set[int]:
        """Store (update_id, raw, chat_id) rows in one statement, claimed by
        `claimed_by` for `lease`; returns the ids not known before (a replay, or a
        repeat within `updates`, is not among them twice)."""
        if not updates:
            return set()
        now = utcnow()
        until = now + lease if claimed_by is not None else None
        rows = [
            {
                "update_id": update_id,
                "raw": raw,
                "chat_id": chat_id,
                "received_at": now,
                "claimed_by": claimed_by,
                "lease_until": until,
            }
            for update_id, raw, chat_id in updates
        ]
        statement = (
            upsert_insert(self._session, InboxUpdate)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[InboxUpdate.update_id])
            .returning(InboxUpdate.update_id)
        )
        return set((await self._session.execute(statement)).scalars())

    async def get(self, update_id: int) -> InboxUpdate | None:
        return await self._session.get(InboxUpdate, update_id, populate_existing=True)

    async def pending(self, *, limit: int = 100) -> list[InboxUpdate]:
        """Updates stored but not yet handled, oldest first (e.g. after a crash)."""
        result = await self._session.execute(
            select(InboxUpdate)
            .where(InboxUpdate.handled_at.is_(None))
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        return list(result.scalars())

    async def take_over(
        self,
        claimed_by: str,
        *,
        lease: timedelta = DEFAULT_INBOX_LEASE,
        own: bool = False,
        limit: int = 1000,
        now: datetime | None = None,
    ) -> list[ClaimedUpdate]:
        """Claim pending updates nobody holds: never claimed, or their lease ran out
        (their worker died). `own`: also those `claimed_by` held before (a worker
        restarted under the same name takes its own back at once). Oldest first."""
        now = now or utcnow()
        free = or_(InboxUpdate.lease_until.is_(None), InboxUpdate.lease_until < now)
        if own:
            free = or_(free, InboxUpdate.claimed_by == claimed_by)
        candidates = (
            select(InboxUpdate.update_id)
            .where(InboxUpdate.handled_at.is_(None), free)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(candidates))
            .values(claimed_by=claimed_by, lease_until=now + lease)
            .returning(InboxUpdate.update_id, InboxUpdate.raw)
            .execution_options(synchronize_session=False)
        )
        rows = (await self._session.execute(claim)).all()
        return sorted((ClaimedUpdate(row[0], row[1]) for row in rows), key=lambda u: u.update_id)

    async def renew(self, claimed_by: str, *, lease: timedelta = DEFAULT_INBOX_LEASE) -> set[int]:
        """Extend the lease on the pending updates `claimed_by` holds; returns their ids.
        Rows locked at that moment (being marked handled) are skipped, never waited
        for: renewing must not queue behind, or deadlock with, handling."""
        mine = (
            select(InboxUpdate.update_id)
            .where(InboxUpdate.handled_at.is_(None), InboxUpdate.claimed_by == claimed_by)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(mine))
            .values(lease_until=utcnow() + lease)
            .returning(InboxUpdate.update_id)
            .execution_options(synchronize_session=False)
        )
        return set((await self._session.execute(statement)).scalars())

    async def taken_from(self, claimed_by: str, update_ids: Collection[int]) -> set[int]:
        """Which of `update_ids` are pending and now held by another worker."""
        if not update_ids:
            return set()
        result = await self._session.execute(
            select(InboxUpdate.update_id).where(
                InboxUpdate.update_id.in_(list(update_ids)),
                InboxUpdate.handled_at.is_(None),
                InboxUpdate.claimed_by != claimed_by,
            )
        )
        return set(result.scalars())

    async def mark_handled(
        self,
        update_id: int,
        *,
        error: str | None = None,
        handled_at: datetime | None = None,
        only_pending: bool = False,
    ) -> None:
        """Done with this update; `error` records a handler failure that will not retry.

        `only_pending` (the inbox worker's handling transactions): only a pending update
        is marked, one handled meanwhile raises `UpdateAlreadyHandled` (the caller's
        transaction rolls back; on PostgreSQL the row lock this UPDATE takes makes a
        second handler wait for the first to commit and then see the mark). An unknown
        `update_id` is nothing to mark.

        The raw update (names, texts) is dropped: only the `update_id` is kept, which
        is all replay detection needs, so the inbox holds no personal data for long.
        """
        statement = update(InboxUpdate).where(InboxUpdate.update_id == update_id)
        if only_pending:
            statement = statement.where(InboxUpdate.handled_at.is_(None))
        result = await self._session.execute(
            statement.values(
                handled_at=handled_at or utcnow(), error=error, raw={}, lease_until=None
            )
            .returning(InboxUpdate.update_id)
            .execution_options(synchronize_session=False)
        )
        if only_pending and result.scalar_one_or_none() is None:
            known = await self._session.scalar(
                select(InboxUpdate.update_id).where(InboxUpdate.update_id == update_id)
            )
            if known is not None:
                raise UpdateAlreadyHandled(update_id)

    async def mark_handled_if_pending(self, update_id: int, *, error: str | None = None) -> None:
        """Mark an update handled unless its handler already did (keeps that mark)."""
        await self._session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id, InboxUpdate.handled_at.is_(None))
            .values(handled_at=utcnow(), error=error, raw={}, lease_until=None)
            .execution_options(synchronize_session=False)
        )
