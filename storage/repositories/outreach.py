"""Outreach rows: scheduled follow-ups, reminders, broadcasts and their deliveries.

Every "take what is due" query claims its rows: on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so two bot processes split the work instead of doing it
twice; SQLite has one writer at a time anyway. Where a claim alone is not enough (a
reminder is decided from runs, not from a row of its own) a unique key makes the second
writer's insert do nothing. Nothing here loads a whole audience: recipients are written
with INSERT ... SELECT in citizen-id ranges and read back a batch at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    PENDING_BROADCASTS,
    UNFINISHED_DELIVERIES,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    Citizen,
    CitizenChannel,
    Consultation,
    ConsultationStatus,
    DeliveryStatus,
    FollowUpStatus,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    Reminder,
    Run,
    RunStatus,
    ScheduledFollowUp,
)
from storage.repositories._dialect import upsert_insert
from storage.types import bot_of_channel

__all__ = [
    "ANALYZE_AFTER",
    "BroadcastRepository",
    "DueDelivery",
    "FollowUpRepository",
    "ReminderRepository",
]

#: Recipients from which a broadcast, once written, refreshes the planner's statistics.
ANALYZE_AFTER = 10_000


class FollowUpRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def unscheduled_runs(self, flow_version_ids: Sequence[int], *, limit: int) -> list[Run]:
        """Completed (non-follow-up) runs of these flow versions not yet looked at."""
        if not flow_version_ids:
            return []
        seen = select(ScheduledFollowUp.id).where(ScheduledFollowUp.run_id == Run.id).exists()
        result = await self._session.execute(
            select(Run)
            .where(
                Run.status == RunStatus.COMPLETED,
                Run.parent_run_id.is_(None),
                Run.flow_version_id.in_(flow_version_ids),
                ~seen,
            )
            .order_by(Run.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def add(
        self,
        run: Run,
        followup_id: str,
        due_at: datetime,
        *,
        status: str = FollowUpStatus.PENDING,
        note: str | None = None,
        now: datetime,
    ) -> None:
        await self._session.execute(
            upsert_insert(self._session, ScheduledFollowUp)
            .values(
                run_id=run.id,
                citizen_id=run.citizen_id,
                consultation_id=run.consultation_id,
                followup_id=followup_id,
                due_at=due_at,
                status=status,
                note=note,
                created_at=now,
                done_at=None if status == FollowUpStatus.PENDING else now,
            )
            .on_conflict_do_nothing(
                index_elements=[ScheduledFollowUp.run_id, ScheduledFollowUp.followup_id]
            )
        )

    async def claim_due(self, now: datetime, *, limit: int) -> list[ScheduledFollowUp]:
        result = await self._session.execute(
            select(ScheduledFollowUp)
            .where(
                ScheduledFollowUp.status == FollowUpStatus.PENDING,
                ScheduledFollowUp.due_at <= now,
            )
            .order_by(ScheduledFollowUp.due_at, ScheduledFollowUp.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def listing(
        self, *, status: str | None = None, consultation_id: int | None = None, limit: int = 100
    ) -> list[ScheduledFollowUp]:
        query = select(ScheduledFollowUp).order_by(ScheduledFollowUp.due_at, ScheduledFollowUp.id)
        if status is not None:
            query = query.where(ScheduledFollowUp.status == status)
        if consultation_id is not None:
            query = query.where(ScheduledFollowUp.consultation_id == consultation_id)
        return list((await self._session.execute(query.limit(limit))).scalars())

    async def finish(
        self,
        row: ScheduledFollowUp,
        status: str,
        *,
        now: datetime,
        followup_run_id: int | None = None,
        note: str | None = None,
    ) -> None:
        row.status = status
        row.done_at = now
        row.followup_run_id = followup_run_id
        row.note = note
        await self._session.flush()

    async def defer(self, row: ScheduledFollowUp, until: datetime, note: str) -> None:
        row.due_at = until
        row.note = note
        await self._session.flush()


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def due_runs(
        self, now: datetime, *, delay: timedelta, at_most: int, limit: int
    ) -> list[tuple[Run, int]]:
        """Unfinished runs idle for `delay` (since they were touched or last reminded),
        of open consultations, of citizens who accept reminders, with fewer than
        `at_most` reminders; each with the number its next reminder would have."""
        sent = (
            select(
                Reminder.run_id,
                func.count().label("n"),
                func.max(Reminder.sent_at).label("last"),
            )
            .group_by(Reminder.run_id)
            .subquery()
        )
        cutoff = now - delay
        count = func.coalesce(sent.c.n, 0)
        result = await self._session.execute(
            select(Run, count)
            .join(Citizen, Citizen.id == Run.citizen_id)
            .join(Consultation, Consultation.id == Run.consultation_id)
            .outerjoin(sent, sent.c.run_id == Run.id)
            .where(
                Run.status == RunStatus.STARTED,
                Run.parent_run_id.is_(None),
                Run.consent_record_id.is_not(None),
                Run.updated_at <= cutoff,
                or_(sent.c.last.is_(None), sent.c.last <= cutoff),
                count < at_most,
                Consultation.status == ConsultationStatus.OPEN,
                Citizen.stopped == false(),
                Citizen.unreachable == false(),
                Citizen.no_reminders == false(),
            )
            .order_by(Run.id)
            .limit(limit)
        )
        return [(run, int(n) + 1) for run, n in result]

    async def record(self, run_id: int, number: int, now: datetime) -> bool:
        """True if this process is the one sending reminder `number` of the run."""
        result = await self._session.execute(
            upsert_insert(self._session, Reminder)
            .values(run_id=run_id, number=number, sent_at=now)
            .on_conflict_do_nothing(index_elements=[Reminder.run_id, Reminder.number])
            .returning(Reminder.id)
        )
        return result.scalar_one_or_none() is not None

    async def count_for_run(self, run_id: int) -> int:
        result = await self._session.execute(
            select(func.count()).select_from(Reminder).where(Reminder.run_id == run_id)
        )
        return int(result.scalar_one())


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: int
    broadcast_id: int
    citizen_id: int
    language: str | None
    timezone: str
    stopped: bool
    unreachable: bool
    chat_id: int | None
    #: The language of the citizen's latest run (the fallback when `language` has no text).
    known_language: str | None = None
    #: The bot the citizen talks to ("" the main one), which sends it.
    bot: str = ""


class BroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        name: str,
        segment: dict[str, Any],
        texts: dict[str, str],
        default_language: str,
        kind: str = "broadcast",
        consultation_id: int | None = None,
        organisation_id: int,
        now: datetime,
    ) -> Broadcast:
        broadcast = Broadcast(
            kind=kind,
            name=name,
            segment=segment,
            texts=texts,
            default_language=default_language,
            consultation_id=consultation_id,
            organisation_id=organisation_id,
            status=BroadcastStatus.DRAFT,
            cursor_citizen_id=0,
            materialized=False,
            total=0,
            created_at=now,
        )
        self._session.add(broadcast)
        await self._session.flush()
        return broadcast

    async def of_consultation(self, consultation_id: int, *, limit: int) -> list[Broadcast]:
        """The consultation's latest broadcasts, newest first."""
        found = await self._session.execute(
            select(Broadcast)
            .where(Broadcast.consultation_id == consultation_id)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
        return list(found.scalars())

    async def delivery_counts(self, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Deliveries per broadcast and status (one GROUP BY)."""
        counts: dict[int, dict[str, int]] = {}
        if not broadcast_ids:
            return counts
        rows = await self._session.execute(
            select(BroadcastDelivery.broadcast_id, BroadcastDelivery.status, func.count())
            .where(BroadcastDelivery.broadcast_id.in_(broadcast_ids))
            .group_by(BroadcastDelivery.broadcast_id, BroadcastDelivery.status)
        )
        for broadcast_id, status, n in rows:
            counts.setdefault(broadcast_id, {})[status] = int(n)
        return counts

    async def outcomes(self, consultation_id: int | None = None) -> list[Outcome]:
        """Results outcomes in the order written, of one consultation or of all."""
        query = select(Outcome).order_by(Outcome.id)
        if consultation_id is not None:
            query = query.where(Outcome.consultation_id == consultation_id)
        return list((await self._session.execute(query)).scalars())

    async def get(self, broadcast_id: int, *, for_update: bool = False) -> Broadcast | None:
        query = select(Broadcast).where(Broadcast.id == broadcast_id)
        if for_update:
            query = query.with_for_update()
        result = await self._session.execute(query.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def recent(self, *, limit: int = 50) -> list[Broadcast]:
        result = await self._session.execute(
            select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
        )
        return list(result.scalars())

    async def claim_to_start(self, now: datetime) -> list[Broadcast]:
        result = await self._session.execute(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.send_at <= now)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def claim_unmaterialized(self) -> Broadcast | None:
        """One running broadcast whose recipients are still being written, locked."""
        result = await self._session.execute(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.RUNNING, Broadcast.materialized == false())
            .order_by(Broadcast.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def running_ids(self) -> list[int]:
        result = await self._session.execute(
            select(Broadcast.id).where(Broadcast.status == BroadcastStatus.RUNNING)
        )
        return list(result.scalars())

    async def materialize(
        self,
        broadcast: Broadcast,
        audience: ColumnElement[bool],
        *,
        now: datetime,
        batch: int,
    ) -> int:
        """Write the next `batch` citizen ids' worth of recipients; returns how many.

        Citizens are taken in id ranges (the range end is found on the primary key), so
        each statement touches one bounded slice and the cursor moves in the same
        transaction: a crash repeats at most one slice, and the unique key makes the
        repeat a no-op.
        """
        upper = (
            await self._session.execute(
                select(Citizen.id)
                .where(Citizen.id > broadcast.cursor_citizen_id)
                .order_by(Citizen.id)
                .offset(batch - 1)
                .limit(1)
            )
        ).scalar_one_or_none()
        in_range = [Citizen.id > broadcast.cursor_citizen_id]
        if upper is not None:
            in_range.append(Citizen.id <= upper)
        chosen = select(
            literal(broadcast.id),
            Citizen.id,
            literal(DeliveryStatus.PENDING.value),
            literal(now, type_=BroadcastDelivery.due_at.type),
            literal(now, type_=BroadcastDelivery.updated_at.type),
        ).where(*in_range, audience)
        insert = (
            upsert_insert(self._session, BroadcastDelivery)
            .from_select(["broadcast_id", "citizen_id", "status", "due_at", "updated_at"], chosen)
            .on_conflict_do_nothing(
                index_elements=[BroadcastDelivery.broadcast_id, BroadcastDelivery.citizen_id]
            )
        )
        result = await self._session.execute(insert)
        added = int(getattr(result, "rowcount", 0) or 0)
        broadcast.total += added
        if upper is None:
            broadcast.materialized = True
            await self._analyze_after(broadcast.total)
        else:
            broadcast.cursor_citizen_id = upper
        await self._session.flush()
        return added

    async def _analyze_after(self, written: int) -> None:
        """Fresh planner statistics on PostgreSQL once a big broadcast's recipients are
        all written (a bulk load). The end-of-broadcast check, every second from now
        on, is planned from them: with the statistics from before the load (autovacuum
        off, or its analyze not yet come) PostgreSQL expected a few unfinished rows,
        chose a bitmap scan and a sort, and read every entry of the partial index,
        dead ones included (0.4 s after 160,000 messages, growing), instead of the
        first 2,000 in index order."""
        if written >= ANALYZE_AFTER and self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(text("ANALYZE broadcast_deliveries"))

    async def claim_due_deliveries(
        self,
        now: datetime,
        language: ColumnElement[str],
        *,
        limit: int,
        known: ColumnElement[str] | None = None,
    ) -> list[DueDelivery]:
        """Pending deliveries of running broadcasts that are due, with what the feeder
        needs to know about the citizen, locked for this transaction."""
        channel = (
            select(func.max(CitizenChannel.chat_id))
            .where(CitizenChannel.citizen_id == BroadcastDelivery.citizen_id)
            .scalar_subquery()
        )
        channel_name = (
            select(func.max(CitizenChannel.channel))
            .where(CitizenChannel.citizen_id == BroadcastDelivery.citizen_id)
            .scalar_subquery()
        )
        running = select(Broadcast.id).where(Broadcast.status == BroadcastStatus.RUNNING)
        result = await self._session.execute(
            select(
                BroadcastDelivery.id,
                BroadcastDelivery.broadcast_id,
                BroadcastDelivery.citizen_id,
                language,
                Citizen.timezone,
                Citizen.stopped,
                Citizen.unreachable,
                channel,
                known if known is not None else null(),
                channel_name,
            )
            .join(Citizen, Citizen.id == BroadcastDelivery.citizen_id)
            .where(
                BroadcastDelivery.status == DeliveryStatus.PENDING,
                BroadcastDelivery.due_at <= now,
                BroadcastDelivery.broadcast_id.in_(running),
            )
            # The order of the (status, due_at) index, so the LIMIT stops early; by id
            # alone every feed sorted all pending deliveries (slower as a broadcast grew).
            .order_by(BroadcastDelivery.due_at, BroadcastDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=BroadcastDelivery)
        )
        return [
            DueDelivery(*row[:9], bot=bot_of_channel(row[9] or ""))  # type: ignore[misc]
            for row in result
        ]

    async def set_deliveries(self, rows: list[dict[str, Any]]) -> None:
        """Bulk update by primary key: each dict has `id` and the columns to set."""
        if rows:
            await self._session.execute(update(BroadcastDelivery), rows)

    async def record_deliveries(self, by_status: dict[str, list[int]], now: datetime) -> None:
        """What the sender learnt: delivery ids by their final status."""
        for status, ids in by_status.items():
            for start in range(0, len(ids), 500):
                await self._session.execute(
                    update(BroadcastDelivery)
                    .where(BroadcastDelivery.id.in_(ids[start : start + 500]))
                    .values(status=status, updated_at=now)
                    .execution_options(synchronize_session=False)
                )

    async def queue_messages(self, messages: list[dict[str, Any]]) -> dict[str, int]:
        """Outbox rows in one statement per slice; returns dedupe key -> outbox id
        (a key already queued keeps its old row and is looked up)."""
        found: dict[str, int] = {}
        columns = ("chat_id", "bot", "citizen_id", "kind", "priority", "payload", "dedupe_key")
        for start in range(0, len(messages), 500):
            chunk = messages[start : start + 500]
            rows = [
                {
                    **{name: message[name] for name in columns},
                    "status": OutboxStatus.PENDING,
                    "due_at": message["due_at"],
                    "created_at": message["created_at"],
                    "attempts": 0,
                }
                for message in chunk
            ]
            # One statement with the rows as parameters (SQLAlchemy batches it as
            # "insertmanyvalues"), so it is compiled once, whatever the batch size.
            result = await self._session.execute(
                upsert_insert(self._session, OutboxMessage)
                .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
                .returning(OutboxMessage.id, OutboxMessage.dedupe_key),
                rows,
            )
            found.update({key: ident for ident, key in result if key is not None})
            missing = [m["dedupe_key"] for m in chunk if m["dedupe_key"] not in found]
            if missing:
                existing = await self._session.execute(
                    select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
                        OutboxMessage.dedupe_key.in_(missing)
                    )
                )
                found.update({key: ident for ident, key in existing if key is not None})
        return found

    async def queued_in_outbox(self, *, at_most: int) -> int:
        """Broadcast messages waiting in the outbox (how full the sender's queue is),
        counted up to `at_most` (the feed's window: it needs no more).

        Run before every feed, so it reads only the partial index of pending broadcast
        rows (`ix_outbox_pending_broadcasts`, with the index's own condition in literal
        values: a bound parameter would not match it), in its order and up to a limit.
        The old count read every `pending` entry of the outbox's status index: without
        a vacuum, two dead ones per message ever sent, so on a million-recipient
        broadcast each feed took longer than the last. In index order PostgreSQL marks
        the dead entries it passes and skips them from then on, where a bitmap scan
        would visit them all again.
        """
        waiting = (
            select(OutboxMessage.id)
            .where(text(PENDING_BROADCASTS))
            .order_by(OutboxMessage.id)
            .limit(at_most)
            .subquery()
        )
        result = await self._session.execute(select(func.count()).select_from(waiting))
        return int(result.scalar_one())

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        result = await self._session.execute(
            select(BroadcastDelivery.status, func.count())
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
            .group_by(BroadcastDelivery.status)
        )
        return {status: int(n) for status, n in result}

    async def unfinished(self, broadcast_id: int, *, at_most: int) -> int:
        """Deliveries of the broadcast still pending or queued, counted up to `at_most`.

        The scheduler asks every second whether only a few are left, never how many.
        A full count of a million-recipient broadcast read every entry of the
        broadcast in the status index, dead ones included (0.6 s twice a second
        without a vacuum, and the sending slowed while it did); this reads the partial
        index of unfinished deliveries (`ix_broadcast_deliveries_unfinished`) in its
        order, up to the limit.
        """
        left = (
            select(BroadcastDelivery.id)
            .where(BroadcastDelivery.broadcast_id == broadcast_id, text(UNFINISHED_DELIVERIES))
            .order_by(BroadcastDelivery.id)
            .limit(at_most)
            .subquery()
        )
        result = await self._session.execute(select(func.count()).select_from(left))
        return int(result.scalar_one())

    async def reconcile_queued(self, broadcast_id: int, now: datetime) -> None:
        """Queued deliveries whose outbox row ended without the sender saying so (e.g.
        blocked together with another message to the same chat) take its status."""
        outcome = (
            select(OutboxMessage.status)
            .where(OutboxMessage.id == BroadcastDelivery.outbox_id)
            .scalar_subquery()
        )
        final = [OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.BLOCKED]
        await self._session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status == DeliveryStatus.QUEUED,
                outcome.in_(final),
            )
            .values(status=outcome, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    async def cancel(self, broadcast: Broadcast, now: datetime) -> int:
        """Stop a broadcast: nothing not yet handed to Telegram goes out. Returns how
        many recipients were cancelled."""
        broadcast.status = BroadcastStatus.CANCELLED
        broadcast.finished_at = now
        queued = select(BroadcastDelivery.outbox_id).where(
            BroadcastDelivery.broadcast_id == broadcast.id,
            BroadcastDelivery.status == DeliveryStatus.QUEUED,
        )
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(queued), OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.FAILED, last_error="broadcast cancelled")
            .execution_options(synchronize_session=False)
        )
        cancelled_outbox = select(OutboxMessage.id).where(
            OutboxMessage.id.in_(queued), OutboxMessage.last_error == "broadcast cancelled"
        )
        result = await self._session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.broadcast_id == broadcast.id,
                or_(
                    BroadcastDelivery.status == DeliveryStatus.PENDING,
                    and_(
                        BroadcastDelivery.status == DeliveryStatus.QUEUED,
                        BroadcastDelivery.outbox_id.in_(cancelled_outbox),
                    ),
                ),
            )
            .values(status=DeliveryStatus.CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self._session.flush()
        return int(getattr(result, "rowcount", 0) or 0)

    async def languages(
        self, audience: ColumnElement[bool], language: ColumnElement[str]
    ) -> dict[str, int]:
        """How many recipients per language: the dry run."""
        result = await self._session.execute(
            select(language, func.count()).where(audience).group_by(language)
        )
        return {lang: int(n) for lang, n in result}

    async def language_pairs(
        self, audience: ColumnElement[bool], language: ColumnElement[str], known: ColumnElement[str]
    ) -> dict[tuple[str, str | None], int]:
        """How many recipients per (language, second language): the dry run when a
        text may be missing."""
        result = await self._session.execute(
            select(language, known, func.count()).where(audience).group_by(language, known)
        )
        return {(lang, other): int(n) for lang, other, n in result}
