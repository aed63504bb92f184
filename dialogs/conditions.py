"""Evaluating a flow's branching conditions against the answers given so far.

Conditions are data (DESIGN: never `eval`), written by staff and checked at load time,
but answers are whatever citizens sent and states come back from storage, so
evaluation never raises: an answer of an unexpected shape simply makes a test false.

`answers` maps step id -> {"value", "display", "skipped"} as the engine stores them.
Rules:

- equals: option key (str), yes/no (bool; "yes"/"no"/"true"/"false" also match),
  numbers compare numerically (an option key "1" also matches `equals: 1`); a list
  answer (multiple choice, ranking) equals x only when x is its single element.
- in: equals any of the listed values.
- contains: a list answer has the key; a text answer contains the substring,
  ignoring case.
- greater / less: numeric answers only (number, scale); false otherwise.
- answered: there is an answer that was not skipped. skipped: the step was skipped.
- all / any / not combine conditions. A step that was not answered or was skipped
  makes every comparison false.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dialogs.schema import Condition

_TRUE_WORDS = {"yes", "true"}
_FALSE_WORDS = {"no", "false"}


def holds(condition: Condition, answers: Mapping[str, Any]) -> bool:
    """Whether `condition` is true for `answers`."""
    if condition.all is not None:
        return all(holds(child, answers) for child in condition.all)
    if condition.any is not None:
        return any(holds(child, answers) for child in condition.any)
    if condition.not_ is not None:
        return not holds(condition.not_, answers)
    if condition.answered is not None:
        entry = _entry(answers, condition.answered)
        return entry is not None and entry.get("skipped") is not True
    if condition.skipped is not None:
        entry = _entry(answers, condition.skipped)
        return entry is not None and entry.get("skipped") is True

    entry = _entry(answers, condition.step)
    if entry is None or entry.get("skipped") is True:
        return False
    value = entry.get("value")
    if condition.equals is not None:
        return _equals(value, condition.equals)
    if condition.in_ is not None:
        return any(_equals(value, candidate) for candidate in condition.in_)
    if condition.contains is not None:
        return _contains(value, condition.contains)
    number = _number(value)
    if condition.greater is not None:
        return number is not None and number > condition.greater
    if condition.less is not None:
        return number is not None and number < condition.less
    return False


def _entry(answers: Mapping[str, Any], step_id: str | None) -> Mapping[str, Any] | None:
    if step_id is None:
        return None
    entry = answers.get(step_id)
    return entry if isinstance(entry, Mapping) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _equals(value: Any, expected: Any) -> bool:
    if isinstance(value, list):
        return len(value) == 1 and _equals(value[0], expected)
    if isinstance(value, bool):
        if isinstance(expected, bool):
            return value is expected
        if isinstance(expected, str):
            word = expected.strip().casefold()
            return word in (_TRUE_WORDS if value else _FALSE_WORDS)
        return False
    if isinstance(expected, bool):
        return False
    number = _number(value)
    if number is not None:
        wanted = _number(expected)
        if wanted is None and isinstance(expected, str):
            try:
                wanted = _number(float(expected))
            except ValueError:
                return False
        return wanted is not None and number == wanted
    if isinstance(value, str):
        if isinstance(expected, float) and expected.is_integer():
            expected = int(expected)
        return value == str(expected)
    return False


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, list):
        return any(_equals(item, expected) for item in value)
    if isinstance(value, str) and not isinstance(expected, bool):
        return str(expected).casefold() in value.casefold()
    return False
