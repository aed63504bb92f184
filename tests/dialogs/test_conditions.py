"""Branching conditions read the way staff write them, and never trip over an answer."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dialogs.conditions import holds
from dialogs.schema import Condition


def cond(data: dict[str, Any]) -> Condition:
    return Condition.model_validate(data)


def ans(value: Any, *, skipped: bool = False) -> dict[str, Any]:
    return {"value": value, "display": str(value), "skipped": skipped}


ANSWERS = {
    "area": ans("village"),
    "needs": ans(["lift", "bus"]),
    "order": ans(["health"]),
    "age": ans(82),
    "weight": ans(71.5),
    "rating": ans(2),
    "call": ans(True),
    "why": ans("The LIFT is broken"),
    "code": ans("1"),
    "photo": ans(None, skipped=True),
    "place": ans({"lat": 1.0, "lon": 2.0}),
}


def check(data: dict[str, Any]) -> bool:
    return holds(cond(data), ANSWERS)


def test_a_village_resident_matches_equals_on_the_option_key():
    assert check({"step": "area", "equals": "village"})
    assert not check({"step": "area", "equals": "centre"})
    assert not check({"step": "area", "equals": "Village"})


def test_numbers_compare_numerically():
    assert check({"step": "age", "equals": 82.0})
    assert check({"step": "age", "equals": "82"})
    assert check({"step": "age", "greater": 80})
    assert not check({"step": "age", "less": 80})
    assert check({"step": "weight", "less": 72})
    assert check({"step": "rating", "in": [1, 2]})
    assert check({"step": "code", "equals": 1})


def test_yes_no_is_true_or_false():
    assert check({"step": "call", "equals": True})
    assert check({"step": "call", "equals": "yes"})
    assert not check({"step": "call", "equals": False})
    assert not check({"step": "call", "equals": 1})
    assert not check({"step": "age", "equals": True})


def test_contains_for_lists_and_text():
    assert check({"step": "needs", "contains": "bus"})
    assert not check({"step": "needs", "contains": "garden"})
    assert check({"step": "why", "contains": "lift"})
    assert not check({"step": "needs", "equals": "bus"})
    assert check({"step": "order", "equals": "health"})


def test_greater_and_less_are_false_for_what_is_not_a_number():
    for step in ["area", "needs", "call", "why", "photo", "place", "missing"]:
        assert not check({"step": step, "greater": -1e300})
        assert not check({"step": step, "less": 1e300})


def test_answered_and_skipped():
    assert check({"answered": "age"})
    assert not check({"answered": "photo"})
    assert check({"skipped": "photo"})
    assert not check({"skipped": "age"})
    assert not check({"answered": "missing"})
    assert not check({"step": "photo", "equals": "x"})


def test_all_any_not_combine():
    old_in_village = {
        "all": [{"step": "age", "greater": 80}, {"step": "area", "equals": "village"}]
    }
    assert check(old_in_village)
    assert check({"any": [{"step": "age", "less": 18}, {"answered": "why"}]})
    assert not check({"not": old_in_village})
    assert check({"not": {"answered": "missing"}})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
conditions = st.recursive(
    st.builds(
        lambda op, value: cond({"step": "x", op: value}),
        st.sampled_from(["equals", "contains"]),
        st.none().map(lambda _: "a") | st.booleans() | st.integers() | st.floats() | st.text(),
    )
    | st.builds(lambda v: cond({"step": "x", "greater": v}), st.floats())
    | st.builds(lambda v: cond({"step": "x", "less": v}), st.floats())
    | st.builds(lambda v: cond({"step": "x", "in": v}), st.lists(st.integers() | st.text()))
    | st.just(cond({"answered": "x"}))
    | st.just(cond({"skipped": "x"})),
    lambda children: (
        st.lists(children, max_size=3).map(lambda c: cond({"all": c}))
        | st.lists(children, max_size=3).map(lambda c: cond({"any": c}))
        | children.map(lambda c: cond({"not": c}))
    ),
    max_leaves=6,
)


@given(conditions, json_values)
def test_no_answer_shape_makes_a_condition_raise(condition, stored):
    holds(condition, {"x": stored})
    holds(condition, {"x": {"value": stored, "display": "", "skipped": False}})
    holds(condition, {"x": {"value": stored, "skipped": stored}})
