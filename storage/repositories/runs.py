"""Runs (one citizen going through one flow) and their answers.

Answers are upserted: one row per question per run, so going /back and answering
again replaces the earlier answer instead of leaving two. The export iterator streams
from the database in batches, so exporting a consultation with a hundred thousand
runs uses the memory of one batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import Answer, Citizen, ConsentPurpose, Consultation, Run, RunStatus
from storage.repositories._dialect import PreparedUpsert
from storage.repositories._session import attached
from storage.repositories.citizens import consented_name, standing_consent
from storage.types import utcnow

__all__ = ["AnswerRepository", "RunExport", "RunRepository"]

EXPORT_BATCH_SIZE = 500


@dataclass
class RunExport:
    """One run as the export sees it: the pseudonymous participant, never a Telegram id."""

    run: Run
    participant_id: str
    answers: list[Answer] = field(default_factory=list)
    #: The citizen's name, only while their consent to be named in this consultation
    #: stands (`consented_name`).
    name: str | None = None


_SAVE_STATE = (
    update(cast(Table, Run.__table__))
    .where(Run.__table__.c.id == bindparam("run_id"))
    .values(state=bindparam("state"), updated_at=bindparam("now"))
)
#: Every update of a dialog asks it: built once (building costs more than running it).
_LATEST_ACTIVE = (
    select(Run)
    .where(Run.citizen_id == bindparam("citizen_id"), Run.status == RunStatus.STARTED)
    .order_by(Run.updated_at.desc(), Run.id.desc())
    .limit(1)
)


class RunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        citizen_id: int,
        consultation_id: int,
        flow_version_id: int,
        state: dict[str, Any],
        language: str,
        source: str,
        community_id: int | None = None,
        parent_run_id: int | None = None,
        consent_record_id: int | None = None,
    ) -> Run:
        now = utcnow()
        run = Run(
            citizen_id=citizen_id,
            consultation_id=consultation_id,
            flow_version_id=flow_version_id,
            state=state,
            status=RunStatus.STARTED,
            language=language,
            source=source,
            community_id=community_id,
            parent_run_id=parent_run_id,
            consent_record_id=consent_record_id,
            started_at=now,
            updated_at=now,
        )
        self._session.add(run)
        await self._session.flush()
        return run

    async def get(self, run_id: int) -> Run | None:
        return await self._session.get(Run, run_id)

    async def get_active(self, citizen_id: int, consultation_id: int) -> Run | None:
        """The citizen's unfinished run of this consultation, if any (the newest)."""
        result = await self._session.execute(
            select(Run)
            .where(
                Run.citizen_id == citizen_id,
                Run.consultation_id == consultation_id,
                Run.status == RunStatus.STARTED,
            )
            .order_by(Run.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def latest_active(self, citizen_id: int) -> Run | None:
        """The unfinished run the citizen touched last, whatever the consultation."""
        result = await self._session.execute(_LATEST_ACTIVE, {"citizen_id": citizen_id})
        return result.scalar_one_or_none()

    async def save(
        self, run: Run, *, state: dict[str, Any] | None = None, status: str | None = None
    ) -> None:
        """Store the engine's new state and/or status; completing stamps `completed_at`."""
        now = utcnow()
        if state is not None and status is None and run in self._session:
            # Most turns: one prepared UPDATE, not the ORM's flush (which works out the
            # changes of every object in the session); the object then holds the new
            # values as already stored, so no flush writes them again.
            new_state = dict(state)
            await self._session.execute(
                _SAVE_STATE, {"run_id": run.id, "state": new_state, "now": now}
            )
            set_committed_value(run, "state", new_state)
            set_committed_value(run, "updated_at", now)
            return
        run = attached(self._session, run)
        if state is not None:
            # A new dict object, so the change is seen even if the engine mutated in place.
            run.state = dict(state)
        if status is not None:
            run.status = RunStatus(status)
            if status == RunStatus.COMPLETED and run.completed_at is None:
                run.completed_at = now
        run.updated_at = now
        await self._session.flush()

    async def list_for_citizen(self, citizen_id: int) -> list[Run]:
        result = await self._session.execute(
            select(Run).where(Run.citizen_id == citizen_id).order_by(Run.id)
        )
        return list(result.scalars())

    async def organisations_of(self, citizen_id: int) -> set[int]:
        """The organisations whose consultations the citizen took part in."""
        result = await self._session.execute(
            select(Consultation.organisation_id)
            .join(Run, Run.consultation_id == Consultation.id)
            .where(Run.citizen_id == citizen_id)
            .distinct()
        )
        return set(result.scalars())

    async def stream_for_export(
        self,
        consultation_id: int,
        *,
        statuses: Iterable[str] | None = None,
        batch_size: int = EXPORT_BATCH_SIZE,
        where: Iterable[ColumnElement[bool]] = (),
    ) -> AsyncIterator[RunExport]:
        """Every run of a consultation with its answers, in run id order, streamed.

        One query (runs outer-joined to answers) read through a server-side cursor in
        batches of `batch_size` rows; memory does not grow with the number of runs.
        Consume it fully or wrap it in `contextlib.aclosing`. `where` narrows the runs
        (the dashboard's filters).
        """
        name = consented_name(standing_consent(ConsentPurpose.NAMED))
        query = (
            select(Run, Citizen.participant_id, Answer, name)
            .join(Citizen, Citizen.id == Run.citizen_id)
            .outerjoin(Answer, Answer.run_id == Run.id)
            .where(Run.consultation_id == consultation_id, *where)
            .order_by(Run.id, Answer.answered_at, Answer.id)
            .execution_options(yield_per=batch_size)
        )
        if statuses is not None:
            query = query.where(Run.status.in_(list(statuses)))
        result = await self._session.stream(query)
        try:
            current: RunExport | None = None
            # A batch at a time: one switch into the database driver per batch, not
            # per row (per-row async iteration costs more than the rows themselves).
            async for partition in result.partitions():
                for run, pid, answer, named in partition:
                    if current is None or current.run.id != run.id:
                        if current is not None:
                            yield current
                        current = RunExport(run=run, participant_id=pid, name=named)
                    if answer is not None:
                        current.answers.append(answer)
            if current is not None:
                yield current
        finally:
            await result.close()


_REPLACED = ("value", "display_text", "skipped", "answered_at", "transcript", "transcript_by")
_ANSWER_UPSERT = PreparedUpsert(
    Answer.__table__,
    lambda insert: insert.on_conflict_do_update(
        index_elements=[Answer.run_id, Answer.step_id],
        set_={name: insert.excluded[name] for name in _REPLACED},
    ),
)


class AnswerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(
        self,
        run_id: int,
        step_id: str,
        value: Any,
        *,
        display_text: str | None = None,
        skipped: bool = False,
        answered_at: datetime | None = None,
    ) -> None:
        """Store the answer to `step_id`, replacing an earlier answer to the same step."""
        await self._session.execute(
            _ANSWER_UPSERT.on(self._session),
            {
                "run_id": run_id,
                "step_id": step_id,
                "value": value,
                "display_text": display_text,
                "skipped": skipped,
                "answered_at": answered_at or utcnow(),
                # A new answer is not the old note: its machine transcript goes with it.
                "transcript": None,
                "transcript_by": None,
            },
        )

    async def get(self, answer_id: int) -> Answer | None:
        return await self._session.get(Answer, answer_id)

    async def untranscribed_voice(
        self, limit: int, *, skip: Iterable[int] = ()
    ) -> list[tuple[int, str, str]]:
        """Voice-note answers without a machine transcript yet, oldest first, as
        (answer id, Telegram file_id, the run's language); `skip` leaves some out."""
        file_id = Answer.value["voice"].as_string()
        query = (
            select(Answer.id, file_id, Run.language)
            .join(Run, Run.id == Answer.run_id)
            .where(Answer.transcript.is_(None), ~Answer.skipped, file_id.is_not(None))
            .order_by(Answer.id)
            .limit(limit)
        )
        skipped = list(skip)
        if skipped:
            query = query.where(Answer.id.not_in(skipped))
        rows = await self._session.execute(query)
        return [(int(i), str(f), str(lang)) for i, f, lang in rows]

    async def set_transcript(self, answer_id: int, file_id: str, text: str, by: str) -> bool:
        """Store a machine transcript, unless the answer has one or is no longer the
        note that was heard (re-answered meanwhile); True if stored."""
        result = await self._session.execute(
            update(Answer)
            .where(
                Answer.id == answer_id,
                Answer.transcript.is_(None),
                Answer.value["voice"].as_string() == file_id,
            )
            .values(transcript=text, transcript_by=by)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) > 0

    async def list_for_run(self, run_id: int) -> list[Answer]:
        result = await self._session.execute(
            select(Answer)
            .where(Answer.run_id == run_id)
            .order_by(Answer.answered_at, Answer.id)
            # Upserts bypass the identity map; make sure what we return is what is stored.
            .execution_options(populate_existing=True)
        )
        return list(result.scalars())

    async def delete_for_run(self, run_id: int) -> int:
        """Forget a run's answers (the citizen restarted the dialog); returns how many."""
        result = await self._session.execute(
            delete(Answer)
            .where(Answer.run_id == run_id)
            .execution_options(synchronize_session="fetch")
        )
        return _rowcount(result)

    async def delete_steps(self, run_id: int, step_ids: Iterable[str]) -> int:
        """Forget answers to some steps (a changed branch made them moot)."""
        result = await self._session.execute(
            delete(Answer)
            .where(Answer.run_id == run_id, Answer.step_id.in_(list(step_ids)))
            .execution_options(synchronize_session="fetch")
        )
        return _rowcount(result)


def _rowcount(result: Any) -> int:
    count = getattr(result, "rowcount", -1)
    return int(count) if count is not None else -1
