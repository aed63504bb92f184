"""Follow-ups: schedule them when a run completes, start them when they fall due.

Scheduling needs no hook in the conversation service: each tick looks for completed
runs of flow versions that declare follow-ups and have no `scheduled_followups` row
yet, and writes one row per declared follow-up: pending with its due time, or skipped
when its `when` does not hold for the citizen's answers. The unique (run, follow-up)
key makes a second process's insert a no-op.

Firing claims due rows (`FOR UPDATE SKIP LOCKED`) and, in the same transaction,
creates the follow-up run (`parent_run_id` = the original run, the same consent),
queues its first messages in the outbox (dedupe keys per row) and marks the row sent:
either all of it happens once, or none of it. A citizen who sent /stop or blocked the
bot is skipped; one who is in the middle of another dialog, or whose night it is,
is asked later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.conditions import holds
from dialogs.events import Message
from dialogs.render import fill
from konsulta.bootstrap import App
from konsulta.conversations import message_payloads
from konsulta.followup_flow import FOLLOWUP_SOURCE, followup_flow, start_followup
from konsulta.quiet import QuietHours
from storage.models import FollowUpStatus, RunStatus, ScheduledFollowUp
from storage.types import utcnow
from storage.uow import UnitOfWork

__all__ = ["FollowUpView", "FollowUps", "list_followups"]

#: A citizen who touched another dialog this recently is not interrupted.
BUSY_FOR = timedelta(hours=1)


class FollowUps:
    def __init__(self, app: App, quiet: QuietHours) -> None:
        self.app = app
        self.quiet = quiet
        #: flow version id -> does it declare follow-ups (published versions never change)
        self._declares: dict[int, bool] = {}

    async def _versions_with_followups(self) -> list[int]:
        async with self.app.uow() as uow:
            ids = await uow.consultations.version_ids()
            for version_id in ids:
                if version_id not in self._declares:
                    version = await uow.consultations.get_version_by_id(version_id)
                    assert version is not None
                    self._declares[version_id] = bool(self.app.flows.flow(version).followups)
        return [v for v in ids if self._declares.get(v)]

    async def schedule(self, now: datetime, *, batch: int = 500) -> int:
        """Rows for newly completed runs; returns how many runs were looked at."""
        versions = await self._versions_with_followups()
        if not versions:
            return 0
        async with self.app.uow() as uow:
            runs = await uow.followups.unscheduled_runs(versions, limit=batch)
            for run in runs:
                version = await uow.consultations.get_version_by_id(run.flow_version_id)
                assert version is not None
                flow = self.app.flows.flow(version)
                answers = run.state.get("answers", {})
                completed = run.completed_at or now
                for followup in flow.followups:
                    wanted = followup.when is None or holds(followup.when, answers)
                    await uow.followups.add(
                        run,
                        followup.id,
                        completed + timedelta(days=followup.after_days),
                        status=FollowUpStatus.PENDING if wanted else FollowUpStatus.SKIPPED,
                        note=None if wanted else "its condition does not hold",
                        now=now,
                    )
            await uow.commit()
        return len(runs)

    async def fire_due(self, now: datetime, *, batch: int = 50) -> int:
        """Start the follow-ups that are due; returns how many were started."""
        started = 0
        async with self.app.uow() as uow:
            for row in await uow.followups.claim_due(now, limit=batch):
                if await self._fire(uow, row, now):
                    started += 1
            await uow.commit()
        return started

    async def _fire(self, uow: UnitOfWork, row: ScheduledFollowUp, now: datetime) -> bool:
        citizen = await uow.citizens.get(row.citizen_id)
        run = await uow.runs.get(row.run_id)
        chat_id = await uow.citizens.chat_id(row.citizen_id) if citizen else None
        if citizen is None or run is None or chat_id is None:
            await uow.followups.finish(row, FollowUpStatus.SKIPPED, now=now, note="no citizen")
            return False
        if citizen.stopped or citizen.unreachable:
            note = "citizen sent /stop" if citizen.stopped else "citizen blocked the bot"
            await uow.followups.finish(row, FollowUpStatus.SKIPPED, now=now, note=note)
            return False
        night_ends = self.quiet.deferred_until(now, citizen.timezone)
        if night_ends is not None:
            await uow.followups.defer(row, night_ends, "quiet hours")
            return False
        active = await uow.runs.latest_active(citizen.id)
        if (
            active is not None
            and active.consent_record_id is not None
            and utcnow() - active.updated_at < BUSY_FOR
        ):
            await uow.followups.defer(row, now + BUSY_FOR, "citizen busy in another dialog")
            return False
        version = await uow.consultations.get_version_by_id(run.flow_version_id)
        assert version is not None
        flow = self.app.flows.flow(version)
        answers = run.state.get("answers", {})
        register = await uow.organisations.register_of(run.consultation_id)
        derived = followup_flow(
            flow, row.followup_id, lambda language: self.app.texts(language, register), answers
        )
        language = run.language
        texts = self.app.texts(language, register)
        turn = start_followup(derived, language, answers, texts=texts)
        followup_run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=run.consultation_id,
            flow_version_id=run.flow_version_id,
            state=turn.state,
            language=language,
            source=f"{FOLLOWUP_SOURCE}{row.followup_id}",
            community_id=run.community_id,
            parent_run_id=run.id,
            consent_record_id=run.consent_record_id,
        )
        if turn.completed:
            await uow.runs.save(followup_run, status=RunStatus.COMPLETED)
        title = flow.localize(flow.title, language)
        intro = Message(
            fill(texts.gettext("A short follow-up to “{title}”."), title=title), "notice"
        )
        listen = citizen.read_aloud and self.app.speech.speaks(language)
        for index, message in enumerate((intro, *turn.outputs)):
            payloads = message_payloads(message, followup_run.id, language, listen=listen)
            for part, payload in enumerate(payloads):
                await uow.outbox.enqueue(
                    chat_id,
                    "followup",
                    payload,
                    citizen_id=citizen.id,
                    dedupe_key=f"fu:{row.id}:{index}" + (f":{part}" if part else ""),
                )
        await uow.followups.finish(
            row, FollowUpStatus.SENT, now=now, followup_run_id=followup_run.id
        )
        return True


@dataclass(frozen=True)
class FollowUpView:
    id: int
    consultation: str
    followup_id: str
    run_id: int
    participant_id: str
    due_at: datetime
    status: str
    followup_run_id: int | None
    note: str | None


async def list_followups(
    app: App, *, status: str | None = None, consultation: str | None = None, limit: int = 100
) -> list[FollowUpView]:
    async with app.uow() as uow:
        consultation_id = None
        if consultation is not None:
            found = await uow.consultations.get_by_slug(consultation)
            if found is None:
                raise LookupError(f"no consultation '{consultation}'")
            consultation_id = found.id
        rows = await uow.followups.listing(
            status=status, consultation_id=consultation_id, limit=limit
        )
        views = []
        slugs: dict[int, str] = {}
        for row in rows:
            if row.consultation_id not in slugs:
                found = await uow.consultations.get(row.consultation_id)
                slugs[row.consultation_id] = found.slug if found else "?"
            citizen = await uow.citizens.get(row.citizen_id)
            views.append(
                FollowUpView(
                    row.id,
                    slugs[row.consultation_id],
                    row.followup_id,
                    row.run_id,
                    citizen.participant_id if citizen else "?",
                    row.due_at,
                    row.status,
                    row.followup_run_id,
                    row.note,
                )
            )
        return views
