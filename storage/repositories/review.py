"""What the staff dashboard stores: staff accounts, login attempts, the audit log, the
codebook and answer codings, report statuses and staff-citizen threads.

Lockout is computed from the stored attempts (failures since the last success within
a window), so it holds across restarts and across several dashboard processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    AnswerCoding,
    AnswerTag,
    AuditEntry,
    Citizen,
    CodebookTag,
    Consultation,
    LoginAttempt,
    Organisation,
    ReportStatus,
    Run,
    StaffUser,
    ThreadDirection,
    ThreadMessage,
)
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

__all__ = [
    "ERASED_PARTICIPANT",
    "AuditRepository",
    "CodingRepository",
    "ReportRepository",
    "StaffRepository",
    "ThreadRepository",
    "UnreadThread",
]


@dataclass(frozen=True)
class UnreadThread:
    """A citizen's open thread: messages not yet marked done, `unread` of them not
    opened by any staff member yet."""

    participant_id: str
    unread: int
    newest: datetime


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> StaffUser | None:
        return await self._session.get(StaffUser, user_id)

    async def get_with_organisation(self, user_id: int) -> tuple[StaffUser, Organisation] | None:
        """The user and their organisation in one query (every dashboard request)."""
        result = await self._session.execute(
            select(StaffUser, Organisation)
            .join(Organisation, Organisation.id == StaffUser.organisation_id)
            .where(StaffUser.id == user_id)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def get_by_email(self, email: str) -> StaffUser | None:
        result = await self._session.execute(
            select(StaffUser).where(StaffUser.email == email.strip().lower())
        )
        return result.scalar_one_or_none()

    async def create(
        self, email: str, password_hash: str, role: str, organisation_id: int, language: str
    ) -> StaffUser:
        user = StaffUser(
            email=email.strip().lower(),
            password_hash=password_hash,
            role=role,
            organisation_id=organisation_id,
            language=language,
            active=True,
            created_at=utcnow(),
        )
        self._session.add(user)
        await self._session.flush()
        return user

    async def list_all(self, organisation_id: int | None = None) -> list[StaffUser]:
        """Every account, or those of one organisation (what its own admin may see)."""
        query = select(StaffUser).order_by(StaffUser.email)
        if organisation_id is not None:
            query = query.where(StaffUser.organisation_id == organisation_id)
        result = await self._session.execute(query)
        return list(result.scalars())

    async def record_attempt(
        self, email: str, succeeded: bool, at: datetime | None = None, address: str | None = None
    ) -> None:
        self._session.add(
            LoginAttempt(
                email=email.strip().lower(),
                succeeded=succeeded,
                created_at=at or utcnow(),
                address=address,
            )
        )
        await self._session.flush()

    async def failures_from(self, address: str, since: datetime) -> int:
        """Failed logins from one network address after `since`, whatever the e-mail
        (someone trying many accounts slowly stays under every per-e-mail lockout)."""
        result = await self._session.execute(
            select(func.count()).where(
                LoginAttempt.address == address,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.created_at > since,
            )
        )
        return int(result.scalar_one())

    async def recent_failures(self, email: str, since: datetime) -> tuple[int, datetime | None]:
        """Failures after `since` and after the last success: (count, newest failure)."""
        email = email.strip().lower()
        last_success = (
            select(func.max(LoginAttempt.created_at))
            .where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(True))
            .scalar_subquery()
        )
        query = select(func.count(), func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > since,
            LoginAttempt.created_at > func.coalesce(last_success, since),
        )
        count, newest = (await self._session.execute(query)).one()
        return int(count), newest


#: What an audit row names instead of a citizen once they are erased: the action, its
#: time and who did it stay (the audit keeps its meaning), the person does not.
ERASED_PARTICIPANT = "erased participant"

#: At most this many names in one `IN (...)` (SQLite allows 32,766 parameters).
_NAMES_PER_QUERY = 500


class AuditRepository:
    """The audit log of what staff, leaders and the CLI did.

    An entry about one citizen names them in `target` in one of these ways, and only
    these: the participant id (a thread viewed, a reply, an assisted participant),
    `citizen:<row id>` (a leader-broadcast approver added from the CLI),
    `<consultation>/run/<id>` (a report's status, a photo viewed) or
    `<consultation>/answer/<id>` (a free text coded). `names_of` lists them for one
    citizen; /mydata shows the entries (`about`) and erasure replaces them with
    `ERASED_PARTICIPANT` (`forget`). Pages that list many citizens' answers are audited
    by consultation and filter, never by person.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def names_of(self, citizen_id: int, participant_id: str) -> list[str]:
        """Every `target` under which the audit log may name this citizen."""
        runs = await self._session.execute(
            select(Consultation.slug, Run.id)
            .join(Consultation, Consultation.id == Run.consultation_id)
            .where(Run.citizen_id == citizen_id)
        )
        names = [participant_id, f"citizen:{citizen_id}"]
        names += [f"{slug}/run/{run_id}" for slug, run_id in runs]
        answers = await self._session.execute(
            select(Consultation.slug, Answer.id)
            .join(Run, Run.id == Answer.run_id)
            .join(Consultation, Consultation.id == Run.consultation_id)
            .where(Run.citizen_id == citizen_id)
        )
        names += [f"{slug}/answer/{answer_id}" for slug, answer_id in answers]
        return names

    async def about(self, citizen_id: int, participant_id: str) -> list[AuditEntry]:
        """The entries that name this citizen, oldest first (for /mydata)."""
        names = await self.names_of(citizen_id, participant_id)
        found: list[AuditEntry] = []
        for start in range(0, len(names), _NAMES_PER_QUERY):
            chunk = names[start : start + _NAMES_PER_QUERY]
            result = await self._session.execute(
                select(AuditEntry).where(AuditEntry.target.in_(chunk))
            )
            found.extend(result.scalars())
        return sorted(found, key=lambda entry: entry.id)

    async def forget(self, citizen_id: int, participant_id: str) -> None:
        """Erasure: every entry that names this citizen names `ERASED_PARTICIPANT`
        instead (call it before the runs and answers are deleted)."""
        names = await self.names_of(citizen_id, participant_id)
        for start in range(0, len(names), _NAMES_PER_QUERY):
            chunk = names[start : start + _NAMES_PER_QUERY]
            await self._session.execute(
                update(AuditEntry)
                .where(AuditEntry.target.in_(chunk))
                .values(target=ERASED_PARTICIPANT)
                .execution_options(synchronize_session=False)
            )

    async def add(
        self,
        action: str,
        *,
        email: str,
        staff_user_id: int | None,
        organisation_id: int | None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._session.add(
            AuditEntry(
                staff_user_id=staff_user_id,
                email=email,
                organisation_id=organisation_id,
                action=action,
                target=target[:200] if target else None,
                detail=detail or {},
                created_at=utcnow(),
            )
        )
        await self._session.flush()

    async def search(
        self,
        *,
        organisation_id: int | None,
        action: str | None = None,
        email: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest first; `organisation_id=None` means every organisation (admins)."""
        query = select(AuditEntry)
        if organisation_id is not None:
            query = query.where(AuditEntry.organisation_id == organisation_id)
        if action:
            query = query.where(AuditEntry.action == action)
        if email:
            query = query.where(AuditEntry.email == email.strip().lower())
        if since is not None:
            query = query.where(AuditEntry.created_at >= since)
        if until is not None:
            query = query.where(AuditEntry.created_at < until)
        query = query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        return list((await self._session.execute(query)).scalars())


class CodingRepository:
    """The codebook of a consultation and how each free-text answer is coded."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def tags(self, consultation_id: int) -> list[CodebookTag]:
        result = await self._session.execute(
            select(CodebookTag)
            .where(CodebookTag.consultation_id == consultation_id)
            .order_by(CodebookTag.name)
        )
        return list(result.scalars())

    async def add_tag(self, consultation_id: int, name: str) -> None:
        await self._session.execute(
            upsert_insert(self._session, CodebookTag)
            .values(consultation_id=consultation_id, name=name, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[CodebookTag.consultation_id, CodebookTag.name])
        )

    async def delete_tag(self, consultation_id: int, tag_id: int) -> None:
        await self._session.execute(
            delete(CodebookTag).where(
                CodebookTag.id == tag_id, CodebookTag.consultation_id == consultation_id
            )
        )

    async def set_tags(self, answer_id: int, tag_ids: Iterable[int]) -> None:
        await self._session.execute(delete(AnswerTag).where(AnswerTag.answer_id == answer_id))
        for tag_id in sorted(set(tag_ids)):
            self._session.add(AnswerTag(answer_id=answer_id, tag_id=tag_id))
        await self._session.flush()

    async def set_coding(self, answer_id: int, mark: str | None, follow_up: bool) -> None:
        insert = upsert_insert(self._session, AnswerCoding).values(
            answer_id=answer_id, mark=mark, follow_up=follow_up, updated_at=utcnow()
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=[AnswerCoding.answer_id],
                set_={
                    "mark": insert.excluded.mark,
                    "follow_up": insert.excluded.follow_up,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )

    async def codings(self, answer_ids: Sequence[int]) -> dict[int, AnswerCoding]:
        if not answer_ids:
            return {}
        result = await self._session.execute(
            select(AnswerCoding)
            .where(AnswerCoding.answer_id.in_(list(answer_ids)))
            .execution_options(populate_existing=True)
        )
        return {c.answer_id: c for c in result.scalars()}

    async def tags_of(self, answer_ids: Sequence[int]) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        if not answer_ids:
            return found
        result = await self._session.execute(
            select(AnswerTag.answer_id, AnswerTag.tag_id).where(
                AnswerTag.answer_id.in_(list(answer_ids))
            )
        )
        for answer_id, tag_id in result:
            found.setdefault(answer_id, set()).add(tag_id)
        return found

    async def tag_counts(self, consultation_id: int) -> list[tuple[str, int]]:
        result = await self._session.execute(
            select(CodebookTag.name, func.count(AnswerTag.answer_id))
            .outerjoin(AnswerTag, AnswerTag.tag_id == CodebookTag.id)
            .where(CodebookTag.consultation_id == consultation_id)
            .group_by(CodebookTag.id, CodebookTag.name)
            .order_by(CodebookTag.name)
        )
        return [(name, int(count)) for name, count in result]


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def set_status(self, run_id: int, status: str) -> None:
        insert = upsert_insert(self._session, ReportStatus).values(
            run_id=run_id, status=status, updated_at=utcnow()
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=[ReportStatus.run_id],
                set_={"status": insert.excluded.status, "updated_at": insert.excluded.updated_at},
            )
        )

    async def statuses(self, run_ids: Sequence[int]) -> dict[int, str]:
        if not run_ids:
            return {}
        result = await self._session.execute(
            select(ReportStatus.run_id, ReportStatus.status).where(
                ReportStatus.run_id.in_(list(run_ids))
            )
        )
        return {run_id: status for run_id, status in result}


class ThreadRepository:
    """Messages between an organisation's staff and one citizen."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        citizen_id: int,
        organisation_id: int,
        direction: str,
        text: str,
        *,
        staff_user_id: int | None = None,
    ) -> ThreadMessage:
        message = ThreadMessage(
            citizen_id=citizen_id,
            organisation_id=organisation_id,
            direction=ThreadDirection(direction),
            text=text,
            staff_user_id=staff_user_id,
            created_at=utcnow(),
        )
        self._session.add(message)
        await self._session.flush()
        return message

    async def for_citizen(self, citizen_id: int, organisation_id: int) -> list[ThreadMessage]:
        result = await self._session.execute(
            select(ThreadMessage)
            .where(
                ThreadMessage.citizen_id == citizen_id,
                ThreadMessage.organisation_id == organisation_id,
            )
            .order_by(ThreadMessage.id)
        )
        return list(result.scalars())

    def _unread(self, organisation_id: int) -> list[Any]:
        return [
            ThreadMessage.organisation_id == organisation_id,
            ThreadMessage.seen_at.is_(None),
            ThreadMessage.direction == ThreadDirection.FROM_CITIZEN,
        ]

    async def unread_count(self, organisation_id: int) -> int:
        """How many citizens' messages to the organisation no staff member has seen."""
        result = await self._session.execute(
            select(func.count()).select_from(ThreadMessage).where(*self._unread(organisation_id))
        )
        return int(result.scalar_one())

    async def open_threads(self, organisation_id: int) -> list[UnreadThread]:
        """The organisation's threads with citizen messages not marked done (unread
        ones first), newest first."""
        newest = func.max(ThreadMessage.created_at)
        unread = func.sum(case((ThreadMessage.seen_at.is_(None), 1), else_=0))
        result = await self._session.execute(
            select(Citizen.participant_id, unread, newest)
            .join(Citizen, Citizen.id == ThreadMessage.citizen_id)
            .where(
                ThreadMessage.organisation_id == organisation_id,
                ThreadMessage.direction == ThreadDirection.FROM_CITIZEN,
                ThreadMessage.done_at.is_(None),
            )
            .group_by(Citizen.participant_id)
            .order_by(unread.desc(), newest.desc())
        )
        return [UnreadThread(pid, int(n or 0), when) for pid, n, when in result]

    async def is_open(self, citizen_id: int, organisation_id: int) -> bool:
        """Whether the citizen wrote something to the organisation not marked done."""
        result = await self._session.execute(
            select(ThreadMessage.id)
            .where(
                ThreadMessage.citizen_id == citizen_id,
                ThreadMessage.organisation_id == organisation_id,
                ThreadMessage.direction == ThreadDirection.FROM_CITIZEN,
                ThreadMessage.done_at.is_(None),
            )
            .limit(1)
        )
        return result.scalar_one_or_none() is not None

    async def mark_done(self, citizen_id: int, organisation_id: int, now: datetime) -> int:
        """Mark the conversation done (and read); how many messages were open."""
        result = await self._session.execute(
            update(ThreadMessage)
            .where(
                ThreadMessage.citizen_id == citizen_id,
                ThreadMessage.organisation_id == organisation_id,
                ThreadMessage.direction == ThreadDirection.FROM_CITIZEN,
                ThreadMessage.done_at.is_(None),
            )
            .values(done_at=now, seen_at=func.coalesce(ThreadMessage.seen_at, now))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def unread_in_consultation(self, organisation_id: int, consultation_id: int) -> int:
        """How many of a consultation's participants wrote messages nobody has seen."""
        took_part = exists().where(
            Run.citizen_id == ThreadMessage.citizen_id, Run.consultation_id == consultation_id
        )
        result = await self._session.execute(
            select(func.count(func.distinct(ThreadMessage.citizen_id))).where(
                *self._unread(organisation_id), took_part
            )
        )
        return int(result.scalar_one())

    async def mark_seen(self, citizen_id: int, organisation_id: int, now: datetime) -> int:
        """Mark the citizen's messages in the organisation's thread as seen; how many
        were unread."""
        result = await self._session.execute(
            update(ThreadMessage)
            .where(ThreadMessage.citizen_id == citizen_id, *self._unread(organisation_id))
            .values(seen_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def open_thread(self, citizen_id: int, since: datetime) -> int | None:
        """The organisation that last wrote to this citizen after `since`, if any: a
        citizen's free message goes into that organisation's thread."""
        result = await self._session.execute(
            select(ThreadMessage.organisation_id)
            .where(
                ThreadMessage.citizen_id == citizen_id,
                ThreadMessage.direction == ThreadDirection.TO_CITIZEN,
                ThreadMessage.created_at >= since,
            )
            .order_by(ThreadMessage.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()
