"""Opinion groups and priorities (konsulta.opinions): planted camps and awkward matrices."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from konsulta.opinions import (
    AGREE,
    DISAGREE,
    PASS,
    OpinionGroups,
    Stance,
    borda,
    group_opinions,
)


def planted_camps(
    per_camp: int = 15, statements: int = 12, seed: int = 7
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Two camps that agree on s0 and s1 and split on the rest, with noise and gaps.

    Camp A agrees with the even statements from s2 on and disagrees with the odd ones;
    camp B the opposite. One vote in ten goes the other way or is a pass, and each
    citizen skips one or two statements, as real citizens do.
    """
    rng = random.Random(seed)
    votes: dict[str, dict[str, int]] = {}
    camps: dict[str, int] = {}
    for camp in (0, 1):
        for n in range(per_camp):
            citizen = f"{'ab'[camp]}{n:02d}"
            camps[citizen] = camp
            row: dict[str, int] = {}
            skipped = set(rng.sample(range(2, statements), rng.choice((1, 2))))
            for s in range(statements):
                if s in skipped:
                    continue
                split = (s % 2 == 0) == (camp == 0)
                vote = AGREE if s < 2 or split else DISAGREE
                roll = rng.random()
                if roll < 0.05:
                    vote = -vote
                elif roll < 0.1:
                    vote = PASS
                row[f"s{s:02d}"] = vote
            votes[citizen] = row
    return votes, camps


def test_thirty_citizens_in_two_camps_are_found_with_their_common_ground() -> None:
    votes, camps = planted_camps()

    result = group_opinions(votes, seed=1)

    assert len(result.groups) == 2
    found = [result.group_of(citizen) for citizen in sorted(camps)]
    assert adjusted_rand_score([camps[c] for c in sorted(camps)], found) >= 0.8
    assert [s.statement for s in result.consensus] == ["s00", "s01"]
    assert {s.statement for s in result.divisive} == {f"s{s:02d}" for s in range(2, 12)}
    for group in result.groups:
        assert group.representative, "each camp has statements that set it apart"
        for item in group.representative:
            assert item.share_in_group > 0.5 > item.share_outside
    assert result.silhouette is not None and result.silhouette > 0.5
    assert sorted(p.participant for p in result.points) == sorted(camps)


def test_the_grouping_is_the_same_every_time_for_one_seed() -> None:
    votes, _ = planted_camps(seed=3)

    assert group_opinions(votes, seed=5) == group_opinions(dict(reversed(votes.items())), seed=5)


def test_a_citizen_who_voted_twice_is_reported_but_not_placed() -> None:
    votes, _ = planted_camps()
    votes["late"] = {"s00": AGREE, "s05": DISAGREE}

    result = group_opinions(votes)

    assert result.unclustered == ("late",)
    assert result.group_of("late") is None
    assert "late" not in {p.participant for p in result.points}


def test_a_lone_participant_is_one_group_of_one() -> None:
    result = group_opinions({"only": {"s1": AGREE, "s2": DISAGREE}})

    assert [g.members for g in result.groups] == [("only",)]
    assert result.silhouette is None
    assert [s.statement for s in result.consensus] == ["s1"]


def test_when_everyone_votes_the_same_there_is_one_group_and_it_is_all_consensus() -> None:
    votes = {f"p{n}": {"s1": AGREE, "s2": AGREE, "s3": DISAGREE} for n in range(20)}

    result = group_opinions(votes)

    assert len(result.groups) == 1 and result.groups[0].size == 20
    assert [s.statement for s in result.consensus] == ["s1", "s2"]
    assert result.divisive == ()
    assert {(p.x, p.y) for p in result.points} == {(0.0, 0.0)}


def test_no_votes_at_all_is_an_empty_grouping() -> None:
    result = group_opinions({"silent": {}})

    assert result.groups == () and result.points == () and result.statements == ()


vote_rows = st.dictionaries(
    st.sampled_from([f"s{n}" for n in range(8)]),
    st.sampled_from([AGREE, DISAGREE, PASS]),
    max_size=8,
)


@settings(max_examples=30, deadline=None)
@given(
    votes=st.dictionaries(st.text(min_size=1, max_size=4), vote_rows, max_size=14),
    seed=st.integers(0, 3),
)
def test_any_vote_matrix_groups_without_raising_or_nan(
    votes: dict[str, dict[str, int]], seed: int
) -> None:
    result = group_opinions(votes, seed=seed)

    check_consistent(result, votes)


@settings(max_examples=15, deadline=None)
@given(
    votes=st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.fixed_dictionaries({"only": st.sampled_from([AGREE, DISAGREE, PASS])}),
        min_size=1,
        max_size=12,
    )
)
def test_one_statement_never_raises(votes: dict[str, dict[str, int]]) -> None:
    check_consistent(group_opinions(votes), votes)


def check_consistent(result: OpinionGroups, votes: dict[str, dict[str, int]]) -> None:
    voters = {p for p, row in votes.items() if row}
    members = [m for group in result.groups for m in group.members]
    assert len(members) == len(set(members))
    assert set(members) | set(result.unclustered) == voters
    assert 1 <= len(result.groups) <= 5 or not members
    for point in result.points:
        assert math.isfinite(point.x) and math.isfinite(point.y)
        assert result.group_of(point.participant) == point.group
    for statement in result.consensus + result.divisive:
        for shares in statement.by_group:
            assert 0.0 <= shares.agree + shares.disagree <= 1.0
    for group in result.groups:
        for item in group.representative:
            assert item.stance in (Stance.AGREE, Stance.DISAGREE)
            assert math.isfinite(item.share_in_group) and math.isfinite(item.share_outside)


def test_priorities_count_three_two_one_overall_and_per_camp() -> None:
    votes, camps = planted_camps()
    groups = group_opinions(votes, seed=1)
    camp_a = groups.group_of("a00")
    rankings = {
        citizen: (["bus", "bench", "lamp"] if camp == 0 else ["lamp", "bus"])
        for citizen, camp in camps.items()
    }
    rankings["late"] = ["bench", "bench", "bus", "lamp", "park"]  # not grouped

    result = borda(rankings, groups)

    overall = {s.idea: (s.points, s.ranked_by, s.first) for s in result.overall}
    assert overall == {
        "bus": (15 * 3 + 15 * 2 + 2, 31, 15),
        "lamp": (15 * 1 + 15 * 3 + 1, 31, 15),
        "bench": (15 * 2 + 3, 16, 1),
    }
    assert [s.idea for s in result.overall] == ["bus", "lamp", "bench"]
    assert camp_a is not None
    assert [s.idea for s in result.by_group[camp_a]] == ["bus", "bench", "lamp"]
    assert [s.idea for s in result.by_group[1 - camp_a]] == ["lamp", "bus"]


def test_priorities_without_groups_count_overall_only() -> None:
    result = borda({"p": ["x"], "q": []})

    assert [(s.idea, s.points) for s in result.overall] == [("x", 3)]
    assert result.by_group == {}
