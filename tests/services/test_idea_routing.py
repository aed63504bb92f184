"""Which statement a resident is asked next (konsulta.ideas): Polis's routing.

A statement nobody has seen yet is asked before one forty people voted on; one that
splits or unites the opinion groups before a lukewarm one; passes count for little.
The order is a permutation of what the resident has not voted on, and the same for
the same run (seed), so a story can be replayed.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from konsulta.ideas import idea_order, statement_order
from storage.repositories.statements import ApprovedStatement


def statement(sid: int, agree: int = 0, disagree: int = 0, passed: int = 0) -> ApprovedStatement:
    return ApprovedStatement(sid, "ideas", None, f"s{sid}", "pl", {}, agree, disagree, passed)


def first_counts(
    statements: list[ApprovedStatement], boosts: dict[int, float] | None = None
) -> dict[int, int]:
    """How often each statement is asked first, over 400 residents (seeds)."""
    firsts: dict[int, int] = {}
    for seed in range(400):
        first = statement_order(statements, set(), seed, boosts)[0]
        firsts[first] = firsts.get(first, 0) + 1
    return firsts


def test_a_new_statement_is_asked_before_one_forty_people_voted_on() -> None:
    firsts = first_counts([statement(1, agree=30, disagree=10), statement(2)])
    assert firsts[2] > 3 * firsts.get(1, 0)


def test_a_statement_mostly_passed_comes_after_one_people_take_sides_on() -> None:
    firsts = first_counts([statement(1, passed=18, agree=2), statement(2, agree=10, disagree=10)])
    assert firsts[2] > 2 * firsts.get(1, 0)


def test_a_statement_that_splits_the_groups_is_asked_more_often_first() -> None:
    same = [statement(1, agree=10, disagree=10), statement(2, agree=10, disagree=10)]
    plain = first_counts(same)
    boosted = first_counts(same, {2: 2.0})
    assert boosted[2] > plain[2] and boosted[2] > boosted.get(1, 0)


@given(
    counts=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))),
    voted=st.sets(st.integers(0, 30)),
    seed=st.integers(),
)
def test_the_order_is_everything_not_yet_voted_on_and_the_same_for_the_same_run(
    counts: list[tuple[int, int, int]], voted: set[int], seed: int
) -> None:
    statements = [statement(i, *c) for i, c in enumerate(counts)]
    order = statement_order(statements, voted, seed)
    assert sorted(order) == [i for i in range(len(counts)) if i not in voted]
    assert order == statement_order(statements, voted, seed)
    assert sorted(idea_order(statements)) == list(range(len(counts)))


def test_the_most_agreed_ideas_are_offered_first_for_the_top_three() -> None:
    ideas = [statement(1, agree=1), statement(2, agree=40, disagree=2), statement(3, disagree=9)]
    assert idea_order(ideas) == [2, 1, 3]
