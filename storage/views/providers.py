"""The ratings behind the per-provider page: who rated which group, how, and when.

`ratings` pairs, run by run, the answer to a grouping question (the provider picked in
the service-feedback template) with the answer to a rating question of the same run.
It returns the citizen's row id only so that review/providers.py can count a person
once per provider and quarter; the page never shows it, nor any single rating (cells
under k people are hidden by konsulta.provider_trends).

Follow-up runs (the template's `rating_again` after three and six months) do not
repeat the grouping question: their rating is paired with the group answered in the
parent run (`Run.parent_run_id`), and belongs to the quarter it was given in. Which
follow-up step repeats the rating is the caller's rule
(`konsulta.provider_trends.followup_ratings`); a follow-up run is told by its `source`,
`followup:<id>` (konsulta.followup_flow).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Answer, Run
from storage.types import FOLLOWUP_SOURCE

__all__ = ["GroupRating", "ratings"]


@dataclass(frozen=True)
class GroupRating:
    citizen_id: int
    group: str
    value: float
    at: datetime  # when the rating was answered


async def ratings(
    session: AsyncSession,
    consultation_id: int,
    group_step: str,
    rating_step: str,
    followup_steps: Mapping[str, str] | None = None,
) -> list[GroupRating]:
    """Every run of the consultation that answered both questions (neither skipped),
    finished or not: a rating given counts even if the person stopped later. Then, for
    each follow-up id in `followup_steps`, every follow-up run's answer to the step
    named there, with its parent run's group answer. Answers that are not a button key
    and a number (a flow changed between versions) are left out."""
    group = aliased(Answer, name="group_answer")
    rating = aliased(Answer, name="rating_answer")
    first = await session.execute(
        select(Run.citizen_id, group.value, rating.value, rating.answered_at)
        .join(group, group.run_id == Run.id)
        .join(rating, rating.run_id == Run.id)
        .where(
            Run.consultation_id == consultation_id,
            Run.parent_run_id.is_(None),
            group.step_id == group_step,
            ~group.skipped,
            rating.step_id == rating_step,
            ~rating.skipped,
        )
        .order_by(Run.id)
    )
    found = _kept(first)
    if followup_steps:
        parent = aliased(Run, name="parent_run")
        repeated = await session.execute(
            select(parent.citizen_id, group.value, rating.value, rating.answered_at)
            .select_from(Run)
            .join(parent, parent.id == Run.parent_run_id)
            .join(group, group.run_id == parent.id)
            .join(rating, rating.run_id == Run.id)
            .where(
                Run.consultation_id == consultation_id,
                group.step_id == group_step,
                ~group.skipped,
                ~rating.skipped,
                or_(
                    *(
                        and_(Run.source == FOLLOWUP_SOURCE + followup, rating.step_id == step)
                        for followup, step in followup_steps.items()
                    )
                ),
            )
            .order_by(Run.id)
        )
        found += _kept(repeated)
    return found


def _kept(rows: Iterable[Any]) -> list[GroupRating]:
    found = []
    for citizen_id, key, value, at in rows:
        if not isinstance(key, str) or isinstance(value, bool):
            continue
        if not isinstance(value, int | float):
            continue
        found.append(GroupRating(int(citizen_id), key, float(value), at))
    return found
