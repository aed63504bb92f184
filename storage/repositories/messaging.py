"""The outbox (messages to send) and the inbox (Telegram updates received).

The outbox is a queue per chat. A claim takes only the head of each chat: a pending,
due row with no earlier unsent (pending or sending) row of the same chat. So a row
held back by the per-chat pace, a 429, a network fault or a dead sender's lease keeps
its place, nothing queued later to that chat can overtake it, and at most one row per
chat is claimed (in flight) at a time, across processes. Priorities order chats (a
dialog reply before a broadcast), never the rows within one chat. A claim leases its
rows (`due_at` moves to the end of the lease; if the sender dies they are due again)
and bumps `claims`, the fencing token a sender shows when it starts sending. On
PostgreSQL the candidates are locked with `FOR UPDATE SKIP LOCKED`, so two senders
never take the same row; on SQLite the claiming UPDATE holds the single write lock.

The inbox makes update handling effectively-once: an update is inserted (by
`update_id`) before Telegram is told it arrived, and a replay is recognised by the
insert doing nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    exists,
    false,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Citizen,
    InboxUpdate,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Priority,
)
from storage.repositories._dialect import PreparedUpsert, upsert_insert
from storage.repositories.citizens import bot_of_citizen
from storage.types import utcnow

__all__ = [
    "DEFAULT_INBOX_LEASE",
    "DEFAULT_LEASE",
    "ClaimedUpdate",
    "InboxRepository",
    "OutboxRepository",
    "UpdateAlreadyHandled",
]

DEFAULT_LEASE = timedelta(minutes=2)
#: How long a worker holds the updates it stored without renewing (see InboxRepository).
DEFAULT_INBOX_LEASE = timedelta(seconds=30)
#: Rows not yet sent, failed or given up: they hold their chat's place in the queue.
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)

_INSERT_OUTBOX = insert(cast(Table, OutboxMessage.__table__))


def _claim_statement(in_chats: bool) -> Any:
    """`OutboxRepository.claim_due`'s one statement, built once: the sender claims on
    every wake, and building it (an aliased table, a dozen expressions) cost more CPU
    than running it. Parameters: for_bot, now, limit, until (the lease's end), chats."""
    earlier = aliased(OutboxMessage)
    candidates = select(OutboxMessage.id).where(
        OutboxMessage.bot == bindparam("for_bot"),
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.due_at <= bindparam("now"),
        ~exists().where(
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.status.in_(UNSENT),
            earlier.id < OutboxMessage.id,
        ),
    )
    if in_chats:
        candidates = candidates.where(OutboxMessage.chat_id.in_(bindparam("chats", expanding=True)))
    candidates = (
        candidates.order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates))
        .values(
            claims=OutboxMessage.claims + 1,
            due_at=bindparam("until", type_=OutboxMessage.__table__.c.due_at.type),
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


_CLAIM = _claim_statement(in_chats=False)
_CLAIM_IN_CHATS = _claim_statement(in_chats=True)

#: Pending rows whose claim is still the one the caller holds: the parameter `held`
#: is its (id, claims) pairs (`claims` is the fencing token).
_STILL_HELD = and_(
    OutboxMessage.status == OutboxStatus.PENDING,
    tuple_(OutboxMessage.id, OutboxMessage.claims).in_(bindparam("held", expanding=True)),
)

# The sender's other statements of every wave, built once for the same reason.
_START_SENDING = (
    update(OutboxMessage)
    .where(_STILL_HELD)
    .values(
        status=OutboxStatus.SENDING,
        due_at=bindparam("until", type_=OutboxMessage.__table__.c.due_at.type),
    )
    .returning(OutboxMessage.id)
    .execution_options(synchronize_session=False)
)
_MARK_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("when", type_=OutboxMessage.__table__.c.sent_at.type),
    )
    .execution_options(synchronize_session=False)
)


