"""One unit of work per event: one session, one transaction, one commit.

A Telegram update, a scheduler tick or a dashboard action opens a `UnitOfWork`, uses
its repositories and calls `commit()` once. An exception rolls everything back, and
so does leaving the block without `commit()`: nothing half-done reaches the database.

    async with UnitOfWork(sessionmaker) as uow:
        citizen = await uow.citizens.get_or_create(user_id, chat_id, secret=secret)
        await uow.outbox.enqueue(chat_id, "dialog", {"text": "..."})
        await uow.commit()

The session stays inside: SQL is written only in `storage/`. The rest of Konsulta
reaches the database through the repositories, a few plain row operations (`add`,
`get`, `delete`, `flush`) and `read`, which runs one of the read-side views
(`storage.views`, `storage.public_views`) in this unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.engine import READ_ONLY_OPTION
from storage.repositories import (
    AnswerRepository,
    CitizenRepository,
    CommunityRepository,
    ConsentRepository,
    ConsultationRepository,
    InboxRepository,
    InviteRepository,
    LeaderBroadcastRepository,
    LeaderLinkRepository,
    LeaderRepository,
    OrganisationRepository,
    OutboxRepository,
    RunRepository,
)
from storage.repositories.drafts import DraftRepository
from storage.repositories.keyboards import KeyboardRepository
from storage.repositories.outreach import (
    BroadcastRepository,
    FollowUpRepository,
    ReminderRepository,
)
from storage.repositories.partners import PartnershipRepository
from storage.repositories.retention import RetentionRepository
from storage.repositories.review import (
    AuditRepository,
    CodingRepository,
    ReportRepository,
    StaffRepository,
    ThreadRepository,
)
from storage.repositories.sessions import StaffSessionRepository
from storage.repositories.speech import VoiceClipRepository
from storage.repositories.statements import StatementRepository

__all__ = ["Handoff", "UnitOfWork", "WriterTurns"]

P = ParamSpec("P")
T = TypeVar("T")


class WriterTurns:
    """One writing unit of work at a time in this process, for SQLite.

    SQLite has one writer. Without this, concurrent units of work wait for each other
    inside SQLite's busy handler, which sleeps in growing steps (milliseconds each turn,
    seconds under load); here they queue in asyncio and the next one starts the moment
    the last commits. Re-entrant for the task that holds it, so a unit of work opened
    inside another does not wait for itself. PostgreSQL needs none of this.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner = task
        self._depth = 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


class Handoff(Protocol):
    """The sender of this process, as a unit of work sees it (bot.telegram.sender)."""

    def wake(self) -> None:
        """Outbox rows were committed: claim them now rather than at the next poll."""


class UnitOfWork:
    _session: AsyncSession
    organisations: OrganisationRepository
    citizens: CitizenRepository
    consents: ConsentRepository
    consultations: ConsultationRepository
    runs: RunRepository
    answers: AnswerRepository
    outbox: OutboxRepository
    inbox: InboxRepository
    keyboards: KeyboardRepository
    # local leaders
    communities: CommunityRepository
    leaders: LeaderRepository
    invites: InviteRepository
    leader_broadcasts: LeaderBroadcastRepository
    leader_links: LeaderLinkRepository
    # staff dashboard
    staff: StaffRepository
    staff_sessions: StaffSessionRepository
    audit: AuditRepository
    codings: CodingRepository
    reports: ReportRepository
    threads: ThreadRepository
    drafts: DraftRepository
    # partner organisations (issue 20)
    partnerships: PartnershipRepository
    # citizens' statements, votes and priorities (issue 19)
    statements: StatementRepository
    # outreach
    followups: FollowUpRepository
    reminders: ReminderRepository
    broadcasts: BroadcastRepository
    # reading aloud
    voice_clips: VoiceClipRepository
    # retention
    retention: RetentionRepository

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        turns: WriterTurns | None = None,
        read_only: bool = False,
        handoff: Handoff | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._turns = None if read_only else turns
        self._read_only = read_only
        self._handoff = handoff

    async def __aenter__(self) -> Self:
        if self._turns is not None:
            await self._turns.acquire()
        session = self._sessionmaker()
        self._session = session
        if self._read_only:
            await session.connection(execution_options={READ_ONLY_OPTION: True})
        self.organisations = OrganisationRepository(session)
        self.citizens = CitizenRepository(session)
        self.consents = ConsentRepository(session)
        self.consultations = ConsultationRepository(session)
        self.runs = RunRepository(session)
        self.answers = AnswerRepository(session)
        self.outbox = OutboxRepository(session)
        self.inbox = InboxRepository(session)
        self.keyboards = KeyboardRepository(session)
        self.communities = CommunityRepository(session)
        self.leaders = LeaderRepository(session)
        self.invites = InviteRepository(session)
        self.leader_broadcasts = LeaderBroadcastRepository(session)
        self.leader_links = LeaderLinkRepository(session)
        self.staff = StaffRepository(session)
        self.staff_sessions = StaffSessionRepository(session)
        self.audit = AuditRepository(session)
        self.codings = CodingRepository(session)
        self.reports = ReportRepository(session)
        self.threads = ThreadRepository(session)
        self.drafts = DraftRepository(session)
        self.partnerships = PartnershipRepository(session)
        self.statements = StatementRepository(session)
        self.followups = FollowUpRepository(session)
        self.reminders = ReminderRepository(session)
        self.broadcasts = BroadcastRepository(session)
        self.voice_clips = VoiceClipRepository(session)
        self.retention = RetentionRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None:
                await self._session.rollback()
        finally:
            # Closing ends any transaction not committed (its changes are discarded) but,
            # unlike rollback, leaves loaded objects readable after the block.
            try:
                await self._session.close()
            finally:
                if self._turns is not None:
                    self._turns.release()

    async def commit(self) -> None:
        await self._session.commit()
        queued, self.outbox.queued = self.outbox.queued, False
        if queued and self._handoff is not None:
            self._handoff.wake()

    async def rollback(self) -> None:
        await self._session.rollback()
        self.outbox.queued = False

    async def flush(self) -> None:
        """Send pending changes (new rows get their ids) without committing."""
        await self._session.flush()

    def add(self, row: object) -> None:
        """A new row, written at the next flush."""
        self._session.add(row)

    async def delete(self, row: object) -> None:
        await self._session.delete(row)

    async def get(self, model: type[T], key: Any) -> T | None:
        """The row of `model` with primary key `key`, or None."""
        return await self._session.get(model, key)

    @property
    def dialect(self) -> str:
        """The database's dialect name ("sqlite" or "postgresql")."""
        return self._session.get_bind().dialect.name

    async def read(
        self,
        view: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run a read-side view (a plain function over the session, in `storage/`)."""
        return await view(self._session, *args, **kwargs)

    def stream(
        self,
        view: Callable[Concatenate[AsyncSession, P], AsyncIterator[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> AsyncIterator[T]:
        """Run a view that streams its rows (an export) in this unit of work."""
        return view(self._session, *args, **kwargs)
