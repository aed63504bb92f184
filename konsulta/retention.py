"""Retention: personal data is kept only as long as its purpose needs it.

Two rules, both applied by one daily purge (`Retention.purge`, run by the outreach
scheduler and by `konsulta retention purge`):

- **Participation.** `retention_months` (the flow's, else `KONSULTA_RETENTION_MONTHS`)
  after a consultation closes, every run of it is deleted with its answers (free
  texts, choices, locations, photos, voice notes, contact), everything staff attached
  to them (coding, tags, report statuses), its reminders and follow-ups, and the
  consent records given for it. Nothing then ties a person to the consultation. The
  citizen row and the Telegram mapping stay while the person uses the bot (other
  consultations, broadcasts); `/delete` removes them.
- **Contact.** An answer to a `contact` step (a phone number) is deleted once the
  report it belongs to is resolved, and for every run once the consultation closes.

A consultation closes when staff close it (`consultations.closed_at`) or after the
last day its flow is open (`closes`); the purge day is that day plus the months.

Exactly once: the purge claims the day by inserting the day's `retention_purges` row
in its own transaction (a primary key), so of several processes on one database only
one purges a given day, and a purge that fails leaves no claim and is retried at the
next run. Each purge writes one audit row (`retention_purge`, actor `retention`) with
counts per consultation and no person. On SQLite the write-ahead log is then
checkpointed (`fold_in_erasures`), as after an erasure.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dialogs.schema import Flow, StepKind
from konsulta.bootstrap import App
from storage.engine import fold_in_erasures
from storage.models import Consultation, ConsultationStatus
from storage.uow import UnitOfWork

__all__ = ["ACTOR", "Notice", "PurgeReport", "Retention", "Schedule", "add_months", "schedule_of"]

#: The audit log's actor for the purge (no account does it).
ACTOR = "retention"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day (31 January + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


@dataclass(frozen=True)
class Schedule:
    """When a consultation's personal data goes."""

    months: int
    #: The day it closed, or its flow's last open day (None: open with no end date).
    closes_on: dt.date | None
    #: Closed by `today`: contact data goes at the next purge.
    closed: bool
    #: The day its participants' personal data is deleted.
    purge_on: dt.date | None

    @property
    def contact_by(self) -> dt.date | None:
        """The first purge day after the closing: the last day contact data is kept."""
        if self.closes_on is None:
            return None
        return self.closes_on if self.closed else self.closes_on + dt.timedelta(days=1)


def schedule_of(
    consultation: Consultation, flow: Flow | None, today: dt.date, default_months: int
) -> Schedule:
    months = (flow.retention_months if flow else None) or default_months
    closes_on: dt.date | None = None
    closed = False
    if consultation.status == ConsultationStatus.CLOSED:
        closes_on = (consultation.closed_at or consultation.updated_at).astimezone(dt.UTC).date()
        closed = True
    elif flow is not None and flow.closes is not None:
        closes_on = flow.closes
        closed = today > flow.closes
    purge_on = add_months(closes_on, months) if closes_on else None
    return Schedule(months, closes_on, closed, purge_on)


def contact_steps(flows: list[Flow]) -> set[str]:
    """The steps, in any version and follow-up, whose answers are contact data."""
    found: set[str] = set()
    for flow in flows:
        steps = [*flow.steps, *(s for f in flow.followups for s in f.steps)]
        found.update(s.id for s in steps if s.kind is StepKind.CONTACT)
    return found


@dataclass(frozen=True)
class Notice:
    """What the dashboard announces on a consultation's page."""

    schedule: Schedule
    #: Citizens whose personal data in this consultation is still stored.
    participants: int
    #: Citizens whose contact answer (phone) is still stored.
    contacts: int


@dataclass
class PurgeReport:
    day: dt.date
    #: consultation slug -> what went (counts).
    consultations: dict[str, dict[str, int]] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        total: dict[str, int] = {}
        for counts in self.consultations.values():
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
        return {"day": self.day.isoformat(), "total": total, "consultations": self.consultations}


class Retention:
    def __init__(self, app: App) -> None:
        self.app = app

    async def _flows(
        self, uow: UnitOfWork, consultation: Consultation
    ) -> tuple[Flow | None, list[Flow]]:
        versions = await uow.retention.versions(consultation.id)
        flows = [self.app.flows.flow(v) for v in versions]
        current = next(
            (
                f
                for v, f in zip(versions, flows, strict=True)
                if v.version == consultation.current_version
            ),
            None,
        )
        return current, flows

    async def notice(self, uow: UnitOfWork, consultation: Consultation, today: dt.date) -> Notice:
        current, flows = await self._flows(uow, consultation)
        schedule = schedule_of(consultation, current, today, self.app.settings.retention_months)
        return Notice(
            schedule=schedule,
            participants=await uow.retention.participants(consultation.id),
            contacts=await uow.retention.holders_of(consultation.id, contact_steps(flows)),
        )

    async def overview(self, today: dt.date) -> list[tuple[str, Notice]]:
        """Every consultation's slug and notice, for `konsulta retention status`."""
        async with self.app.uow(read_only=True) as uow:
            return [
                (consultation.slug, await self.notice(uow, consultation, today))
                for consultation in await uow.consultations.list_all()
            ]

    async def purge(self, now: dt.datetime | None = None) -> PurgeReport | None:
        """Today's purge, unless another process (or an earlier run) has done it: then
        None. `now` defaults to the app's clock."""
        if now is None:
            await self.app.clock.refresh()
            now = self.app.clock.now()
        day = now.astimezone(dt.UTC).date()
        report = PurgeReport(day)
        async with self.app.uow() as uow:
            if not await uow.retention.claim_day(day, now):
                return None
            for consultation in await uow.consultations.list_all():
                current, flows = await self._flows(uow, consultation)
                schedule = schedule_of(
                    consultation, current, day, self.app.settings.retention_months
                )
                went: dict[str, int] = {}
                if schedule.purge_on is not None and day >= schedule.purge_on:
                    went = {
                        k: v
                        for k, v in (await uow.retention.purge_participation(consultation.id))
                        .as_dict()
                        .items()
                        if v
                    }
                else:
                    contacts = await uow.retention.forget_answers(
                        consultation.id, contact_steps(flows), resolved_only=not schedule.closed
                    )
                    if contacts:
                        went = {"contact_answers": contacts}
                if went:
                    report.consultations[consultation.slug] = went
            counts = report.counts()
            await uow.retention.record_counts(day, counts)
            await uow.audit.add(
                "retention_purge",
                email=ACTOR,
                staff_user_id=None,
                organisation_id=None,
                target=day.isoformat(),
                detail=counts,
            )
            await uow.commit()
        await fold_in_erasures(self.app.engine)
        return report