_DEFAULT_PRIORITY = {
    OutboxKind.DIALOG: Priority.DIALOG,
    OutboxKind.REPLY: Priority.REPLY,
    OutboxKind.NOTICE: Priority.NOTICE,
    OutboxKind.FOLLOWUP: Priority.FOLLOWUP,
    OutboxKind.REMINDER: Priority.REMINDER,
    OutboxKind.BROADCAST: Priority.BROADCAST,
}


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        #: Whether rows were queued (the unit of work wakes the sender on commit).
        self.queued = False

    async def queue(
        self,
        chat_id: int,
        kind: str,
        payloads: list[dict[str, Any]],
        *,
        citizen_id: int | None,
        bot: str = "",
    ) -> None:
        """Messages to one chat of `bot`, in order, in one statement: the replies to an
        update."""
        if not payloads:
            return
        now = utcnow()
        rows = [
            {
                "chat_id": chat_id,
                "bot": bot,
                "kind": kind,
                "payload": payload,
                "citizen_id": citizen_id,
                "priority": _DEFAULT_PRIORITY[OutboxKind(kind)],
                "status": OutboxStatus.PENDING,
                "due_at": now,
                "attempts": 0,
                "claims": 0,
                "created_at": now,
            }
            for payload in payloads
        ]
        # Core over the table: the ORM's bulk insert costs more than the INSERT itself.
        await self._session.execute(_INSERT_OUTBOX, rows)
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
        bot: str | None = None,
    ) -> int | None:
        """Queue a message; returns its id, or None if `dedupe_key` was already queued
        (so a resumed broadcast never sends twice). Priority defaults from the kind.
        `bot` defaults to the citizen's own bot (the one they talk to), else the main
        bot: outreach and staff replies need not know there are several."""
        now = utcnow()
        if bot is None:
            bot = await bot_of_citizen(self._session, citizen_id) if citizen_id else ""
        statement = (
            upsert_insert(self._session, OutboxMessage)
            .values(
                chat_id=chat_id,
                bot=bot,
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
                claims=0,
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
        self,
        *,
        limit: int = 50,
        now: datetime | None = None,
        lease: timedelta = DEFAULT_LEASE,
        chats: Collection[int] | None = None,
        bot: str = "",
    ) -> list[OutboxMessage]:
        """Take up to `limit` chat heads of `bot`'s rows that are due, lower priority
        number first (only among `chats` if given): the per-chat FIFO lives here.

        Each claimed row gets `claims + 1` (the fencing token) and `due_at = now +
        lease`; it stays pending until the sender starts sending it. If the sender
        dies, the row is due again when the lease runs out, still its chat's head.
        """
        now = now or utcnow()
        statement, params = (
            _CLAIM,
            {"for_bot": bot, "now": now, "limit": limit, "until": now + lease},
        )
        if chats is not None:
            statement, params = _CLAIM_IN_CHATS, params | {"chats": list(chats)}
        claimed = list((await self._session.execute(statement, params)).scalars())
        claimed.sort(key=lambda message: (message.priority, message.id))
        return claimed

    async def start_sending(
        self, tokens: Mapping[int, int], *, lease: timedelta = DEFAULT_LEASE
    ) -> set[int]:
        """Mark `sending` the rows (id -> claims) still claimed by the caller, right
        before their Bot API calls; returns their ids. A row left `sending` by a dead
        process is taken as sent when `lease` runs out (`take_in_doubt_as_sent`)."""
        if not tokens:
            return set()
        result = await self._session.execute(
            _START_SENDING, {"held": list(tokens.items()), "until": utcnow() + lease}
        )
        return set(result.scalars())

    async def renew(self, tokens: Mapping[int, int], *, lease: timedelta) -> set[int]:
        """Extend the lease of rows (id -> claims) the caller still holds; returns them."""
        if not tokens:
            return set()
        result = await self._session.execute(
            update(OutboxMessage)
            .where(_STILL_HELD)
            .values(due_at=utcnow() + lease)
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False),
            {"held": list(tokens.items())},
        )
        return set(result.scalars())

    async def release(self, tokens: Mapping[int, int], *, due_at: datetime | None = None) -> None:
        """Give held rows back (a sender stopping): due at `due_at`, still their
        chats' heads."""
        if tokens:
            await self._session.execute(
                update(OutboxMessage)
                .where(_STILL_HELD)
                .values(due_at=due_at or utcnow())
                .execution_options(synchronize_session=False),
                {"held": list(tokens.items())},
            )

    async def retry_later(
        self, message_id: int, claims: int, error: str, *, due_at: datetime, failed: bool
    ) -> None:
        """A send that did not go out: back to pending (still its chat's head), due at
        `due_at`; `failed` (a real send failure, not a 429) counts an attempt. Only if
        the caller's claim (`claims`) still holds it `sending`: a row taken as sent in
        doubt meanwhile is never put back (it could go out twice, or after its next)."""
        values: dict[str, Any] = {
            "status": OutboxStatus.PENDING,
            "last_error": error,
            "due_at": due_at,
        }
        if failed:
            values["attempts"] = OutboxMessage.attempts + 1
        await self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.claims == claims,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def mark_sent_many(self, message_ids: Collection[int], *, sent_at: datetime) -> None:
        if message_ids:
            await self._session.execute(_MARK_SENT, {"ids": list(message_ids), "when": sent_at})

    async def mark_sent(self, message_id: int, *, sent_at: datetime | None = None) -> None:
        await self._set(message_id, status=OutboxStatus.SENT, sent_at=sent_at or utcnow())

    async def mark_failed(
        self, message_id: int, error: str, *, retry_at: datetime | None = None
    ) -> None:
        """Record a failed send: retried at `retry_at` if given, else given up on."""
        if retry_at is not None:
            await self._set(message_id, last_error=error, due_at=retry_at)
        else:
            await self._set(
                message_id,
                status=OutboxStatus.FAILED,
                last_error=error,
                attempts=OutboxMessage.attempts + 1,
            )

    async def mark_skipped(self, message_id: int, reason: str) -> None:
        """Not sent because the citizen opted out since it was queued (not a failure)."""
        await self._set(message_id, status=OutboxStatus.SKIPPED, last_error=reason)

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

    async def opted_out(self, citizen_ids: Collection[int]) -> set[int]:
        """Those of `citizen_ids` who sent /stop or blocked the bot."""
        if not citizen_ids:
            return set()
        result = await self._session.execute(
            select(Citizen.id).where(
                Citizen.id.in_(list(citizen_ids)),
                or_(Citizen.stopped != false(), Citizen.unreachable != false()),
            )
        )
        return set(result.scalars())

    async def take_in_doubt_as_sent(
        self, note: str, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Rows a dead sender left `sending` once their lease ran out: taken as sent
        (never sent twice), noted. Returns their payloads."""
        now = now or utcnow()
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.due_at <= now)
            .values(status=OutboxStatus.SENT, sent_at=now, last_error=note)
            .returning(OutboxMessage.payload)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

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


def _marking(*, only_pending: bool) -> Any:
    """Built once (every update is marked): done, its raw update dropped. Core over
    the table: the ORM's bulk UPDATE would work its values out again every time."""
    inbox = cast(Table, InboxUpdate.__table__).c
    statement = update(cast(Table, InboxUpdate.__table__)).where(
        inbox.bot == bindparam("of_bot"), inbox.update_id == bindparam("id")
    )
    if only_pending:
        statement = statement.where(inbox.handled_at.is_(None))
    return statement.values(
        handled_at=bindparam("handled_at"), error=bindparam("error"), raw={}, lease_until=None
    ).returning(inbox.update_id)


_MARK = _marking(only_pending=False)
_MARK_PENDING = _marking(only_pending=True)


_STORE_INBOX = PreparedUpsert(
    InboxUpdate.__table__,
    lambda insert: insert.on_conflict_do_nothing(
        index_elements=[InboxUpdate.bot, InboxUpdate.update_id]
    ).returning(InboxUpdate.update_id),
)


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

    async def add(
        self, update_id: int, raw: dict[str, Any], *, chat_id: int | None = None, bot: str = ""
    ) -> bool:
        """Store an update; False if this `update_id` is already known (a replay)."""
        return update_id in await self.add_many([(update_id, raw, chat_id)], bot=bot)

    async def add_many(
        self,
        updates: list[tuple[int, dict[str, Any], int | None]],
        *,
        claimed_by: str | None = None,
        lease: timedelta = DEFAULT_INBOX_LEASE,
        bot: str = "",
    ) -> set[int]:
        """Store (update_id, raw, chat_id) rows of `bot` in one statement, claimed by
        `claimed_by` for `lease`; returns the ids not known before (a replay, or a
        repeat within `updates`, is not among them twice)."""
        if not updates:
            return set()
        now = utcnow()
        until = now + lease if claimed_by is not None else None
        rows = [
            {
                "bot": bot,
                "update_id": update_id,
                "raw": raw,
                "chat_id": chat_id,
                "received_at": now,
                "claimed_by": claimed_by,
                "lease_until": until,
            }
            for update_id, raw, chat_id in updates
        ]
        # Many rows as parameters of one statement built once: SQLAlchemy sends them as
        # one multi-row INSERT ("insertmanyvalues") without coercing each value anew.
        result = await self._session.execute(_STORE_INBOX.on(self._session), rows)
        return set(result.scalars())

    async def get(self, update_id: int, *, bot: str = "") -> InboxUpdate | None:
        return await self._session.get(InboxUpdate, (bot, update_id), populate_existing=True)

    async def pending(self, *, limit: int = 100, bot: str = "") -> list[InboxUpdate]:
        """Updates stored but not yet handled, oldest first (e.g. after a crash)."""
        result = await self._session.execute(
            select(InboxUpdate)
            .where(InboxUpdate.bot == bot, InboxUpdate.handled_at.is_(None))
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
        bot: str = "",
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
            .where(InboxUpdate.bot == bot, InboxUpdate.handled_at.is_(None), free)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(InboxUpdate)
            .where(InboxUpdate.bot == bot, InboxUpdate.update_id.in_(candidates))
            .values(claimed_by=claimed_by, lease_until=now + lease)
            .returning(InboxUpdate.update_id, InboxUpdate.raw)
            .execution_options(synchronize_session=False)
        )
        rows = (await self._session.execute(claim)).all()
        return sorted((ClaimedUpdate(row[0], row[1]) for row in rows), key=lambda u: u.update_id)

    async def renew(
        self, claimed_by: str, *, lease: timedelta = DEFAULT_INBOX_LEASE, bot: str = ""
    ) -> set[int]:
        """Extend the lease on the pending updates `claimed_by` holds; returns their ids.
        Rows locked at that moment (being marked handled) are skipped, never waited
        for: renewing must not queue behind, or deadlock with, handling."""
        mine = (
            select(InboxUpdate.update_id)
            .where(
                InboxUpdate.bot == bot,
                InboxUpdate.handled_at.is_(None),
                InboxUpdate.claimed_by == claimed_by,
            )
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(InboxUpdate)
            .where(InboxUpdate.bot == bot, InboxUpdate.update_id.in_(mine))
            .values(lease_until=utcnow() + lease)
            .returning(InboxUpdate.update_id)
            .execution_options(synchronize_session=False)
        )
        return set((await self._session.execute(statement)).scalars())

    async def taken_from(
        self, claimed_by: str, update_ids: Collection[int], *, bot: str = ""
    ) -> set[int]:
        """Which of `update_ids` are pending and now held by another worker."""
        if not update_ids:
            return set()
        result = await self._session.execute(
            select(InboxUpdate.update_id).where(
                InboxUpdate.bot == bot,
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
        bot: str = "",
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
        result = await self._session.execute(
            _MARK_PENDING if only_pending else _MARK,
            {"of_bot": bot, "id": update_id, "handled_at": handled_at or utcnow(), "error": error},
        )
        if only_pending and result.scalar_one_or_none() is None:
            known = await self._session.scalar(
                select(InboxUpdate.update_id).where(
                    InboxUpdate.bot == bot, InboxUpdate.update_id == update_id
                )
            )
            if known is not None:
                raise UpdateAlreadyHandled(update_id)

    async def mark_handled_if_pending(
        self, update_id: int, *, error: str | None = None, bot: str = ""
    ) -> None:
        """Mark an update handled unless its handler already did (keeps that mark)."""
        await self._session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.bot == bot,
                InboxUpdate.update_id == update_id,
                InboxUpdate.handled_at.is_(None),
            )
            .values(handled_at=utcnow(), error=error, raw={}, lease_until=None)
            .execution_options(synchronize_session=False)
        )
