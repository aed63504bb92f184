"""The broadcast form's segment builder: rows of conditions picked from menus, turned
into the segment JSON of `storage/segments.py`.

Staff never type JSON. Each row is one condition, chosen from what this consultation
offers: an answer to one of its choice questions (is / is not / is one of, options
picked from that question's), a language, the community someone took part through,
finished or not, never answered; each row can be negated, and the rows are combined
with "all" or "any". Whatever the rows say, the segment stays inside this
consultation's participants: it is always `{"all": [{"consultation": slug}, ...]}`.

Everything here is pure (no I/O, no web framework): `builder_choices` reads a Flow,
`rows_from_form` reads the posted fields, `segment_of` maps rows to a segment and
`rows_of` maps such a segment back to rows (a broadcast's page says who it is for). A row
that is incomplete or names something the menus do not offer is left out, so any
form gives a segment that `parse_segment` accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from dialogs.schema import Flow, StepKind

__all__ = [
    "MAX_ROWS",
    "Builder",
    "BuilderChoices",
    "Combinator",
    "Operator",
    "Question",
    "Row",
    "RowKind",
    "builder_choices",
    "rows_from_form",
    "rows_of",
    "segment_of",
]

#: Rows read from one form: more than staff would build by hand, few enough that a
#: crafted post cannot make a huge query.
MAX_ROWS = 20

Stored = str | int | bool


class RowKind(StrEnum):
    NONE = ""
    ANSWER = "answer"
    LANGUAGE = "language"
    COMMUNITY = "community"
    FINISHED = "finished"
    UNFINISHED = "unfinished"
    NEVER_ANSWERED = "never_answered"


class Operator(StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    ONE_OF = "one_of"


class Combinator(StrEnum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True)
class Question:
    """A question rows can filter on: its id, text, and options as
    (form value, the value answers are stored as, label)."""

    step: str
    text: str
    options: tuple[tuple[str, Stored, str], ...]

    def stored(self, picked: Iterable[str]) -> list[Stored]:
        """The stored values of the picked options, in the question's order."""
        chosen = set(picked)
        return [value for key, value, _label in self.options if key in chosen]


@dataclass(frozen=True)
class BuilderChoices:
    """What the menus offer for one consultation and organisation."""

    questions: tuple[Question, ...] = ()
    languages: tuple[str, ...] = ()
    communities: tuple[tuple[int, str], ...] = ()

    def question(self, step: str) -> Question | None:
        return next((q for q in self.questions if q.step == step), None)


@dataclass(frozen=True)
class Row:
    kind: RowKind = RowKind.NONE
    negate: bool = False
    step: str = ""
    operator: Operator = Operator.IS
    #: The picked options' form values ("step:key": options of every question share
    #: one menu, so a value names its question).
    values: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    community: int | None = None


@dataclass(frozen=True)
class Builder:
    combinator: Combinator = Combinator.ALL
    rows: tuple[Row, ...] = field(default_factory=tuple)


#: The label of a yes/no answer in the staff's language ("Yes", "No").
YesNo = Callable[[bool], str]

#: Kinds whose answer is one stored value that rows can compare: a choice's key,
#: a scale point, yes or no. (A multiple choice or a ranking stores a list.)
CHOICE_KINDS = {StepKind.SINGLE_CHOICE, StepKind.SCALE, StepKind.YES_NO}


def builder_choices(
    flow: Flow,
    language: str,
    yes_no: YesNo,
    communities: Sequence[tuple[int, str]] = (),
) -> BuilderChoices:
    """The menus for `flow`: its choice questions with their options' labels in
    `language` (the staff's, or the flow's default when it has not that one)."""
    shown = language if language in flow.languages else flow.default_language
    questions: list[Question] = []
    for step in flow.questions:
        if step.kind not in CHOICE_KINDS:
            continue
        options: list[tuple[str, Stored, str]]
        if step.kind is StepKind.YES_NO:
            options = [("yes", True, yes_no(True)), ("no", False, yes_no(False))]
        elif step.kind is StepKind.SCALE:
            assert step.min is not None and step.max is not None
            points = range(int(step.min), int(step.max) + 1)
            options = [(str(p), p, str(p)) for p in points]
        else:
            options = [(o.key, o.key, flow.localize(o.label, shown)) for o in step.options]
        if options:
            questions.append(
                Question(
                    step.id,
                    " ".join(flow.localize(step.text, shown).split()),
                    tuple((f"{step.id}:{key}", value, label) for key, value, label in options),
                )
            )
    return BuilderChoices(tuple(questions), tuple(flow.languages), tuple(communities))


class FormFields(Protocol):
    """What `rows_from_form` reads (Starlette's FormData, without importing it)."""

    def getlist(self, key: str) -> list[Any]: ...


def _first(form: FormFields, key: str) -> str:
    values = form.getlist(key)
    return str(values[0]).strip() if values and isinstance(values[0], str) else ""


def rows_from_form(fields: FormFields) -> Builder:
    """The rows as posted: `match` (all / any) and for each row N `row-N-kind`,
    `row-N-not`, `row-N-step`, `row-N-op`, `row-N-value` (many), `row-N-language`
    (many), `row-N-community`. Unknown values become blanks, never errors."""
    combinator = Combinator.ANY if _first(fields, "match") == "any" else Combinator.ALL
    rows: list[Row] = []
    for n in range(MAX_ROWS):
        prefix = f"row-{n}-"
        kind_text = _first(fields, prefix + "kind")
        kind = RowKind(kind_text) if kind_text in set(RowKind) else RowKind.NONE
        op_text = _first(fields, prefix + "op")
        community = _first(fields, prefix + "community")
        rows.append(
            Row(
                kind=kind,
                negate=bool(_first(fields, prefix + "not")),
                step=_first(fields, prefix + "step"),
                operator=Operator(op_text) if op_text in set(Operator) else Operator.IS,
                values=tuple(
                    str(v) for v in fields.getlist(prefix + "value") if isinstance(v, str)
                ),
                languages=tuple(
                    str(v) for v in fields.getlist(prefix + "language") if isinstance(v, str)
                ),
                community=int(community) if community.isdigit() and len(community) < 12 else None,
            )
        )
    # Keep the rows staff filled in, in order; trailing blanks go.
    while rows and rows[-1] == Row():
        rows.pop()
    return Builder(combinator, tuple(rows))


