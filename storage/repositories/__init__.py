"""Repositories: the queries the rest of Konsulta may run, one module per aggregate.

They flush but never commit; the `UnitOfWork` that created them commits once per event.
Everything here runs unchanged on SQLite and PostgreSQL; where the SQL differs
(upserts, `FOR UPDATE SKIP LOCKED`) the difference is handled in one place.
"""

from storage.repositories.citizens import CitizenRepository, ConsentRepository
from storage.repositories.consultations import (
    ConsultationRepository,
    OrganisationRepository,
    VersionConflict,
)
from storage.repositories.leaders import (
    CommunityRepository,
    FunnelRow,
    InviteRepository,
    LeaderBroadcastRepository,
    LeaderLinkRepository,
    LeaderRepository,
)
from storage.repositories.messaging import (
    InboxRepository,
    OutboxRepository,
    UpdateAlreadyHandled,
)
from storage.repositories.review import (
    AuditRepository,
    CodingRepository,
    ReportRepository,
    StaffRepository,
    ThreadRepository,
)
from storage.repositories.runs import AnswerRepository, RunExport, RunRepository

__all__ = [
    "AnswerRepository",
    "AuditRepository",
    "CitizenRepository",
    "CodingRepository",
    "CommunityRepository",
    "ConsentRepository",
    "ConsultationRepository",
    "FunnelRow",
    "InboxRepository",
    "InviteRepository",
    "LeaderBroadcastRepository",
    "LeaderLinkRepository",
    "LeaderRepository",
    "OrganisationRepository",
    "OutboxRepository",
    "ReportRepository",
    "RunExport",
    "RunRepository",
    "StaffRepository",
    "ThreadRepository",
    "UpdateAlreadyHandled",
    "VersionConflict",
]
