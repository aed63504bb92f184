"""Ratings per provider and quarter, as properties: whatever the ratings, no figure
stands for fewer than k people, the people in the cells add up to everyone who rated,
a comparison or a quarter-to-quarter change never involves a cell under k, and a
rating falls in the calendar quarter of its moment, boundaries included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from konsulta.provider_trends import (
    Rating,
    benchmarks,
    followup_ratings,
    quarter_of,
    rating_steps,
    trends,
)
from konsulta.publishing import read_flow

SERVICE_FEEDBACK = (
    Path(__file__).resolve().parents[2] / "dialogs" / "flows" / "service-feedback.yaml"
)

GROUPS = ["home_care", "day_centre", "transport"]
START = datetime(2026, 10, 1, tzinfo=UTC)

ratings_of = st.lists(
    st.builds(
        Rating,
        person=st.integers(min_value=1, max_value=40),
        group=st.sampled_from(GROUPS),
        value=st.integers(min_value=1, max_value=5).map(float),
        at=st.integers(min_value=0, max_value=400 * 24).map(lambda h: START + timedelta(hours=h)),
    ),
    max_size=150,
)
ks = st.integers(min_value=2, max_value=12)


@given(ratings=ratings_of, k=ks)
def test_no_figure_stands_for_fewer_than_k_people(ratings: list[Rating], k: int) -> None:
    table = trends(ratings, k, groups=GROUPS, top_from=4)
    for cell in table.cells.values():
        assert cell.shown == (cell.people >= k)
        if not cell.shown:
            assert cell.mean is None and cell.top_share is None and cell.change is None
        else:
            assert cell.mean is not None and 1 <= cell.mean <= 5
            assert cell.top_share is not None and 0 <= cell.top_share <= 1


@given(ratings=ratings_of, k=ks)
def test_the_cells_add_up_to_everyone_who_rated(ratings: list[Rating], k: int) -> None:
    table = trends(ratings, k, groups=GROUPS, top_from=4)
    # A person counts once per provider and quarter, and in no other cell.
    units = {(r.group, quarter_of(r.at), r.person) for r in ratings}
    assert sum(c.people for c in table.cells.values()) == len(units)
    for (group, quarter), cell in table.cells.items():
        assert cell.people == sum(1 for g, q, _p in units if (g, q) == (group, quarter))
    # Every pair of a provider and a quarter between the first and the last is there.
    assert set(table.cells) == {(g, q) for g in table.groups for q in table.quarters}
    assert table.groups[: len(GROUPS)] == GROUPS


@given(ratings=ratings_of, k=ks)
def test_the_mean_is_of_each_persons_latest_rating(ratings: list[Rating], k: int) -> None:
    table = trends(ratings, k, groups=GROUPS, top_from=4)
    for (group, quarter), cell in table.cells.items():
        if not cell.shown:
            continue
        latest: dict[int, Rating] = {}
        for r in ratings:
            here = (r.group, quarter_of(r.at)) == (group, quarter)
            if here and (r.person not in latest or r.at >= latest[r.person].at):
                latest[r.person] = r
        values = [r.value for r in latest.values()]
        assert cell.mean is not None
        assert abs(cell.mean - sum(values) / len(values)) < 1e-9
        assert cell.top_share == sum(1 for v in values if v >= 4) / len(values)


@given(ratings=ratings_of, k=ks)
def test_a_comparison_never_involves_a_cell_under_k(ratings: list[Rating], k: int) -> None:
    table = trends(ratings, k, groups=GROUPS, top_from=4)
    compared = {c.quarter for c in table.comparisons}
    for quarter in table.quarters:
        shown = [g for g in table.groups if table.cell(g, quarter).shown]
        assert (quarter in compared) == (len(shown) >= 2)
    for comparison in table.comparisons:
        assert len(comparison.ranked) >= 2
        assert all(c.people >= k and c.quarter == comparison.quarter for c in comparison.ranked)
        means = [c.mean for c in comparison.ranked]
        assert means == sorted(means, reverse=True)  # type: ignore[type-var]
        assert comparison.gap >= 0
    for group in table.groups:  # a change from one quarter to the next: both shown
        for before, after in zip(table.quarters, table.quarters[1:], strict=False):
            change = table.cell(group, after).change
            if change is not None:
                assert table.cell(group, before).people >= k
                assert table.cell(group, after).people >= k


@given(year=st.integers(min_value=2020, max_value=2040), quarter=st.integers(1, 4))
def test_a_rating_falls_in_its_calendar_quarter_at_the_boundaries(year: int, quarter: int) -> None:
    first = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
    assert quarter_of(first) == f"{year}-Q{quarter}"
    assert quarter_of(first - timedelta(microseconds=1)) == (
        f"{year}-Q{quarter - 1}" if quarter > 1 else f"{year - 1}-Q4"
    )


def test_a_moment_in_another_time_zone_is_placed_by_its_utc_time() -> None:
    # 08:30 on 1 April in Tokyo is 23:30 on 31 March in UTC: still the first quarter.
    tokyo = datetime(2027, 4, 1, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert quarter_of(tokyo) == "2027-Q1"
    assert quarter_of(tokyo + timedelta(minutes=30)) == "2027-Q2"


def test_an_empty_quarter_between_two_is_shown_empty() -> None:
    ratings = [
        Rating(1, "meals", 4.0, datetime(2027, 1, 5, tzinfo=UTC)),
        Rating(2, "meals", 2.0, datetime(2027, 7, 5, tzinfo=UTC)),
    ]
    table = trends(ratings, 1, groups=["meals"])
    assert table.quarters == ["2027-Q1", "2027-Q2", "2027-Q3"]
    assert table.cell("meals", "2027-Q2").people == 0
    assert table.cell("meals", "2027-Q3").change is None  # no shown quarter just before


def test_the_template_repeats_its_overall_rating_in_both_follow_ups() -> None:
    """`rating_again` (1 to 5) repeats `overall`, the first 1-to-5 scale, after three
    and six months; `respect`, the second 1-to-5 scale, has no repeat."""
    flow, _ = read_flow(SERVICE_FEEDBACK)
    by_id = {s.id: s for s in rating_steps(flow)}
    assert followup_ratings(flow, by_id["overall"]) == {
        "three_months": "rating_again",
        "six_months": "rating_again",
    }
    assert followup_ratings(flow, by_id["respect"]) == {}


@given(ratings=ratings_of, k=ks)
def test_all_providers_together_pools_only_cells_of_at_least_k(
    ratings: list[Rating], k: int
) -> None:
    """A provider's shared page compares it with all providers together: that figure
    is the shown cells pooled person by person, never a hidden one, so nothing it
    adds to the providers page can be subtracted down to fewer than k people."""
    table = trends(ratings, k, groups=GROUPS, top_from=4)
    marks = benchmarks(table)
    for quarter in table.quarters:
        shown = [table.cell(g, quarter) for g in table.groups if table.cell(g, quarter).shown]
        if len(shown) < 2:
            assert quarter not in marks
            continue
        mark = marks[quarter]
        assert mark.groups == len(shown) and mark.people == sum(c.people for c in shown)
        assert mark.people >= 2 * k
        pooled = sum((c.mean or 0.0) * c.people for c in shown) / mark.people
        assert abs(mark.mean - pooled) < 1e-9
        assert min(c.mean or 0.0 for c in shown) - 1e-9 <= mark.mean
        assert mark.mean <= max(c.mean or 0.0 for c in shown) + 1e-9
