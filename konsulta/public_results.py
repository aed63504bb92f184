"""What a public results page may show: the k-anonymity rules, as pure functions.

A public page is read by anyone, so it must never let a reader single out a small
group of people, neither from a number nor from the difference of two numbers. The
rules, with `k` = `KONSULTA_PUBLIC_MIN_GROUP`:

1. Every number stands for one population: the people who finished the consultation.
   Nothing is published unless that population is at least `k`.
2. A question is shown only when at least `k` people answered it.
3. A question with one answer per person (a choice, yes/no, a scale) is a partition of
   the population: its published cells (options, plus one "other or no answer" cell)
   add up to the population exactly, and every cell is at least `k`. An option below
   `k` goes into "other"; when "other" would still be below `k` (and above 0), the
   smallest shown option joins it too. So the difference between the population and
   any set of cells is a sum of cells: 0 or at least `k`.
4. A question with several answers per person (multiple choice): an option is shown
   only when at least `k` people picked it and the people who did not pick it are 0 or
   at least `k`. No "other" cell: picks do not add up to people.
5. A breakdown (by language) is shown only when it has two cells or more, every cell
   is at least `k`, and the cells add up to the population.

6. Opinion groups (the `statements` votes grouped by `konsulta.opinions`): a group is
   published only when it has at least `k` members, with its size and the statements
   that set it apart, each only when at least `k` of its members voted on it, and with
   its stance (most agree / most disagree) but no share: a percentage of a group would
   be a count of fewer than `k` people. A smaller group is not shown, not even counted
   (with the sizes shown, a count of the rest would be a number below `k`). Nothing of
   the grouping is published unless at least one group is shown.
7. Consensus statements (a majority agrees in every group, the unpublished ones too):
   their texts only, each only when at least `k` people voted on it. No participant,
   pseudonym or point of the map is ever published.

Zero is never published as a cell: an option nobody chose is simply not listed.

A public map of reports shows a place only snapped to the centre of a grid cell of
about `GRID_METRES` (`snap`), so a dot never points at a door.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from konsulta.opinions import OpinionGroups, Stance

__all__ = [
    "OTHER",
    "PUBLIC_KINDS",
    "Cell",
    "PublicGroup",
    "PublicOpinions",
    "breakdown",
    "multiple_choice",
    "opinions",
    "single_choice",
    "snap",
]

#: The key of the merged cell: options below k and people who gave no answer.
OTHER = "__other__"

#: Question kinds a public page can show (values of `dialogs.schema.StepKind`). Free
#: text, places and photos never; numbers neither (a histogram's ends are someone's
#: answer); rankings not yet.
PUBLIC_KINDS = frozenset({"single_choice", "yes_no", "scale", "multiple_choice"})


@dataclass(frozen=True)
class Cell:
    key: str
    count: int


def single_choice(
    counts: Mapping[str, int], order: Sequence[str], population: int, k: int
) -> list[Cell] | None:
    """The cells of a one-answer-per-person question, or None when it must be hidden.

    `counts`: option key -> people who chose it; `order`: the options' order on the
    page; `population`: the people who finished (answered or not).
    """
    answered = sum(counts.values())
    if population < k or answered < k or answered > population:
        return None
    shown = {key: counts[key] for key in order if counts.get(key, 0) >= k}
    rest = population - sum(shown.values())
    while 0 < rest < k and shown:
        smallest = min(shown, key=lambda key: (shown[key], key))
        rest += shown.pop(smallest)
    if 0 < rest < k:  # only when population < k, refused above; kept as a guard
        return None
    cells = [Cell(key, shown[key]) for key in order if key in shown]
    if rest:
        cells.append(Cell(OTHER, rest))
    return cells


def multiple_choice(
    counts: Mapping[str, int], order: Sequence[str], answered: int, population: int, k: int
) -> list[Cell] | None:
    """The shown options of a several-answers question, or None when it must be hidden.

    `counts`: option key -> people who picked it; `answered`: people who answered.
    """
    if population < k or answered < k or answered > population:
        return None
    return [
        Cell(key, counts[key])
        for key in order
        if counts.get(key, 0) >= k and not 0 < population - counts[key] < k
    ]


def breakdown(counts: Mapping[str, int], population: int, k: int) -> list[Cell] | None:
    """A breakdown of the population (largest first), or None unless every cell is at
    least k and the cells add up to the population."""
    cells = [Cell(key, n) for key, n in counts.items() if n]
    if (
        population < k
        or len(cells) < 2
        or any(cell.count < k for cell in cells)
        or sum(cell.count for cell in cells) != population
    ):
        return None
    return sorted(cells, key=lambda cell: (-cell.count, cell.key))


@dataclass(frozen=True)
class PublicGroup:
    """An opinion group as a public page shows it: statement ids, no member."""

    size: int
    #: The statements that set the group apart, by stance (most important first).
    agree: tuple[str, ...]
    disagree: tuple[str, ...]


@dataclass(frozen=True)
class PublicOpinions:
    """What may be published of a consultation's opinion groups (rules 6 and 7)."""

    groups: tuple[PublicGroup, ...]
    consensus: tuple[str, ...]


def opinions(grouping: OpinionGroups, k: int) -> PublicOpinions | None:
    """The groups of at least `k` people and the consensus statements, or None when no
    group is that large (see rules 6 and 7 in the module docstring)."""
    shown = [group for group in grouping.groups if group.size >= k]
    if not shown:
        return None
    groups = tuple(
        PublicGroup(
            size=group.size,
            agree=tuple(
                item.statement
                for item in group.representative
                if item.stance is Stance.AGREE and item.seen_in_group >= k
            ),
            disagree=tuple(
                item.statement
                for item in group.representative
                if item.stance is Stance.DISAGREE and item.seen_in_group >= k
            ),
        )
        for group in shown
    )
    consensus = tuple(
        statement.statement
        for statement in grouping.consensus
        if sum(shares.seen for shares in statement.by_group) >= k
    )
    return PublicOpinions(groups, consensus)


#: The side of a public map's grid cell, in metres.
GRID_METRES = 100.0
METRES_PER_DEGREE = 111_320.0


def snap(lat: float, lon: float, metres: float = GRID_METRES) -> tuple[float, float]:
    """The centre of the grid cell (about `metres` a side) that holds the point.

    Latitude bands are `metres` tall; within a band the longitude step is widened by
    the band's cosine, so cells stay about square. Every point of a cell gives the same
    centre, at most half a diagonal (~71 m for 100 m) from the true place.
    """
    step = metres / METRES_PER_DEGREE
    lat = min(max(lat, -89.9), 89.9)
    centre_lat = (math.floor(lat / step) + 0.5) * step
    lon_step = step / max(math.cos(math.radians(centre_lat)), 0.01)
    centre_lon = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(centre_lat, 5), round(centre_lon, 5)
