"""What the retention purge deletes, and the claim that makes it run once a day.

The rules (which consultations are due, which steps hold contact data) are decided in
`konsulta/retention.py`; this module only runs the deletes and counts. Counts never
name anyone: they go into the audit log and the dashboard's notice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    ConsentRecord,
    FlowVersion,
    ReportState,
    ReportStatus,
    RetentionPurge,
    Run,
    Statement,
    StatementStatus,
)
from storage.repositories._dialect import upsert_insert

__all__ = ["PurgedParticipation", "RetentionRepository"]


@dataclass(frozen=True)
class PurgedParticipation:
    """What deleting one consultation's participation removed (counts only)."""

    participants: int = 0
    runs: int = 0
    answers: int = 0
    consents: int = 0
    statements: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_day(self, day: date, now: datetime) -> bool:
        """Claim `day`'s purge for this transaction; False if another process has it.

        The insert of the day's primary key is the lock: on PostgreSQL a second
        process's insert waits for the first transaction and then finds the conflict
        (or, if the first rolled back, wins); SQLite serialises writers anyway.
        """
        result = await self._session.execute(
            upsert_insert(self._session, RetentionPurge)
            .values(day=day.isoformat(), started_at=now, counts={})
            .on_conflict_do_nothing(index_elements=[RetentionPurge.day])
            .returning(RetentionPurge.day)
        )
        return result.scalar_one_or_none() is not None

    async def record_counts(self, day: date, counts: dict[str, Any]) -> None:
        await self._session.execute(
            update(RetentionPurge)
            .where(RetentionPurge.day == day.isoformat())
            .values(counts=counts)
        )

    async def purges(self, limit: int = 30) -> list[RetentionPurge]:
        """The latest purges, newest first."""
        result = await self._session.execute(
            select(RetentionPurge).order_by(RetentionPurge.day.desc()).limit(limit)
        )
        return list(result.scalars())

    async def versions(self, consultation_id: int) -> list[FlowVersion]:
        """Every published version (a step may hold contact data in an older one)."""
        result = await self._session.execute(
            select(FlowVersion)
            .where(FlowVersion.consultation_id == consultation_id)
            .order_by(FlowVersion.version)
        )
        return list(result.scalars())

    async def participants(self, consultation_id: int) -> int:
        """How many citizens have runs (so personal data) in the consultation."""
        result = await self._session.execute(
            select(func.count(func.distinct(Run.citizen_id))).where(
                Run.consultation_id == consultation_id
            )
        )
        return int(result.scalar_one())

    async def holders_of(self, consultation_id: int, step_ids: Collection[str]) -> int:
        """How many citizens still have an answer to one of these steps stored."""
        if not step_ids:
            return 0
        result = await self._session.execute(
            select(func.count(func.distinct(Run.citizen_id)))
            .join(Answer, Answer.run_id == Run.id)
            .where(
                Run.consultation_id == consultation_id,
                Answer.step_id.in_(list(step_ids)),
                Answer.skipped.is_(False),
            )
        )
        return int(result.scalar_one())

    async def purge_participation(self, consultation_id: int) -> PurgedParticipation:
        """Delete every run of the consultation (follow-up runs too) with its answers,
        and the consent records given for it. The database cascades to what hangs off a
        run: staff coding and tags, report statuses, reminders, scheduled follow-ups,
        statement votes and priority picks; citizens' statements not approved go too."""
        session = self._session
        participants = await self.participants(consultation_id)
        if not participants:
            return PurgedParticipation()
        run_ids = select(Run.id).where(Run.consultation_id == consultation_id)
        answers = await session.execute(delete(Answer).where(Answer.run_id.in_(run_ids)))
        # Citizens' statements never approved go; approved ones stay, without their
        # author (the run is gone), as the consultation's results. Votes and priority
        # picks go with the runs (by cascade).
        statements = await session.execute(
            delete(Statement).where(
                Statement.author_run_id.in_(run_ids),
                Statement.status.in_([StatementStatus.PENDING, StatementStatus.REJECTED]),
            )
        )
        # A follow-up run of another consultation never points here, but be safe.
        await session.execute(
            update(Run).where(Run.parent_run_id.in_(run_ids)).values(parent_run_id=None)
        )
        runs = await session.execute(delete(Run).where(Run.consultation_id == consultation_id))
        consents = await session.execute(
            delete(ConsentRecord).where(ConsentRecord.consultation_id == consultation_id)
        )
        await session.flush()
        return PurgedParticipation(
            participants=participants,
            runs=_rowcount(runs),
            answers=_rowcount(answers),
            consents=_rowcount(consents),
            statements=_rowcount(statements),
        )

    async def forget_answers(
        self, consultation_id: int, step_ids: Collection[str], *, resolved_only: bool
    ) -> int:
        """Delete the answers to `step_ids` in the consultation's runs (with
        `resolved_only`, only in runs whose report is resolved, and their follow-up
        runs), from the answers table and from the saved dialog state of each run
        and of its follow-up runs.
        Returns how many answers went."""
        if not step_ids:
            return 0
        steps = list(step_ids)
        runs = select(Run.id).where(Run.consultation_id == consultation_id)
        if resolved_only:
            resolved = select(ReportStatus.run_id).where(
                ReportStatus.status == ReportState.RESOLVED
            )
            runs = runs.where(Run.id.in_(resolved) | Run.parent_run_id.in_(resolved))
        holding = list(
            (
                await self._session.execute(
                    select(Run)
                    .where(
                        Run.id.in_(runs),
                        Run.id.in_(select(Answer.run_id).where(Answer.step_id.in_(steps))),
                    )
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
        if not holding:
            return 0
        ids = [run.id for run in holding]
        # A follow-up run's state starts with a copy of every answer of the run it
        # follows up (konsulta/followup_flow.py), so those copies go too.
        children = (
            await self._session.execute(
                select(Run)
                .where(Run.parent_run_id.in_(ids))
                .execution_options(populate_existing=True)
            )
        ).scalars()
        for run in [*holding, *children]:
            # The engine's state keeps each answer too (conditions and {{step}} read
            # it); a new dict, so the JSON column sees the change.
            state = dict(run.state)
            kept = {k: v for k, v in dict(state.get("answers") or {}).items() if k not in steps}
            state["answers"] = kept
            run.state = state
        result = await self._session.execute(
            delete(Answer).where(Answer.run_id.in_(ids), Answer.step_id.in_(steps))
        )
        await self._session.flush()
        return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
