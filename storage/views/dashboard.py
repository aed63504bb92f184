"""The dashboard's numbers, aggregated by the database (GROUP BY), never in Python.

Each page runs a fixed number of queries whatever the number of runs and answers: one
for the headline counts, one per breakdown, one per family of question kinds (all
single-value questions together, all multiple-choice together, ...), one for drop-off.
What comes back is at most one row per (question, distinct value), so memory and page
time grow with the questionnaire, not with the number of citizens.

`Filters` are the dashboard's filters (language, community, date range, and the
answer to another question for a cross-tab) as SQL conditions on runs; the same
conditions narrow the exports, so a download holds what the screen shows.

The pages' other reads (free texts, reports, a citizen's thread) are here too, so
the dashboard's SQL is written in `storage/` only; `review` runs them with
`uow.read(view, ...)`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dialogs.schema import Flow, Step, StepKind
from storage.models import (
    Answer,
    AnswerCoding,
    AnswerTag,
    Citizen,
    Consultation,
    OutboxMessage,
    OutboxStatus,
    Run,
    RunStatus,
)

__all__ = [
    "Conditions",
    "Counts",
    "CrossTable",
    "DropOff",
    "Filters",
    "QuestionStats",
    "answer_consultation",
    "answer_keys",
    "answer_labels",
    "answer_pairs",
    "answers_of_runs",
    "breakdowns",
    "citizen_runs",
    "counts",
    "counts_by_consultation",
    "cross_table",
    "drop_off",
    "free_texts",
    "question_stats",
    "report_runs",
    "run_meets",
    "took_part_in_organisation",
]

#: Conditions on runs (from `Filters.clauses` or `storage.public_views.finished`).
Conditions = Sequence[ColumnElement[bool]]

SCALAR_KINDS = {StepKind.SINGLE_CHOICE, StepKind.YES_NO, StepKind.SCALE, StepKind.NUMBER}
LIST_KINDS = {StepKind.MULTIPLE_CHOICE}
#: Answers that are an ordered list of option keys, most important first: counted
#: per (option, place), so a chart shows first choices and a table the average place.
RANKED_KINDS = {StepKind.RANKING}
HISTOGRAM_BINS = 10
NO_COMMUNITY = "none"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _typed(step: Step, text: str) -> Any:
    """A filter value from the query string as the answer stores it."""
    if step.kind is StepKind.YES_NO:
        return text in {"yes", "true", "1"}
    if step.kind in {StepKind.SCALE, StepKind.NUMBER}:
        number = float(text)
        return int(number) if number.is_integer() else number
    return text


@dataclass(frozen=True)
class Filters:
    language: str | None = None
    community: str | None = None
    since: date | None = None
    until: date | None = None
    #: Cross-tab: only runs whose answer to `step` is (or, for multiple choice,
    #: includes) `value`.
    step: str | None = None
    value: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """Filters from a query string; anything malformed is ignored, never an error."""

        def text(name: str, limit: int = 64) -> str | None:
            value = (params.get(name) or "")[:limit].strip()
            return value or None

        community = text("community")
        if community is not None and community != NO_COMMUNITY and not community.isdecimal():
            community = None
        return cls(
            language=text("language", 16),
            community=community,
            since=_parse_date(params.get("since")),
            until=_parse_date(params.get("until")),
            step=text("step"),
            value=text("value", 200),
        )

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def query_string(self) -> str:
        pairs = {
            f.name: str(value) for f in fields(self) if (value := getattr(self, f.name)) is not None
        }
        return urlencode(pairs)

    def clauses(self, flow: Flow | None, dialect: str) -> list[ColumnElement[bool]]:
        """Conditions on `Run` (and its answers) for these filters."""
        found: list[ColumnElement[bool]] = []
        if self.language:
            found.append(Run.language == self.language)
        if self.community == NO_COMMUNITY:
            found.append(Run.community_id.is_(None))
        elif self.community:
            found.append(Run.community_id == int(self.community))
        if self.since:
            found.append(Run.started_at >= _day_start(self.since))
        if self.until:
            found.append(Run.started_at < _day_start(self.until + timedelta(days=1)))
        if self.step and self.value is not None and flow is not None:
            found.append(self._crosstab(flow, dialect))
        return found

    def _crosstab(self, flow: Flow, dialect: str) -> ColumnElement[bool]:
        assert self.step is not None and self.value is not None
        try:
            step = flow.step(self.step)
            value = _typed(step, self.value)
        except (KeyError, ValueError):
            return false()  # an unknown question or value matches nothing
        # Its own alias: the pages also select from `answers` around this condition.
        other = aliased(Answer, name="crosstab")
        match = and_(other.run_id == Run.id, other.step_id == step.id, ~other.skipped)
        if step.kind is StepKind.MULTIPLE_CHOICE:
            return exists().where(match, _list_contains(dialect, other.value, value))
        return exists().where(match, _json_equals(dialect, other.value, value))


def _json_equals(dialect: str, column: Any, value: Any) -> ColumnElement[bool]:
    """`column` (JSON) holds exactly `value`; comparisons do not serialise the value
    the way inserts do, so it is spelled out per backend."""
    encoded = json.dumps(value)
    if dialect == "postgresql":
        return column == cast(literal(encoded, String), JSONB)  # type: ignore[no-any-return]
    return cast(column, String) == encoded


def _list_contains(dialect: str, column: Any, value: Any) -> ColumnElement[bool]:
    if dialect == "postgresql":
        contained = cast(literal(json.dumps([value]), String), JSONB)
        return column.op("@>")(contained)  # type: ignore[no-any-return]
    elements = func.json_each(column).table_valued("value").alias("picked")
    return exists().select_from(elements).where(elements.c.value == value)


def _elements(dialect: str) -> Any:
    """The items of `answers.value` (a JSON list) as a table with a `value` column."""
    if dialect == "postgresql":
        return func.jsonb_array_elements_text(Answer.value).table_valued("value").alias("item")
    return func.json_each(Answer.value).table_valued("value").alias("item")


def _placed_elements(dialect: str) -> tuple[Any, Any, int]:
    """The items of `answers.value` with their place: (table, place column, the place
    of the first item), since SQLite counts from 0 and PostgreSQL's ordinality from 1."""
    if dialect == "postgresql":
        table = (
            func.jsonb_array_elements_text(Answer.value)
            .table_valued("value", with_ordinality="place")
            .render_derived(name="item")
        )
        return table, table.c.place, 1
    table = func.json_each(Answer.value).table_valued("key", "value").alias("item")
    return table, table.c.key, 0


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# --- counts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    started: int = 0
    consented: int = 0
    completed: int = 0

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.consented if self.consented else None


