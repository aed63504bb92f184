"""The ratings behind the per-provider page: who rated which group, how, and when.

`ratings` pairs, run by run, the answer to a grouping question (the provider picked in
the service-feedback template) with the answer to a rating question of the same run.
It returns the citizen's row id only so that review/providers.py can count a person
once per provider and quarter; the page never shows it, nor any single rating (cells
under k people are hidden by konsulta.provider_trends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Answer, Run

__all__ = ["GroupRating", "ratings"]


@dataclass(frozen=True)
class GroupRating:
    citizen_id: int
    group: str
    value: float
    at: datetime  # when the rating was answered


async def ratings(
    session: AsyncSession, consultation_id: int, group_step: str, rating_step: str
) -> list[GroupRating]:
    """Every run of the consultation that answered both questions (neither skipped),
    finished or not: a rating given counts even if the person stopped later. Answers
    that are not a button key and a number (a flow changed between versions) are left
    out."""
    group = aliased(Answer, name="group_answer")
    rating = aliased(Answer, name="rating_answer")
    rows = await session.execute(
        select(Run.citizen_id, group.value, rating.value, rating.answered_at)
        .join(group, group.run_id == Run.id)
        .join(rating, rating.run_id == Run.id)
        .where(
            Run.consultation_id == consultation_id,
            group.step_id == group_step,
            ~group.skipped,
            rating.step_id == rating_step,
            ~rating.skipped,
        )
        .order_by(Run.id)
    )
    found = []
    for citizen_id, key, value, at in rows:
        if not isinstance(key, str) or isinstance(value, bool):
            continue
        if not isinstance(value, int | float):
            continue
        found.append(GroupRating(int(citizen_id), key, float(value), at))
    return found
