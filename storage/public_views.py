"""The public results pages' reads: plain functions over a session, plain data back.

A public page has no login, so it must find only what staff published: every lookup
here starts from `published_consultation`, which answers None for a consultation that
does not exist, is not published, or has no published version, alike. The numbers
count finished runs only (the one population the k-anonymity rules in
`konsulta.public_results` reason about); nothing here returns a person's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Answer,
    Broadcast,
    BroadcastStatus,
    Consultation,
    ConsultationStatus,
    Organisation,
    Outcome,
    ReportState,
    ReportStatus,
    Run,
    RunStatus,
)

__all__ = [
    "PublicOutcome",
    "PublicReport",
    "finished",
    "finished_by_language",
    "organisation_name",
    "public_outcomes",
    "public_reports",
    "published_consultation",
    "published_map",
    "published_maps",
]


@dataclass(frozen=True)
class PublicOutcome:
    """A "you said, we did" outcome: its texts per language and when it was written."""

    texts: dict[str, str]
    created_at: datetime


def finished() -> list[ColumnElement[bool]]:
    """The population of a public page: finished, top-level runs."""
    return [Run.status == RunStatus.COMPLETED, Run.parent_run_id.is_(None)]


async def published_consultation(session: AsyncSession, slug: str) -> Consultation | None:
    """The consultation if staff published its results, else None (whatever the reason)."""
    result = await session.execute(
        select(Consultation).where(
            Consultation.slug == slug,
            Consultation.public_since.is_not(None),
            Consultation.current_version.is_not(None),
            Consultation.status != ConsultationStatus.DRAFT,
        )
    )
    return result.scalar_one_or_none()


async def organisation_name(session: AsyncSession, organisation_id: int) -> str:
    found = await session.get(Organisation, organisation_id)
    return found.name if found is not None else ""


async def finished_by_language(session: AsyncSession, consultation_id: int) -> dict[str, int]:
    """Finished runs per language (one query)."""
    rows = await session.execute(
        select(Run.language, func.count())
        .where(Run.consultation_id == consultation_id, *finished())
        .group_by(Run.language)
    )
    return {str(language): int(n) for language, n in rows}


async def public_outcomes(session: AsyncSession, consultation_id: int) -> list[PublicOutcome]:
    """Outcomes whose results message staff sent (or scheduled), newest first; a draft
    or cancelled one is still being written and stays private."""
    rows = await session.execute(
        select(Outcome.texts, Outcome.created_at)
        .join(Broadcast, Broadcast.id == Outcome.broadcast_id)
        .where(
            Outcome.consultation_id == consultation_id,
            Broadcast.status.in_(
                [BroadcastStatus.SCHEDULED, BroadcastStatus.RUNNING, BroadcastStatus.DONE]
            ),
        )
        .order_by(Outcome.created_at.desc(), Outcome.id.desc())
    )
    return [PublicOutcome(dict(texts), created_at) for texts, created_at in rows]


#: The most reports a public map lists (the newest).
MAX_PUBLIC_REPORTS = 500


@dataclass(frozen=True)
class PublicReport:
    """A finished report as the public map may know it, before its place is snapped:
    the category's option key, the staff status, the day it was sent, and the location
    answer's value (`{"lat", "lon"}` or `{"place": text}`)."""

    run_id: int  # to name the report in Open311 (through a keyed hash), never shown
    category: str | None
    status: str
    day: date | None
    place: dict[str, Any]


async def published_map(session: AsyncSession, slug: str) -> Consultation | None:
    """The consultation if staff published its results and its map, else None."""
    found = await published_consultation(session, slug)
    return found if found is not None and found.public_map_since is not None else None


async def published_maps(session: AsyncSession) -> list[Consultation]:
    """Every consultation whose list of reports is published (for Open311)."""
    result = await session.execute(
        select(Consultation)
        .where(
            Consultation.public_since.is_not(None),
            Consultation.public_map_since.is_not(None),
            Consultation.current_version.is_not(None),
            Consultation.status != ConsultationStatus.DRAFT,
        )
        .order_by(Consultation.id)
    )
    return list(result.scalars())


async def public_reports(
    session: AsyncSession, consultation_id: int, place_step: str, category_step: str | None
) -> list[PublicReport]:
    """The newest finished reports with a place (one query, no person in it)."""
    place = aliased(Answer)
    category = aliased(Answer)
    query = (
        select(Run.id, Run.completed_at, ReportStatus.status, place.value, category.value)
        .join(place, and_(place.run_id == Run.id, place.step_id == place_step, ~place.skipped))
        .outerjoin(
            category,
            and_(category.run_id == Run.id, category.step_id == (category_step or "")),
        )
        .outerjoin(ReportStatus, ReportStatus.run_id == Run.id)
        .where(Run.consultation_id == consultation_id, *finished())
        .order_by(Run.completed_at.desc(), Run.id.desc())
        .limit(MAX_PUBLIC_REPORTS)
    )
    return [
        PublicReport(
            run_id=int(run_id),
            category=str(kind) if isinstance(kind, str) else None,
            status=str(status or ReportState.NEW),
            day=when.date() if when is not None else None,
            place=value if isinstance(value, dict) else {},
        )
        for run_id, when, status, value, kind in await session.execute(query)
    ]