def _count_columns() -> tuple[Any, Any, Any]:
    return (
        func.count(Run.id),
        func.coalesce(func.sum(case((Run.consent_record_id.is_not(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Run.status == RunStatus.COMPLETED, 1), else_=0)), 0),
    )


async def counts_by_consultation(
    session: AsyncSession, consultation_ids: Sequence[int]
) -> dict[int, Counts]:
    if not consultation_ids:
        return {}
    result = await session.execute(
        select(Run.consultation_id, *_count_columns())
        .where(Run.consultation_id.in_(list(consultation_ids)), Run.parent_run_id.is_(None))
        .group_by(Run.consultation_id)
    )
    return {cid: Counts(int(s), int(c), int(d)) for cid, s, c, d in result}


@dataclass
class Breakdowns:
    by_language: list[tuple[str, int]]
    by_community: list[tuple[str, int]]
    by_day: list[tuple[str, int]]


def _day(column: Any) -> Any:
    return func.date(column)


async def counts(
    session: AsyncSession, consultation_ids: Sequence[int], conditions: Sequence[Any] = ()
) -> Counts:
    """The live headline counts: started, consented, completed (1 query)."""
    started, consented, completed = (
        await session.execute(
            select(*_count_columns()).where(*_runs_of(consultation_ids, conditions))
        )
    ).one()
    return Counts(int(started), int(consented or 0), int(completed or 0))


async def undelivered(session: AsyncSession, consultation_id: int) -> int:
    """Messages to the consultation's participants that Telegram refused for good (a
    400 the sender cannot fix: bot/telegram/sender.py gives them up and logs the row
    id). A participant of several consultations counts in each (1 query)."""
    participants = select(Run.citizen_id).where(Run.consultation_id == consultation_id)
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.FAILED,
                OutboxMessage.citizen_id.in_(participants),
            )
        )
        or 0
    )


