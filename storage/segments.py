"""Who a broadcast goes to, written as data and compiled to one SQL condition.

A segment is JSON (the CLI takes it inline or from a file; the dashboard can build
it) with exactly one operator per node, like flow conditions:

    {"everyone": true}
    {"consultation": "service-need", "completed": true}   # took part (finished or not)
    {"language": ["uk", "ru"]}
    {"answer": {"consultation": "service-need", "step": "district", "equals": "north"}}
    {"community": 3}          {"leader": 7}            {"never_answered": true}
    {"all": [...]}   {"any": [...]}   {"not": {...}}

Whatever the segment says, citizens who sent /stop, blocked the bot or have no chat
are never included, and a broadcast reaches only citizens who took part (consented) in
one of its organisation's consultations: "everyone" is everyone of that organisation, and
a consultation named in a segment must be one of its own. The compiled condition is
used inside INSERT ... SELECT, so the recipients are never loaded into memory.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    Citizen,
    CitizenChannel,
    Consultation,
    LeaderCommunity,
    Run,
    RunStatus,
)

__all__ = [
    "AnswerMatch",
    "Segment",
    "SegmentError",
    "known_language",
    "parse_segment",
    "reachable",
    "recipients",
    "segment_sql",
    "spoken_language",
    "took_part_in",
]

Scalar = str | int | float | bool


class SegmentError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AnswerMatch(_Strict):
    """Citizens whose answer to `step` (of `consultation`, if named) equals a value."""

    consultation: str | None = None
    step: str = Field(min_length=1, max_length=64)
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("an answer filter needs exactly one of 'equals' or 'in'")
        return self

    def values(self) -> list[Scalar]:
        return [self.equals] if self.equals is not None else list(self.in_ or [])


class Segment(_Strict):
    everyone: Literal[True] | None = None
    consultation: str | None = Field(default=None, min_length=1, max_length=64)
    completed: bool | None = None
    language: list[str] | None = Field(default=None, min_length=1)
    answer: AnswerMatch | None = None
    community: int | None = None
    leader: int | None = None
    never_answered: Literal[True] | None = None
    all: list[Segment] | None = Field(default=None, min_length=1)
    any: list[Segment] | None = Field(default=None, min_length=1)
    not_: Segment | None = Field(default=None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _language_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("language"), str):
            return {**data, "language": [data["language"]]}
        return data

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        ops = self.operators()
        if len(ops) != 1:
            raise ValueError(
                "a segment needs exactly one of everyone, consultation, language, answer, "
                "community, leader, never_answered, all, any, not "
                f"(found: {', '.join(ops) or 'none'})"
            )
        if self.completed is not None and self.consultation is None:
            raise ValueError("'completed' goes with 'consultation'")
        return self

    def operators(self) -> list[str]:
        names = (
            "everyone",
            "consultation",
            "language",
            "answer",
            "community",
            "leader",
            "never_answered",
            "all",
            "any",
            "not_",
        )
        return [n.rstrip("_") for n in names if getattr(self, n) is not None]

    def consultations(self) -> set[str]:
        found = {s for s in (self.consultation,) if s}
        if self.answer is not None and self.answer.consultation:
            found.add(self.answer.consultation)
        for child in [*(self.all or []), *(self.any or []), *([self.not_] if self.not_ else [])]:
            found |= child.consultations()
        return found

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def parse_segment(data: Any) -> Segment:
    """Validate segment JSON; raises SegmentError with a readable reason."""
    try:
        return Segment.model_validate(data)
    except ValueError as error:
        raise SegmentError(str(error)) from error


def spoken_language(default_language: str) -> ColumnElement[str]:
    """The citizen's language: the one they picked, else the one of their latest run
    (Telegram's language when they started), else the default."""
    return func.coalesce(Citizen.language, known_language(), default_language)


def known_language() -> ColumnElement[str]:
    """The language of the citizen's latest run: the one they read a consultation in
    (theirs, or one of the consultation's they picked because theirs was missing);
    NULL without a run. A broadcast's second choice when it has no text in theirs."""
    return (
        select(Run.language)
        .where(Run.citizen_id == Citizen.id)
        .order_by(Run.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def reachable() -> ColumnElement[bool]:
    """Citizens we may write to at all: not stopped, not blocked, with a chat."""
    return and_(
        Citizen.stopped == false(),
        Citizen.unreachable == false(),
        exists().where(CitizenChannel.citizen_id == Citizen.id),
    )


async def segment_sql(
    session: AsyncSession, segment: Segment, *, default_language: str, organisation_id: int
) -> ColumnElement[bool]:
    """The segment as a condition on `citizens` (without `reachable()` and the
    organisation's bound); the consultations it names must be the organisation's."""
    slugs = segment.consultations()
    ids: dict[str, int] = {}
    if slugs:
        rows = await session.execute(
            select(Consultation.slug, Consultation.id).where(
                Consultation.slug.in_(slugs), Consultation.organisation_id == organisation_id
            )
        )
        ids = {slug: cid for slug, cid in rows}
        missing = sorted(slugs - ids.keys())
        if missing:
            raise SegmentError(f"no consultation {', '.join(missing)} in this organisation")
    return _compile(segment, ids, default_language, organisation_id)


async def recipients(
    session: AsyncSession,
    segment: Segment,
    *,
    default_language: str,
    organisation_id: int | None,
) -> ColumnElement[bool]:
    """Who the segment reaches now: its condition, narrowed to `reachable()` citizens
    of the organisation (None: a broadcast from before organisations bounded them,
    which reaches nobody)."""
    if organisation_id is None:
        return false()
    condition = await segment_sql(
        session, segment, default_language=default_language, organisation_id=organisation_id
    )
    return and_(reachable(), took_part_in(organisation_id), condition)


def took_part_in(organisation_id: int) -> ColumnElement[bool]:
    """The citizen consented to one of the organisation's consultations."""
    return exists().where(*_took_part(None), _own(organisation_id))


def _took_part(consultation_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        Run.citizen_id == Citizen.id,
        Run.parent_run_id.is_(None),
        Run.consent_record_id.is_not(None),
    ]
    if consultation_id is not None:
        conditions.append(Run.consultation_id == consultation_id)
    return conditions


def _own(organisation_id: int) -> ColumnElement[bool]:
    """The run is in one of the organisation's consultations."""
    own = select(Consultation.id).where(Consultation.organisation_id == organisation_id)
    return Run.consultation_id.in_(own)


def _compile(
    segment: Segment, ids: dict[str, int], default_language: str, organisation_id: int
) -> ColumnElement[bool]:
    if segment.everyone:
        return true()
    if segment.consultation is not None:
        conditions = _took_part(ids[segment.consultation])
        if segment.completed is True:
            conditions.append(Run.status == RunStatus.COMPLETED)
        elif segment.completed is False:
            conditions.append(Run.status != RunStatus.COMPLETED)
        return exists().where(*conditions)
    if segment.language is not None:
        return spoken_language(default_language).in_(segment.language)
    if segment.answer is not None:
        match = segment.answer
        conditions = [*_took_part(ids[match.consultation] if match.consultation else None)]
        conditions.append(_own(organisation_id))
        conditions += [Answer.run_id == Run.id, Answer.step_id == match.step]
        # Compared as JSON on both backends (SQLite keeps JSON text, PostgreSQL JSONB).
        as_json = Answer.value.type
        conditions.append(
            or_(*(Answer.value == literal(value, type_=as_json) for value in match.values()))
        )
        return exists().where(*conditions)
    # Took part through a community: consented, not merely opened its link.
    # Only runs in the organisation's own consultations: another organisation's
    # community or leader id finds nobody.
    if segment.community is not None:
        return exists().where(
            *_took_part(None), _own(organisation_id), Run.community_id == segment.community
        )
    if segment.leader is not None:
        led = select(LeaderCommunity.community_id).where(
            LeaderCommunity.leader_id == segment.leader
        )
        return exists().where(*_took_part(None), _own(organisation_id), Run.community_id.in_(led))
    if segment.never_answered:
        return not_(
            exists().where(
                Run.citizen_id == Citizen.id, _own(organisation_id), Answer.run_id == Run.id
            )
        )
    if segment.all is not None:
        return and_(*(_compile(s, ids, default_language, organisation_id) for s in segment.all))
    if segment.any is not None:
        return or_(*(_compile(s, ids, default_language, organisation_id) for s in segment.any))
    assert segment.not_ is not None
    return not_(_compile(segment.not_, ids, default_language, organisation_id))
