"""Statements, votes and priority picks: the storage of citizens' ideas (issue 19).

One repository for both sides: the bot side (seed a flow's statements, a citizen's
proposal, a vote, a run's top picks, the approved statements a `statements` step may
show with their vote counts) and the staff side (the moderation queue, approve,
reject with a reason, merge a duplicate, correct a typo while keeping the author's
text, an idea's status for closing the loop; the participant x statement vote matrix
and the priorities that the opinion groups and Borda counts are computed from).

Every staff-side read names the consultation, so an id from a URL never reaches
another consultation's statement; the caller checks the consultation's organisation.
Participants are named by their pseudonymous `participant_id`, never a Telegram id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Citizen,
    IdeaStatus,
    PriorityPick,
    Run,
    Statement,
    StatementStatus,
    StatementVote,
    Vote,
)
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

__all__ = ["ApprovedStatement", "StatementRepository"]


@dataclass(frozen=True)
class ApprovedStatement:
    """An approved statement as a `statements` step shows it, with its vote counts."""

    id: int
    step_id: str
    seed_key: str | None
    text: str
    language: str
    translations: dict[str, str] = field(default_factory=dict)
    agree: int = 0
    disagree: int = 0
    passed: int = 0

    @property
    def votes(self) -> int:
        return self.agree + self.disagree + self.passed


class StatementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- the bot side ----------------------------------------------------------------

    async def seed(
        self,
        consultation_id: int,
        step_id: str,
        seeds: Iterable[tuple[str, str]],
        language: str,
        now: datetime | None = None,
    ) -> None:
        """Make sure the flow's seeded statements (key, text in the flow's default
        language) exist, approved; existing ones (and their votes) are left alone, so
        this is safe to call on every turn and from several processes at once."""
        rows = [
            {
                "consultation_id": consultation_id,
                "step_id": step_id,
                "seed_key": key,
                "text": text,
                "language": language,
                "status": StatementStatus.APPROVED.value,
                "translations": {},
                "created_at": now or utcnow(),
                "decided_at": now or utcnow(),
            }
            for key, text in seeds
        ]
        if not rows:
            return
        await self._session.execute(
            upsert_insert(self._session, Statement)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=[Statement.consultation_id, Statement.step_id, Statement.seed_key]
            )
        )

    async def add(
        self,
        consultation_id: int,
        step_id: str,
        text: str,
        language: str,
        *,
        author_run_id: int | None = None,
        voice: dict[str, Any] | None = None,
        status: StatementStatus = StatementStatus.PENDING,
        decided_by: int | None = None,
        now: datetime | None = None,
    ) -> Statement:
        """A new statement: a citizen's proposal (pending moderation, the default) or
        one staff add on the dashboard (`status=APPROVED`, no author)."""
        moment = now or utcnow()
        statement = Statement(
            consultation_id=consultation_id,
            step_id=step_id,
            text=text,
            language=language,
            author_run_id=author_run_id,
            voice=voice,
            status=status.value,
            translations={},
            created_at=moment,
            decided_at=None if status is StatementStatus.PENDING else moment,
            decided_by=decided_by,
        )
        self._session.add(statement)
        await self._session.flush()
        return statement

    async def approved(self, consultation_id: int, step_id: str) -> list[ApprovedStatement]:
        """The approved statements of a step with their vote counts, oldest first."""
        counts = (
            select(
                StatementVote.statement_id.label("statement_id"),
                func.sum(case((StatementVote.vote == Vote.AGREE, 1), else_=0)).label("agree"),
                func.sum(case((StatementVote.vote == Vote.DISAGREE, 1), else_=0)).label("disagree"),
                func.sum(case((StatementVote.vote == Vote.PASS, 1), else_=0)).label("passed"),
            )
            .group_by(StatementVote.statement_id)
            .subquery()
        )
        result = await self._session.execute(
            select(Statement, counts.c.agree, counts.c.disagree, counts.c.passed)
            .outerjoin(counts, counts.c.statement_id == Statement.id)
            .where(
                Statement.consultation_id == consultation_id,
                Statement.step_id == step_id,
                Statement.status == StatementStatus.APPROVED,
            )
            .order_by(Statement.id)
        )
        return [
            ApprovedStatement(
                id=s.id,
                step_id=s.step_id,
                seed_key=s.seed_key,
                text=s.shown_text,
                language=s.language,
                translations=dict(s.translations or {}),
                agree=int(agree or 0),
                disagree=int(disagree or 0),
                passed=int(passed or 0),
            )
            for s, agree, disagree, passed in result.all()
        ]

    async def vote(
        self,
        statement_id: int,
        citizen_id: int,
        run_id: int,
        vote: Vote | int,
        now: datetime | None = None,
    ) -> None:
        """Record a vote; a participant's second vote on a statement replaces the first."""
        value = int(Vote(vote))
        moment = now or utcnow()
        await self._session.execute(
            upsert_insert(self._session, StatementVote)
            .values(
                statement_id=statement_id,
                citizen_id=citizen_id,
                run_id=run_id,
                vote=value,
                voted_at=moment,
            )
            .on_conflict_do_update(
                index_elements=[StatementVote.statement_id, StatementVote.citizen_id],
                set_={"vote": value, "run_id": run_id, "voted_at": moment},
            )
        )

    async def set_priorities(
        self,
        run_id: int,
        step_id: str,
        statement_ids: Sequence[int],
        now: datetime | None = None,
    ) -> None:
        """A run's picks on a priorities step, most important first; replaces earlier ones."""
        await self._session.execute(
            delete(PriorityPick).where(
                PriorityPick.run_id == run_id, PriorityPick.step_id == step_id
            )
        )
        moment = now or utcnow()
        for rank, statement_id in enumerate(dict.fromkeys(statement_ids), 1):
            self._session.add(
                PriorityPick(
                    run_id=run_id,
                    step_id=step_id,
                    statement_id=statement_id,
                    rank=rank,
                    picked_at=moment,
                )
            )
        await self._session.flush()

    async def votes_of(self, citizen_id: int, consultation_id: int) -> dict[int, int]:
        """statement id -> this citizen's vote, in one consultation."""
        result = await self._session.execute(
            select(StatementVote.statement_id, StatementVote.vote)
            .join(Statement, Statement.id == StatementVote.statement_id)
            .where(
                StatementVote.citizen_id == citizen_id,
                Statement.consultation_id == consultation_id,
            )
        )
        return {statement_id: vote for statement_id, vote in result.all()}

    # --- the staff side --------------------------------------------------------------

    async def get(self, consultation_id: int, statement_id: int) -> Statement | None:
        """The statement if it belongs to this consultation (None for another's)."""
        found: Statement | None = await self._session.scalar(
            select(Statement).where(
                Statement.id == statement_id, Statement.consultation_id == consultation_id
            )
        )
        return found

    async def list_for(
        self,
        consultation_id: int,
        *,
        status: StatementStatus | None = None,
        step_id: str | None = None,
    ) -> list[Statement]:
        """A consultation's statements (the moderation queue: `status=PENDING`), oldest first."""
        query = select(Statement).where(Statement.consultation_id == consultation_id)
        if status is not None:
            query = query.where(Statement.status == status)
        if step_id is not None:
            query = query.where(Statement.step_id == step_id)
        return list(await self._session.scalars(query.order_by(Statement.id)))

    async def approve(self, statement: Statement, staff_id: int | None, now: datetime) -> None:
        self._decide(statement, StatementStatus.APPROVED, staff_id, now)
        statement.rejection_reason = None
        statement.merged_into_id = None
        await self._session.flush()

    async def reject(
        self, statement: Statement, reason: str, staff_id: int | None, now: datetime
    ) -> None:
        self._decide(statement, StatementStatus.REJECTED, staff_id, now)
        statement.rejection_reason = reason
        await self._session.flush()

    async def merge(
        self, statement: Statement, into: Statement, staff_id: int | None, now: datetime
    ) -> None:
        """Mark `statement` a duplicate of `into` (same consultation, the caller checks)
        and move its votes there, except from participants who voted on `into` too."""
        if statement.id == into.id:
            raise ValueError("a statement cannot be merged into itself")
        self._decide(statement, StatementStatus.MERGED, staff_id, now)
        statement.merged_into_id = into.id
        already = select(StatementVote.citizen_id).where(StatementVote.statement_id == into.id)
        await self._session.execute(
            update(StatementVote)
            .where(
                StatementVote.statement_id == statement.id,
                StatementVote.citizen_id.not_in(already),
            )
            .values(statement_id=into.id)
        )
        await self._session.flush()

    async def correct(
        self, statement: Statement, text: str, staff_id: int | None, now: datetime
    ) -> None:
        """Fix a typo: the author's `text` stays, the correction is what is shown."""
        statement.corrected_text = text if text != statement.text else None
        statement.decided_by = staff_id
        statement.decided_at = statement.decided_at or now
        await self._session.flush()

    async def set_idea_status(
        self,
        statement: Statement,
        status: IdeaStatus | None,
        reason: str | None,
        now: datetime,
    ) -> None:
        """What became of the idea (None clears it); `reason` explains, e.g. why not."""
        statement.idea_status = status.value if status is not None else None
        statement.idea_reason = reason
        statement.idea_status_at = now if status is not None else None
        await self._session.flush()

    async def author_of(self, statement: Statement) -> int | None:
        """The citizen id who wrote the statement (None: seeded, or the run is gone)."""
        if statement.author_run_id is None:
            return None
        found: int | None = await self._session.scalar(
            select(Run.citizen_id).where(Run.id == statement.author_run_id)
        )
        return found

    async def supporters(self, statement: Statement) -> list[int]:
        """Citizen ids of its author and of everyone who agreed with it (closing the loop)."""
        agreed = set(
            await self._session.scalars(
                select(StatementVote.citizen_id).where(
                    StatementVote.statement_id == statement.id,
                    StatementVote.vote == Vote.AGREE,
                )
            )
        )
        author = await self.author_of(statement)
        if author is not None:
            agreed.add(author)
        return sorted(agreed)

    async def vote_matrix(
        self, consultation_id: int, step_id: str | None = None
    ) -> dict[str, dict[int, int]]:
        """participant_id -> {statement id -> vote (1, 0, -1)} over the approved
        statements of the consultation (of one step, if named). A missing entry is a
        statement the participant was not shown or did not vote on."""
        query = (
            select(Citizen.participant_id, StatementVote.statement_id, StatementVote.vote)
            .join(Citizen, Citizen.id == StatementVote.citizen_id)
            .join(Statement, Statement.id == StatementVote.statement_id)
            .where(
                Statement.consultation_id == consultation_id,
                Statement.status == StatementStatus.APPROVED,
            )
            .order_by(Citizen.participant_id, StatementVote.statement_id)
        )
        if step_id is not None:
            query = query.where(Statement.step_id == step_id)
        matrix: dict[str, dict[int, int]] = {}
        for participant, statement_id, vote in (await self._session.execute(query)).all():
            matrix.setdefault(participant, {})[statement_id] = vote
        return matrix

    async def priorities(
        self, consultation_id: int, step_id: str | None = None
    ) -> dict[str, list[int]]:
        """participant_id -> the statement ids they picked, most important first (their
        latest run's picks, if they answered more than once)."""
        query = (
            select(Citizen.participant_id, PriorityPick.run_id, PriorityPick.statement_id)
            .join(Run, Run.id == PriorityPick.run_id)
            .join(Citizen, Citizen.id == Run.citizen_id)
            .where(Run.consultation_id == consultation_id)
            .order_by(PriorityPick.run_id, PriorityPick.rank)
        )
        if step_id is not None:
            query = query.where(PriorityPick.step_id == step_id)
        latest: dict[str, tuple[int, list[int]]] = {}
        for participant, run_id, statement_id in (await self._session.execute(query)).all():
            run, picks = latest.get(participant, (run_id, []))
            if run != run_id:
                picks = []
            picks.append(statement_id)
            latest[participant] = (run_id, picks)
        return {participant: picks for participant, (_, picks) in latest.items()}

    @staticmethod
    def _decide(
        statement: Statement, status: StatementStatus, staff_id: int | None, now: datetime
    ) -> None:
        statement.status = status.value
        statement.decided_by = staff_id
        statement.decided_at = now