def _runs_of(consultation_ids: Sequence[int], conditions: Sequence[Any]) -> list[Any]:
    return [
        Run.consultation_id.in_(list(consultation_ids)),
        Run.parent_run_id.is_(None),
        *conditions,
    ]


async def breakdowns(
    session: AsyncSession, consultation_ids: Sequence[int], conditions: Sequence[Any] = ()
) -> Breakdowns:
    """Runs by language, by community and by day (3 queries)."""
    base = _runs_of(consultation_ids, conditions)
    languages = await session.execute(
        select(Run.language, func.count())
        .where(*base)
        .group_by(Run.language)
        .order_by(func.count().desc())
    )
    communities = await session.execute(
        select(Run.community_id, func.count())
        .where(*base)
        .group_by(Run.community_id)
        .order_by(func.count().desc())
        .limit(30)
    )
    day = _day(Run.started_at)
    days = await session.execute(select(day, func.count()).where(*base).group_by(day).order_by(day))
    return Breakdowns(
        by_language=[(str(lang), int(n)) for lang, n in languages],
        by_community=[
            ("—" if community is None else f"#{community}", int(n)) for community, n in communities
        ],
        by_day=[(str(d), int(n)) for d, n in days],
    )


# --- questions -----------------------------------------------------------------------


@dataclass
class QuestionStats:
    step: Step
    answered: int = 0
    skipped: int = 0
    #: (value as stored, count); for multiple choice one row per picked option.
    values: list[tuple[Any, int]] = field(default_factory=list)
    by_day: list[tuple[str, int]] = field(default_factory=list)
    #: For a ranking: (option key, place from 1, count).
    places: list[tuple[str, int, int]] = field(default_factory=list)

    def labelled(
        self, flow: Flow, language: str, *, yes: str = "Yes", no: str = "No"
    ) -> list[tuple[str, int]]:
        """Bars for a choice question: every option in flow order, even at zero; for a
        ranking, how many put each option first. `yes` and `no` name a yes/no
        question's bars (in the staff's language)."""
        counts = {_key(value): count for value, count in self.values}
        if self.step.kind is StepKind.YES_NO:
            return [(yes, counts.get("true", 0)), (no, counts.get("false", 0))]
        if self.step.kind in RANKED_KINDS:
            counts = {key: n for key, place, n in self.places if place == 1}
        if self.step.options:
            return [
                (flow.localize(option.label, language), counts.get(option.key, 0))
                for option in self.step.options
            ]
        return [(str(value), count) for value, count in self.values]

    def average_places(self) -> dict[str, float]:
        """A ranking's options by their average place among those who ranked them
        (1 is first); an option nobody ranked is absent."""
        totals: dict[str, list[int]] = {}
        for key, place, n in self.places:
            pair = totals.setdefault(key, [0, 0])
            pair[0] += place * n
            pair[1] += n
        return {key: total / n for key, (total, n) in totals.items() if n}

    def histogram(self) -> list[tuple[str, int]]:
        """Columns for a scale (one per point) or a number (up to 10 equal bins)."""
        numbers = [(float(v), n) for v, n in self.values if isinstance(v, int | float)]
        if self.step.kind is StepKind.SCALE and self.step.min is not None:
            assert self.step.max is not None
            points = range(int(self.step.min), int(self.step.max) + 1)
            counts = {int(v): n for v, n in numbers}
            return [(str(p), counts.get(p, 0)) for p in points]
        if not numbers:
            return []
        low = min(v for v, _n in numbers)
        high = max(v for v, _n in numbers)
        if low == high:
            return [(_num(low), sum(n for _v, n in numbers))]
        integer = all(v.is_integer() for v, _n in numbers)
        width = (high - low) / HISTOGRAM_BINS
        if integer:
            width = max(1.0, math.ceil(width))
        bins = [0] * (int((high - low) // width) + 1)
        for value, count in numbers:
            bins[int((value - low) // width)] += count
        return [
            (f"{_num(low + i * width)}–{_num(low + (i + 1) * width - (1 if integer else 0))}", n)
            for i, n in enumerate(bins)
        ]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _answers_of(consultation_id: int, conditions: Sequence[Any]) -> list[Any]:
    return [
        Answer.run_id == Run.id,
        Run.consultation_id == consultation_id,
        Run.parent_run_id.is_(None),
        *conditions,
    ]


async def question_stats(
    session: AsyncSession,
    consultation_id: int,
    questions: Sequence[Step],
    conditions: Sequence[Any] = (),
    *,
    by_day: bool = True,
) -> dict[str, QuestionStats]:
    """Per question: answered and skipped counts, value counts, answers per day (not
    with `by_day=False`, which the public pages use: a third fewer groups to count).

    Three queries at most: one pass for answered/skipped, single values and days, one
    for the options of every multiple-choice question, one for the places of every
    ranking's options.
    """
    dialect = _dialect(session)
    stats = {step.id: QuestionStats(step) for step in questions}
    if not stats:
        return stats
    joined = _answers_of(consultation_id, conditions)
    step_ids = list(stats)
    scalar = [s.id for s in questions if s.kind in SCALAR_KINDS]
    # One pass over the answers for totals, single values and days: the value is kept
    # only for single-value questions (free text would make a group per answer), so
    # the rows are at most (question, value, day), whatever the number of answers.
    value = case((and_(Answer.step_id.in_(scalar), ~Answer.skipped), Answer.value), else_=None)
    day = _day(Answer.answered_at) if by_day else null()
    rows = await session.execute(
        select(Answer.step_id, Answer.skipped, value, day, func.count())
        .select_from(Answer)
        .join(Run, Run.id == Answer.run_id)
        .where(*joined, Answer.step_id.in_(step_ids))
        .group_by(Answer.step_id, Answer.skipped, value, *([day] if by_day else []))
    )
    values: dict[tuple[str, str], tuple[Any, int]] = {}
    days: dict[str, dict[str, int]] = {}
    for step_id, was_skipped, answer_value, answered_day, count in rows:
        item = stats[step_id]
        n = int(count)
        if was_skipped:
            item.skipped += n
        else:
            item.answered += n
        if by_day:
            per_day = days.setdefault(step_id, {})
            per_day[str(answered_day)] = per_day.get(str(answered_day), 0) + n
        if answer_value is not None and not was_skipped:
            key = (step_id, json.dumps(answer_value, sort_keys=True))
            values[key] = (answer_value, values.get(key, (answer_value, 0))[1] + n)
    for (step_id, _key), pair in values.items():
        stats[step_id].values.append(pair)
    for step_id, per_day in days.items():
        stats[step_id].by_day = sorted(per_day.items())

    listed = [s.id for s in questions if s.kind in LIST_KINDS]
    if listed:
        elements = _elements(dialect)
        picked = await session.execute(
            select(Answer.step_id, elements.c.value, func.count())
            .select_from(Answer)
            .join(Run, Run.id == Answer.run_id)
            .join(elements, true())
            .where(*joined, Answer.step_id.in_(listed), ~Answer.skipped)
            .group_by(Answer.step_id, elements.c.value)
        )
        for step_id, option, count in picked:
            stats[step_id].values.append((option, int(count)))
    ranked = [s.id for s in questions if s.kind in RANKED_KINDS]
    if ranked:
        elements, place, first = _placed_elements(dialect)
        placed = await session.execute(
            select(Answer.step_id, elements.c.value, place, func.count())
            .select_from(Answer)
            .join(Run, Run.id == Answer.run_id)
            .join(elements, true())
            .where(*joined, Answer.step_id.in_(ranked), ~Answer.skipped)
            .group_by(Answer.step_id, elements.c.value, place)
        )
        for step_id, option, at, count in placed:
            stats[step_id].places.append((str(option), int(at) - first + 1, int(count)))
    for item_stats in stats.values():
        item_stats.values.sort(key=lambda pair: -pair[1])
    return stats


# --- drop-off ------------------------------------------------------------------------


@dataclass(frozen=True)
class DropOff:
    step_id: str
    reached: int
    left_here: int


async def drop_off(
    session: AsyncSession,
    consultation_id: int,
    flow: Flow,
    stats: Mapping[str, QuestionStats],
    conditions: Sequence[Any] = (),
) -> tuple[int, list[DropOff]]:
    """How many consented citizens left before answering anything, and per question
    how many reached it and how many stopped there without finishing (2 queries).

    A run that stopped is counted at the question it was asked and did not answer: the
    engine's `current` step in the run's state. Where the state does not name a
    question (an old or closed run), the question after the last one answered, in
    flow order, stands in. "Reached" is everyone who answered or skipped the question
    plus those who stopped at it."""
    base = [
        Run.consultation_id == consultation_id,
        Run.parent_run_id.is_(None),
        Run.status != RunStatus.COMPLETED,
        *conditions,
    ]
    newest = (
        func.row_number()
        .over(partition_by=Answer.run_id, order_by=(Answer.answered_at.desc(), Answer.id.desc()))
        .label("newest")
    )
    last = (
        select(
            Answer.step_id.label("step_id"),
            Run.state["current"].as_string().label("current"),
            newest,
        )
        .select_from(Answer)
        .join(Run, Run.id == Answer.run_id)
        .where(*base)
        .subquery()
    )
    rows = await session.execute(
        select(last.c.step_id, last.c.current, func.count())
        .where(last.c.newest == 1)
        .group_by(last.c.step_id, last.c.current)
    )
    order = [step.id for step in flow.questions]
    left: dict[str, int] = {}
    for last_answered, current, count in rows:
        at = stopped_at(order, last_answered, current)
        if at is not None:
            left[at] = left.get(at, 0) + int(count)
    before_first = select(func.count()).where(
        *base,
        Run.consent_record_id.is_not(None),
        ~exists().where(Answer.run_id == Run.id),
    )
    none_answered = int((await session.execute(before_first)).scalar_one())
    found = []
    for step in flow.questions:
        item = stats.get(step.id)
        answered = item.answered + item.skipped if item is not None else 0
        found.append(DropOff(step.id, answered + left.get(step.id, 0), left.get(step.id, 0)))
    return none_answered, found


def stopped_at(order: Sequence[str], last_answered: str, current: str | None) -> str | None:
    """The question a run stopped at: the one it was being asked, else the one after
    the last it answered (None past the last question, or for an unknown step)."""
    if current in order:
        return current
    if last_answered not in order:
        return None
    following = order.index(last_answered) + 1
    return order[following] if following < len(order) else None


def free_text_match(query: str) -> ColumnElement[bool]:
    """Case-insensitive search in free-text answers and the machine transcripts of
    voice notes: every word must occur (in the one or the other)."""
    words = [w.lower() for w in query.split() if w][:8]
    return and_(
        true(),
        *[
            or_(
                func.lower(Answer.display_text).contains(w, autoescape=True),
                func.lower(Answer.transcript).contains(w, autoescape=True),
            )
            for w in words
        ],
    )


async def free_texts(
    session: AsyncSession,
    consultation_id: int,
    steps: Sequence[str],
    *,
    search: str = "",
    tag_id: int | None = None,
    mark: str | None = None,
    flagged: bool = False,
    limit: int,
    offset: int = 0,
    where: Conditions = (),
) -> list[tuple[Answer, str, str]]:
    """Free-text answers to `steps`, newest first, with the participant id and the
    run's language: optionally those matching `search`, tagged `tag_id`, marked `mark`
    or flagged for a follow-up, of runs meeting `where` (a partner's own people)."""
    query = (
        select(Answer, Citizen.participant_id, Run.language)
        .join(Run, Run.id == Answer.run_id)
        .join(Citizen, Citizen.id == Run.citizen_id)
        .where(
            Run.consultation_id == consultation_id,
            Answer.step_id.in_(steps),
            ~Answer.skipped,
            Answer.display_text.is_not(None),
            *where,
        )
    )
    if search:
        query = query.where(free_text_match(search))
    if tag_id is not None:
        query = query.where(
            exists().where(AnswerTag.answer_id == Answer.id, AnswerTag.tag_id == tag_id)
        )
    if mark is not None:
        query = query.where(
            exists().where(AnswerCoding.answer_id == Answer.id, AnswerCoding.mark == mark)
        )
    if flagged:
        query = query.where(
            exists().where(AnswerCoding.answer_id == Answer.id, AnswerCoding.follow_up)
        )
    rows = await session.execute(query.order_by(Answer.id.desc()).limit(limit).offset(offset))
    return [(answer, pid, language) for answer, pid, language in rows]


async def answer_consultation(
    session: AsyncSession, answer_id: int, where: Conditions = ()
) -> int | None:
    """The consultation an answer belongs to (None for an unknown answer, or one of
    a run that does not meet `where`)."""
    owner = await session.execute(
        select(Run.consultation_id)
        .join(Answer, Answer.run_id == Run.id)
        .where(Answer.id == answer_id, *where)
    )
    return owner.scalar_one_or_none()


async def run_meets(session: AsyncSession, run_id: int, where: Conditions) -> bool:
    """Whether the run meets `where` (is one of a partner's own people's)."""
    found = await session.execute(select(exists().where(Run.id == run_id, *where)))
    return bool(found.scalar())


async def report_runs(
    session: AsyncSession, consultation_id: int, steps: Sequence[str], *, limit: int
) -> list[tuple[Run, str]]:
    """The latest runs that answered one of the report questions `steps`, newest first,
    with their participant ids."""
    rows = await session.execute(
        select(Run, Citizen.participant_id)
        .join(Citizen, Citizen.id == Run.citizen_id)
        .where(
            Run.consultation_id == consultation_id,
            exists().where(Answer.run_id == Run.id, Answer.step_id.in_(steps)),
        )
        .order_by(Run.id.desc())
        .limit(limit)
    )
    return [(run, pid) for run, pid in rows]


async def answers_of_runs(session: AsyncSession, run_ids: Sequence[int]) -> list[Answer]:
    """Every answer of the runs `run_ids`."""
    if not run_ids:
        return []
    return list((await session.execute(select(Answer).where(Answer.run_id.in_(run_ids)))).scalars())


async def took_part_in_organisation(
    session: AsyncSession, citizen_id: int, organisation_id: int
) -> bool:
    """Whether the citizen has a run in one of the organisation's consultations."""
    took_part = await session.execute(
        select(
            exists().where(
                Run.citizen_id == citizen_id,
                Run.consultation_id == Consultation.id,
                Consultation.organisation_id == organisation_id,
            )
        )
    )
    return bool(took_part.scalar())


async def citizen_runs(
    session: AsyncSession, citizen_id: int, organisation_id: int
) -> list[tuple[Run, Consultation]]:
    """The citizen's runs in the organisation's consultations, newest first."""
    rows = await session.execute(
        select(Run, Consultation)
        .join(Consultation, Consultation.id == Run.consultation_id)
        .where(Run.citizen_id == citizen_id, Consultation.organisation_id == organisation_id)
        .order_by(Run.id.desc())
    )
    return [(run, consultation) for run, consultation in rows]


# --- two-way tables ------------------------------------------------------------------

#: Questions a two-way table can cross: a fixed set of answers each.
CROSS_KINDS = {StepKind.SINGLE_CHOICE, StepKind.MULTIPLE_CHOICE, StepKind.YES_NO, StepKind.SCALE}


def answer_keys(step: Step) -> list[str]:
    """The answers a choice question can have, as `_key` spells them, in flow order."""
    if step.kind is StepKind.YES_NO:
        return ["true", "false"]
    if step.kind is StepKind.SCALE and step.min is not None and step.max is not None:
        return [str(p) for p in range(int(step.min), int(step.max) + 1)]
    return [option.key for option in step.options]


def answer_labels(
    flow: Flow, step: Step, language: str, *, yes: str = "Yes", no: str = "No"
) -> dict[str, str]:
    """What staff read for each of `answer_keys(step)`: an option's label in
    `language`, `yes` and `no` (in the staff's language), a scale's point."""
    if step.kind is StepKind.YES_NO:
        return {"true": yes, "false": no}
    labels = {key: key for key in answer_keys(step)}
    labels.update({o.key: flow.localize(o.label, language) for o in step.options})
    return labels


def _items(value: Any) -> list[str]:
    """The answers one stored value counts for: each picked option once, a number
    as its point (a scale's 3.0 is 3)."""
    values = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in values:
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        key = _key(item)
        if key not in found:
            found.append(key)
    return found


@dataclass
class CrossTable:
    """Answers to one question (rows) against another (columns), counted per citizen.

    A citizen counts in a row for each answer they gave to the row question (one, or
    several for multiple choice) and, there, in a column for each answer to the column
    question. `row_totals` are the citizens behind each row who answered both, so a
    row's percentages add up to 100 when the column question takes one answer, and to
    more when it takes several.
    """

    rows: Step
    columns: Step
    row_keys: list[str] = field(default_factory=list)
    column_keys: list[str] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    row_totals: dict[str, int] = field(default_factory=dict)

    def count(self, row: str, column: str) -> int:
        return self.counts.get((row, column), 0)

    def share(self, row: str, column: str) -> float | None:
        """The cell as a fraction of its row's citizens (None for an empty row)."""
        total = self.row_totals.get(row, 0)
        return self.count(row, column) / total if total else None

    @property
    def total(self) -> int:
        return sum(self.row_totals.values())


def cross_table(rows: Step, columns: Step, pairs: Sequence[tuple[Any, Any, int]]) -> CrossTable:
    """Count (row answer, column answer, citizens) pairs as stored into a table with
    every answer of both questions in flow order, zeros included; an answer a later
    version no longer offers is added after them."""
    table = CrossTable(rows, columns, answer_keys(rows), answer_keys(columns))
    for row_value, column_value, n in pairs:
        column_items = _items(column_value)
        for row in _items(row_value):
            if row not in table.row_keys:
                table.row_keys.append(row)
            table.row_totals[row] = table.row_totals.get(row, 0) + n
            for column in column_items:
                if column not in table.column_keys:
                    table.column_keys.append(column)
                table.counts[(row, column)] = table.counts.get((row, column), 0) + n
    return table


async def answer_pairs(
    session: AsyncSession,
    consultation_id: int,
    rows: str,
    columns: str,
    conditions: Sequence[Any] = (),
) -> list[tuple[Any, Any, int]]:
    """How many citizens gave each pair of stored answers to questions `rows` and
    `columns` (both answered, not skipped), one row per distinct pair: the database
    groups, so the result grows with the answer combinations, not the citizens."""
    first = aliased(Answer, name="row_answer")
    second = aliased(Answer, name="column_answer")
    result = await session.execute(
        select(first.value, second.value, func.count())
        .select_from(first)
        .join(Run, Run.id == first.run_id)
        .join(
            second,
            and_(second.run_id == first.run_id, second.step_id == columns, ~second.skipped),
        )
        .where(
            first.step_id == rows,
            ~first.skipped,
            Run.consultation_id == consultation_id,
            Run.parent_run_id.is_(None),
            *conditions,
        )
        .group_by(first.value, second.value)
    )
    return [(a, b, int(n)) for a, b, n in result]