def _answer(match: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    """One value as "equals", several as "in": the one way rows read back the same."""
    if len(values) == 1:
        return {"answer": {**match, "equals": values[0]}}
    return {"answer": {**match, "in": values}}


def condition_of(row: Row, slug: str, choices: BuilderChoices) -> dict[str, Any] | None:
    """One row as a segment node, or None when it is incomplete or names something
    the menus do not offer."""
    node: dict[str, Any] | None = None
    if row.kind is RowKind.ANSWER:
        question = choices.question(row.step)
        if question is not None:
            # "is" with several options picked reads as "is one of": nothing picked
            # is silently dropped.
            picked = question.stored(row.values)
            if picked:
                match: dict[str, Any] = {"consultation": slug, "step": question.step}
                if row.operator is Operator.IS_NOT:
                    # Answered the question, with none of these.
                    others = [v for _k, v, _l in question.options if v not in picked]
                    node = _answer(match, others) if others else None
                    if node is None:
                        node = {"not": {"everyone": True}}  # every option excluded: nobody
                else:
                    node = _answer(match, picked)
    elif row.kind is RowKind.LANGUAGE:
        languages = [code for code in choices.languages if code in row.languages]
        node = {"language": languages} if languages else None
    elif row.kind is RowKind.COMMUNITY:
        known = {cid for cid, _name in choices.communities}
        node = {"community": row.community} if row.community in known else None
    elif row.kind is RowKind.FINISHED:
        node = {"consultation": slug, "completed": True}
    elif row.kind is RowKind.UNFINISHED:
        node = {"consultation": slug, "completed": False}
    elif row.kind is RowKind.NEVER_ANSWERED:
        node = {"never_answered": True}
    if node is not None and row.negate:
        node = {"not": node}
    return node


def segment_of(slug: str, builder: Builder, choices: BuilderChoices) -> dict[str, Any]:
    """The segment for the rows, always within this consultation's participants."""
    conditions = [
        node for row in builder.rows if (node := condition_of(row, slug, choices)) is not None
    ]
    base: dict[str, Any] = {"consultation": slug}
    if not conditions:
        return {"all": [base]}
    if builder.combinator is Combinator.ANY and len(conditions) > 1:
        return {"all": [base, {"any": conditions}]}
    return {"all": [base, *conditions]}


def _row_of(node: dict[str, Any], slug: str, choices: BuilderChoices) -> Row | None:
    """One segment node as a row, or None when no row makes it."""
    if set(node) == {"not"} and isinstance(node["not"], dict):
        inner = _row_of(node["not"], slug, choices)
        return None if inner is None or inner.negate else replace(inner, negate=True)
    if set(node) == {"answer"} and isinstance(node["answer"], dict):
        match = node["answer"]
        question = choices.question(str(match.get("step")))
        if question is None or match.get("consultation") != slug:
            return None
        wanted = [match["equals"]] if "equals" in match else list(match.get("in") or [])
        keys = tuple(
            key for key, value, _l in question.options
            if any(value == w and type(value) is type(w) for w in wanted)
        )  # fmt: skip
        if len(keys) != len(wanted) or not keys:
            return None
        operator = Operator.IS if "equals" in match else Operator.ONE_OF
        return Row(RowKind.ANSWER, step=question.step, operator=operator, values=keys)
    if set(node) == {"language"} and isinstance(node["language"], list):
        return Row(RowKind.LANGUAGE, languages=tuple(str(c) for c in node["language"]))
    if set(node) == {"community"} and isinstance(node["community"], int):
        return Row(RowKind.COMMUNITY, community=node["community"])
    if node == {"consultation": slug, "completed": True}:
        return Row(RowKind.FINISHED)
    if node == {"consultation": slug, "completed": False}:
        return Row(RowKind.UNFINISHED)
    if node == {"never_answered": True}:
        return Row(RowKind.NEVER_ANSWERED)
    return None


def rows_of(segment: dict[str, Any], slug: str, choices: BuilderChoices) -> Builder | None:
    """The rows that make `segment` (as `segment_of` writes it, or the older form's
    `{"consultation": slug, "completed": …}`), or None when rows cannot say it."""
    if segment == {"consultation": slug}:
        return Builder()
    if set(segment) == {"consultation", "completed"}:
        row = _row_of(segment, slug, choices)
        return None if row is None else Builder(rows=(row,))
    nodes = segment.get("all")
    if set(segment) != {"all"} or not isinstance(nodes, list) or not nodes:
        return None
    first, rest = nodes[0], nodes[1:]
    if first in (
        {"consultation": slug, "completed": True},
        {"consultation": slug, "completed": False},
    ):
        rest = [first, *rest]  # the older form: finished, and some languages
    elif first != {"consultation": slug}:
        return None
    combinator = Combinator.ALL
    if len(rest) == 1 and set(rest[0]) == {"any"} and isinstance(rest[0]["any"], list):
        combinator, rest = Combinator.ANY, rest[0]["any"]
    rows = [_row_of(node, slug, choices) if isinstance(node, dict) else None for node in rest]
    if any(row is None for row in rows):
        return None
    return Builder(combinator, tuple(row for row in rows if row is not None))
