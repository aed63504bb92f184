"""Ratings per provider and per calendar quarter, with every small group hidden.

Issue 20 (feedback on contracted services): the city pays providers for a service and
asks the people who use it to rate it (the service-feedback template). Staff want to
see each provider quarter by quarter, and whether one does better than another, but
a provider must never learn what a handful of identifiable clients said. So every
figure here stands for at least `k` people (`KONSULTA_PUBLIC_MIN_GROUP`, the rule of
the public results):

- a cell (one provider in one quarter) with fewer than `k` people shows no number at
  all, not even its count, only "fewer than k";
- a comparison between providers in a quarter involves only cells of at least `k`
  people, and is made only when at least two such cells exist;
- a provider's change from one quarter to the next is shown only when both quarters'
  cells have at least `k` people.

There are no row or column totals: a total next to shown cells would give away the
hidden one by subtraction.

For one provider's shared page, "all providers together" in a quarter (`benchmarks`)
pools only the cells shown that quarter, so it is no such total either: taking shown
cells away from it leaves shown cells. With fewer than two shown cells there is none.

A person counts once per cell: if they rated the same provider twice in a quarter
(answered again after /delete, say), their latest rating stands. Quarters are
calendar quarters in UTC (2027-Q1 is January to March), taken from when the rating
was given.

Pure: no database, no clock; the dashboard page (review/providers.py) reads the
ratings through storage/views/providers.py and shows what `trends` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dialogs.schema import Flow, Step, StepKind

__all__ = [
    "Benchmark",
    "Cell",
    "Comparison",
    "Rating",
    "Trends",
    "benchmarks",
    "followup_ratings",
    "group_steps",
    "has_trends",
    "quarter_of",
    "rating_steps",
    "trends",
]

RATING_KINDS = (StepKind.SCALE, StepKind.NUMBER)


def group_steps(flow: Flow) -> list[Step]:
    """The questions whose one answer puts a person in one group (a provider)."""
    return [s for s in flow.questions if s.kind is StepKind.SINGLE_CHOICE]


def rating_steps(flow: Flow) -> list[Step]:
    """The questions whose answer is a number that can be averaged."""
    return [s for s in flow.questions if s.kind in RATING_KINDS]


def followup_ratings(flow: Flow, rating: Step) -> dict[str, str]:
    """Per follow-up id, the follow-up step that repeats `rating`. The rule: a
    follow-up's first step of a kind and scale (`min`, `max`) repeats the flow's first
    question of that kind and scale, and no other. The service-feedback template's
    `rating_again` (a 1-5 scale, after three and six months) so repeats `overall`, not
    `respect`, the second 1-5 scale. It goes by the scale because a repeat rating is
    averaged with the first ones; a follow-up with no such step repeats nothing."""

    def scale(step: Step) -> tuple[object, ...]:
        return (step.kind, step.min, step.max)

    first = next((s for s in flow.questions if scale(s) == scale(rating)), None)
    if first is None or first.id != rating.id:
        return {}
    found: dict[str, str] = {}
    for followup in flow.followups:
        repeat = next((s for s in followup.steps if scale(s) == scale(rating)), None)
        if repeat is not None:
            found[followup.id] = repeat.id
    return found


def has_trends(flow: Flow) -> bool:
    """Whether ratings per group can be shown for this flow (the dashboard's tab)."""
    return bool(group_steps(flow)) and bool(rating_steps(flow))


@dataclass(frozen=True)
class Rating:
    """One person's rating of one group (a provider): `person` is an opaque id that is
    only compared, `group` the option key answered, `at` when the rating was given."""

    person: int
    group: str
    value: float
    at: datetime


@dataclass(frozen=True)
class Cell:
    """One group in one quarter. `people` is always counted (tests check the sums) but
    a page shows it, and the figures, only when `shown`."""

    group: str
    quarter: str
    people: int
    shown: bool
    mean: float | None  # the mean rating, None when hidden
    top_share: float | None  # share of ratings at `top_from` or above, None when hidden
    change: float | None  # mean minus the previous quarter's, when both are shown


@dataclass(frozen=True)
class Comparison:
    """The groups of one quarter that may be compared, best mean first."""

    quarter: str
    ranked: list[Cell]

    @property
    def gap(self) -> float:
        """Between the best and the worst mean compared."""
        means = [c.mean for c in self.ranked if c.mean is not None]
        return max(means) - min(means)


@dataclass(frozen=True)
class Trends:
    k: int
    groups: list[str]  # in the order asked for, then any other answered key sorted
    quarters: list[str]  # every quarter from the first rating to the last, in order
    cells: dict[tuple[str, str], Cell]  # (group, quarter) -> cell; every pair is present
    comparisons: list[Comparison]  # the quarters with two or more shown cells

    def cell(self, group: str, quarter: str) -> Cell:
        return self.cells[(group, quarter)]

    @property
    def hidden(self) -> int:
        """Cells with someone in them but fewer than k people."""
        return sum(1 for c in self.cells.values() if c.people > 0 and not c.shown)


def quarter_of(at: datetime) -> str:
    """The calendar quarter of a moment, in UTC: "2027-Q1" for January to March."""
    moment = at.astimezone(UTC) if at.tzinfo is not None else at
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def _quarter_range(first: str, last: str) -> list[str]:
    """Every quarter from `first` to `last`: a quarter nobody rated in is shown empty,
    so a trend does not silently skip a gap."""
    year, q = int(first[:4]), int(first[-1])
    end = (int(last[:4]), int(last[-1]))
    found = []
    while (year, q) <= end:
        found.append(f"{year}-Q{q}")
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return found


def trends(
    ratings: Iterable[Rating],
    k: int,
    *,
    groups: Sequence[str] = (),
    top_from: float | None = None,
) -> Trends:
    """Each group's ratings per quarter, cells under `k` people hidden, comparisons only
    between cells of at least `k`. `groups` orders the rows (the question's options);
    `top_from` is the lowest rating counted as good (4 on a 1-5 scale), None for none."""
    if k < 1:
        raise ValueError("k must be at least 1")
    latest: dict[tuple[str, str, int], Rating] = {}
    for rating in ratings:
        key = (rating.group, quarter_of(rating.at), rating.person)
        kept = latest.get(key)
        if kept is None or rating.at >= kept.at:
            latest[key] = rating
    by_cell: dict[tuple[str, str], list[float]] = {}
    for (group, quarter, _person), rating in latest.items():
        by_cell.setdefault((group, quarter), []).append(rating.value)

    answered = {group for group, _q in by_cell}
    rows = [*dict.fromkeys(groups), *sorted(answered - set(groups))]
    seen = sorted({quarter for _g, quarter in by_cell})
    quarters = _quarter_range(seen[0], seen[-1]) if seen else []

    cells: dict[tuple[str, str], Cell] = {}
    for group in rows:
        previous: Cell | None = None
        for quarter in quarters:
            values = by_cell.get((group, quarter), [])
            shown = len(values) >= k
            mean = sum(values) / len(values) if shown else None
            top = (
                sum(1 for v in values if v >= top_from) / len(values)
                if shown and top_from is not None
                else None
            )
            change = (
                mean - previous.mean
                if mean is not None and previous is not None and previous.mean is not None
                else None
            )
            cell = Cell(group, quarter, len(values), shown, mean, top, change)
            cells[(group, quarter)] = cell
            previous = cell

    comparisons = []
    for quarter in quarters:
        compared = [cells[(g, quarter)] for g in rows if cells[(g, quarter)].shown]
        if len(compared) >= 2:
            compared.sort(key=lambda c: (-(c.mean or 0.0), rows.index(c.group)))
            comparisons.append(Comparison(quarter, compared))
    return Trends(k, rows, quarters, cells, comparisons)


@dataclass(frozen=True)
class Benchmark:
    """All providers together in one quarter, for a provider's shared page: only the
    cells of at least k people count (never a hidden one, so subtracting shown cells
    from it reveals nothing), pooled person by person."""

    quarter: str
    groups: int  # how many shown cells it pools
    people: int
    mean: float
    top_share: float | None


def benchmarks(table: Trends) -> dict[str, Benchmark]:
    """Per quarter, the pooled figure of the cells shown in it, for quarters with at
    least two shown cells (with one, "all providers" would be that provider alone)."""
    found: dict[str, Benchmark] = {}
    for quarter in table.quarters:
        shown = [c for g in table.groups if (c := table.cell(g, quarter)).shown]
        if len(shown) < 2:
            continue
        people = sum(c.people for c in shown)
        mean = sum((c.mean or 0.0) * c.people for c in shown) / people
        tops = [c.top_share for c in shown]
        top = (
            None
            if any(t is None for t in tops)
            else sum((c.top_share or 0.0) * c.people for c in shown) / people
        )
        found[quarter] = Benchmark(quarter, len(shown), people, mean, top)
    return found
