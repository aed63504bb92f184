"""Whatever a staff member (or a corrupted database row) hands the loader, it answers
with problems, never a crash: the publish button and the CLI show them as they are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.loader import FlowError, check_flow_file, check_flow_text, load_flow_text
from dialogs.schema import StepKind

FUZZ = settings(max_examples=150, deadline=None)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

STEP_IDS = ["age", "note", "phone", "hello"]
refs = st.sampled_from([*STEP_IDS, "missing", "fixed"])
values = st.sampled_from(["young", "old", "yes", True, 3, 2.5, "x"])
leaf_conditions = st.one_of(
    st.builds(lambda s, v: {"step": s, "equals": v}, refs, values),
    st.builds(lambda s, v: {"step": s, "in": [v]}, refs, values),
    st.builds(lambda s, v: {"step": s, "contains": v}, refs, values),
    st.builds(lambda s, n: {"step": s, "greater": n}, refs, st.integers(-2, 9)),
    st.builds(lambda s: {"answered": s}, refs),
    st.builds(lambda s: {"skipped": s}, refs),
    st.builds(lambda s, v: {"step": s, "equals": v, "less": 3}, refs, values),
)
conditions = st.recursive(
    leaf_conditions,
    lambda inner: (
        st.builds(lambda c: {"all": c}, st.lists(inner, max_size=3))
        | st.builds(lambda c: {"any": c}, st.lists(inner, max_size=3))
        | st.builds(lambda c: {"not": c}, inner)
    ),
    max_leaves=6,
)
rules = st.lists(
    st.fixed_dictionaries(
        {"goto": st.sampled_from([*STEP_IDS, "end", "nowhere"])},
        optional={"when": conditions},
    ),
    max_size=3,
)
texts = st.sampled_from(
    ["Tekst", "{{age}}?", "{{note}} {{nope}}", {"pl": "A", "en": "B"}, "x" * 70]
)


@st.composite
def steps(draw: st.DrawFn) -> dict[str, Any]:
    step: dict[str, Any] = {
        "id": draw(st.sampled_from(STEP_IDS)),
        "kind": draw(st.sampled_from([k.value for k in StepKind])),
        "text": draw(texts),
    }
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(["young", "old", "mid", "1"]), max_size=4))
        step["options"] = [{"key": k, "label": draw(texts)} for k in keys]
    if draw(st.booleans()):
        step["min"], step["max"] = draw(st.integers(0, 3)), draw(st.integers(0, 12))
    if draw(st.booleans()):
        step["next"] = draw(rules)
    if draw(st.booleans()):
        step["required"] = False
    return step


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "id": "fuzz",
        "version": 1,
        "title": draw(texts),
        "organisation": "Test",
        "languages": draw(st.sampled_from([["pl"], ["pl", "en"]])),
        "default_language": "pl",
        "consent": draw(texts),
        "steps": draw(st.lists(steps(), min_size=1, max_size=6)),
        "ends": draw(
            st.lists(
                st.fixed_dictionaries({"text": texts}, optional={"when": conditions}),
                min_size=1,
                max_size=3,
            )
        ),
    }
    if draw(st.booleans()):
        flow["contact_consent"] = "Numer?"
    if draw(st.booleans()):
        followup_steps = st.lists(steps(), max_size=3)
        flow["followups"] = [{"id": "later", "after_days": 14, "steps": draw(followup_steps)}]
    return flow


def check_bytes(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_bytes(content)
        flow, problems = check_flow_file(path)
        assert (flow is None) <= bool(problems)


def load_only_fails_with_flow_error(text: str) -> None:
    try:
        load_flow_text(text, "fuzz.yaml")
    except FlowError as error:
        assert error.problems


@FUZZ
@given(st.binary(max_size=300))
def test_check_flow_file_never_raises_on_bytes(content: bytes) -> None:
    check_bytes(content)


@FUZZ
@given(st.text(max_size=300))
def test_load_flow_text_raises_only_flow_error_on_text(text: str) -> None:
    load_only_fails_with_flow_error(text)


@FUZZ
@given(documents)
def test_any_yaml_document_gives_problems_not_a_crash(document: Any) -> None:
    text = yaml.safe_dump(document)
    check_bytes(text.encode("utf-8"))
    load_only_fails_with_flow_error(text)


@FUZZ
@given(flows())
def test_flow_shaped_yaml_gives_problems_not_a_crash(flow: dict[str, Any]) -> None:
    text = yaml.safe_dump(flow, allow_unicode=True)
    loaded, problems = check_flow_text(text, "fuzz.yaml")
    assert loaded is not None or problems
    load_only_fails_with_flow_error(text)
