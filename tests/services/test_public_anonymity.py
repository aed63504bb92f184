"""The k-anonymity rules of the public results pages, as properties: whatever the
counts, no published number stands for fewer than k people, and no group of people
that one published number contains and another leaves out is smaller than k."""

from __future__ import annotations

import math
from itertools import combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konsulta.opinions import AGREE, DISAGREE, PASS, group_opinions
from konsulta.public_results import (
    METRES_PER_DEGREE,
    OTHER,
    Cell,
    breakdown,
    multiple_choice,
    opinions,
    single_choice,
    snap,
)

KEYS = ["a", "b", "c", "d", "e", "f"]
ks = st.integers(min_value=2, max_value=15)
counts_of = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6)


def nested_differences(population: int, cells: list[Cell]) -> list[int]:
    """The sizes of every group two published numbers tell apart in a partition: the
    population less any set of cells (each cell is inside the population)."""
    numbers = [cell.count for cell in cells]
    return [
        population - sum(chosen)
        for size in range(1, len(numbers) + 1)
        for chosen in combinations(numbers, size)
    ]


@given(counts=counts_of, no_answer=st.integers(min_value=0, max_value=30), k=ks)
def test_a_one_answer_question_publishes_no_small_group(
    counts: list[int], no_answer: int, k: int
) -> None:
    options = dict(zip(KEYS, counts, strict=False))
    population = sum(options.values()) + no_answer
    cells = single_choice(options, list(options), population, k)
    if sum(options.values()) < k:
        assert cells is None
        return
    assert cells is not None
    published = [population, *(cell.count for cell in cells)]
    assert all(n >= k for n in published)
    assert sum(cell.count for cell in cells) == population  # a partition, "other" included
    assert all(not 0 < d < k for d in nested_differences(population, cells))
    assert all(not 0 < abs(x - y) < k for x, y in combinations([population, sum(published[1:])], 2))
    for cell in cells:  # a shown option is shown with its true count
        if cell.key != OTHER:
            assert cell.count == options[cell.key]


@given(counts=counts_of, no_answer=st.integers(min_value=0, max_value=30), k=ks)
def test_a_several_answers_question_publishes_no_small_group(
    counts: list[int], no_answer: int, k: int
) -> None:
    options = dict(zip(KEYS, counts, strict=False))
    answered = max(options.values()) + no_answer // 2
    population = answered + no_answer
    cells = multiple_choice(options, list(options), answered, population, k)
    if answered < k:
        assert cells is None
        return
    assert cells is not None
    for cell in cells:
        assert cell.count >= k
        assert not 0 < population - cell.count < k  # those who did not pick it
        assert cell.count == options[cell.key]


@given(counts=counts_of, k=ks)
def test_a_breakdown_is_whole_or_not_shown(counts: list[int], k: int) -> None:
    groups = dict(zip(KEYS, counts, strict=False))
    population = sum(groups.values())
    cells = breakdown(groups, population, k)
    if cells is None:
        return
    assert all(cell.count >= k for cell in cells)
    assert sum(cell.count for cell in cells) == population
    assert all(not 0 < d < k for d in nested_differences(population, cells))


def test_a_small_option_and_its_smallest_neighbour_become_other() -> None:
    # 20 yes, 4 no: "no" alone would be 4 people, so "yes" joins it; only 24 is shown.
    assert single_choice({"true": 20, "false": 4}, ["true", "false"], 24, 10) == [Cell(OTHER, 24)]
    assert single_choice({"a": 14, "b": 10}, ["a", "b"], 24, 10) == [Cell("a", 14), Cell("b", 10)]
    assert single_choice({"a": 9}, ["a"], 30, 10) is None  # fewer than k answered


def test_a_breakdown_with_one_small_cell_is_hidden() -> None:
    assert breakdown({"pl": 12, "en": 3}, 15, 10) is None
    assert breakdown({"pl": 12, "en": 12}, 24, 10) == [Cell("en", 12), Cell("pl", 12)]


@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-179.9, max_value=179.9),
)
def test_a_snapped_place_is_near_but_never_the_place(lat: float, lon: float) -> None:
    snapped_lat, snapped_lon = snap(lat, lon)
    north = (snapped_lat - lat) * METRES_PER_DEGREE
    east = (snapped_lon - lon) * METRES_PER_DEGREE * math.cos(math.radians(lat))
    assert math.hypot(north, east) <= 80  # half a diagonal of a 100 m cell, and rounding
    # every point of the cell gives the same centre: a nudge of a metre or so mostly does
    nudged = snap(lat + 1 / METRES_PER_DEGREE, lon)
    assert nudged == (snapped_lat, snapped_lon) or abs(nudged[0] - snapped_lat) > 0.0008


#: Voters in up to three camps with some noise: big and small groups both happen.
camp_votes = st.dictionaries(
    st.sampled_from([f"s{n}" for n in range(8)]),
    st.sampled_from([AGREE, DISAGREE, PASS]),
    min_size=0,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    votes=st.dictionaries(st.text(min_size=1, max_size=4), camp_votes, max_size=40),
    k=st.integers(min_value=2, max_value=12),
)
def test_the_public_opinion_groups_never_show_a_group_or_a_statement_under_k(
    votes: dict[str, dict[str, int]], k: int
) -> None:
    grouping = group_opinions(votes)
    published = opinions(grouping, k)
    if published is None:
        assert all(group.size < k for group in grouping.groups)
        return
    assert published.groups and all(group.size >= k for group in published.groups)
    shown = [group for group in grouping.groups if group.size >= k]
    assert [group.size for group in published.groups] == [group.size for group in shown]
    for group, public in zip(shown, published.groups, strict=True):
        seen = {item.statement: item.seen_in_group for item in group.representative}
        assert all(seen[statement] >= k for statement in (*public.agree, *public.disagree))
    across = {s.statement: s for s in grouping.consensus}
    for statement in published.consensus:
        assert sum(shares.seen for shares in across[statement].by_group) >= k
    # Nothing published names a participant.
    named = {str(x) for group in published.groups for x in (*group.agree, *group.disagree)}
    assert not named & set(votes)
