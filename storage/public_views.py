"""The public results pages' reads: plain functions over a session, plain data back.

A public page has no login, so it must find only what staff published: every lookup
here starts from `published_consultation`, which answers None for a consultation that
does not exist, is not published, or has no published version, alike. The numbers
count finished runs only (the one population the k-anonymity rules in
`konsulta.public_results` reason about); nothing here returns a person's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Broadcast,
    BroadcastStatus,
    Consultation,
    ConsultationStatus,
    Organisation,
    Outcome,
    Run,
    RunStatus,
)

__all__ = [
    "PublicOutcome",
    "finished",
    "finished_by_language",
    "organisation_name",
    "public_outcomes",
    "published_consultation",
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
