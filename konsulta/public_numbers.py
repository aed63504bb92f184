"""What may be published of one consultation, counted once for every reader.

The public page, its widget and the open-data packages (`konsulta.open_data`) publish
the same numbers: the aggregates of finished runs (`storage.public_views`), passed
through the k-anonymity rules of `konsulta.public_results`. This module is the one
place that counts them, so a package never shows a number the page would hide.
Only the questions staff made public (`Consultation.public_steps`) of a kind a public
page can show are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogs.schema import Flow, Step, StepKind
from konsulta import public_results
from konsulta.public_results import OTHER, PUBLIC_KINDS, Cell
from storage import public_views
from storage.models import Consultation
from storage.uow import UnitOfWork
from storage.views import dashboard as queries

__all__ = ["Numbers", "count", "countable_steps", "option_keys", "public_steps"]


@dataclass(frozen=True)
class Numbers:
    """What may be published of one consultation, in keys (labels come later)."""

    population: int
    languages: list[Cell] | None
    questions: list[tuple[str, list[Cell]]]  # (step id, cells), shown ones only


def option_keys(step: Step) -> list[str]:
    """A question's answers in their order: option keys, `true`/`false`, scale points."""
    if step.kind is StepKind.YES_NO:
        return ["true", "false"]
    if step.kind is StepKind.SCALE and step.min is not None and step.max is not None:
        return [str(p) for p in range(int(step.min), int(step.max) + 1)]
    return [option.key for option in step.options]


def public_steps(consultation: Consultation, flow: Flow) -> list[Step]:
    """The questions staff published that a public page may show, in flow order."""
    chosen = set(consultation.public_steps)
    return [s for s in flow.questions if s.id in chosen and s.kind.value in PUBLIC_KINDS]


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def countable_steps(flow: Flow) -> list[Step]:
    """Every question of a kind these rules can count, in flow order (what a partner
    organisation sees of everyone, `review.pages`)."""
    return [s for s in flow.questions if s.kind.value in PUBLIC_KINDS]


async def count(
    uow: UnitOfWork,
    consultation: Consultation,
    flow: Flow,
    k: int,
    *,
    steps: list[Step] | None = None,
) -> Numbers:
    """The published numbers of a consultation (two or three queries, whatever the
    number of answers), every cell through the k-anonymity rules: of the questions
    staff published, or of `steps` (each of a kind the rules can count)."""
    steps = public_steps(consultation, flow) if steps is None else steps
    languages = await uow.read(public_views.finished_by_language, consultation.id)
    stats = await uow.read(
        queries.question_stats, consultation.id, steps, public_views.finished(), by_day=False
    )
    population = sum(languages.values())
    shown: list[tuple[str, list[Cell]]] = []
    for step in steps:
        item = stats[step.id]
        counts: dict[str, int] = {}
        for value, n in item.values:
            counts[_key(value)] = counts.get(_key(value), 0) + n
        order = option_keys(step)
        if step.kind is StepKind.MULTIPLE_CHOICE:
            cells = public_results.multiple_choice(counts, order, item.answered, population, k)
        else:
            known = {key: n for key, n in counts.items() if key in order}
            cells = public_results.single_choice(known, order, population, k)
        if cells and any(cell.key != OTHER for cell in cells):  # "other" alone says nothing
            shown.append((step.id, cells))
    return Numbers(
        population=population,
        languages=public_results.breakdown(languages, population, k),
        questions=shown,
    )
