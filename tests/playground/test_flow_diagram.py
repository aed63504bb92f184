"""A staff member sees a consultation as a diagram, with what `flows check` finds in red."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from dialogs.loader import check_flow_file, load_flow
from dialogs.schema import Condition
from review.diagram import RED, condition_text, flow_svg, flow_svg_from_yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted((REPO / "dialogs" / "flows").glob("*.yaml"))
BROKEN = REPO / "tests" / "dialogs" / "broken_flows"

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="flow diagrams need Graphviz (apt-get install graphviz)"
)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_flow_draws_with_every_step(path: Path) -> None:
    flow = load_flow(path)
    svg = flow_svg(flow)
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    steps = [s.id for s in flow.steps] + [s.id for f in flow.followups for s in f.steps]
    for step_id in steps:
        assert f">{step_id}</text>" in svg, step_id
    assert RED not in svg  # a bundled flow has no problems


def test_conditions_read_as_plain_words() -> None:
    def text(data: dict[str, Any]) -> str:
        return condition_text(Condition.model_validate(data))

    assert text({"step": "age", "equals": "80_plus"}) == "age = 80_plus"
    assert text({"step": "reported_before", "equals": False}) == "reported_before = no"
    assert text({"step": "rating", "less": 3}) == "rating < 3"
    assert text({"step": "rating", "greater": 2.5}) == "rating > 2.5"
    assert text({"step": "affects", "contains": "seniors"}) == "affects contains seniors"
    assert text({"step": "what", "in": ["water", "green"]}) == "what in {water, green}"
    assert text({"step": "place", "equals": "ul. Długa 5"}) == 'place = "ul. Długa 5"'
    assert text({"not": {"step": "urgency", "equals": "danger"}}) == "urgency ≠ danger"
    assert text({"not": {"answered": "phone"}}) == "not(phone answered)"
    assert (
        text({"all": [{"skipped": "photo"}, {"any": [{"step": "a", "equals": 1}]}]})
        == "all(photo skipped; any(a = 1))"
    )


step_ids = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
scalars = st.one_of(st.text(max_size=12), st.integers(-5, 5), st.booleans(), st.floats(-9, 9))
leaves = st.one_of(
    st.builds(lambda s, v: {"step": s, "equals": v}, step_ids, scalars),
    st.builds(lambda s, v: {"step": s, "in": v}, step_ids, st.lists(scalars, max_size=3)),
    st.builds(lambda s, v: {"step": s, "contains": v}, step_ids, scalars),
    st.builds(lambda s, n: {"step": s, "greater": n}, step_ids, st.integers(-9, 9)),
    st.builds(lambda s, n: {"step": s, "less": n}, step_ids, st.floats(-9, 9)),
    st.builds(lambda s: {"answered": s}, step_ids),
    st.builds(lambda s: {"skipped": s}, step_ids),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=8,
)


@given(conditions)
def test_any_condition_reads_as_one_line_naming_every_step_it_tests(data: dict[str, Any]) -> None:
    condition = Condition.model_validate(data)
    shown = condition_text(condition)
    assert "\n" not in shown.replace("\\n", "")
    for step in condition.referenced_steps():
        assert step in shown


def test_problems_are_drawn_in_red_on_the_step_they_concern() -> None:
    flow, problems = check_flow_file(BROKEN / "unknown-goto.yaml")
    assert problems and flow is not None
    svg = flow_svg(flow, problems)
    assert RED in svg
    assert "no such step" in svg
    assert "⚠ goto" in svg  # the problem, written on the step's box


def test_a_flow_that_cannot_be_read_shows_its_problems() -> None:
    svg = flow_svg_from_yaml((BROKEN / "bad-yaml.yaml").read_text(), "bad-yaml.yaml")
    assert "Problems (1)" in svg and "YAML syntax error" in svg


SNEAKY_FLOW = """
id: sneaky
version: 1
title: "<script>alert(1)</script>"
organisation: Test
languages: [pl]
default_language: pl
consent: Zgoda?
steps:
  - id: q
    kind: yes_no
    text: 'Czy <b>lubisz</b> </text></svg><script>alert("x")</script> & "cudzysłowy"?'
    next:
      - {when: {step: q, equals: true}, goto: end}
  - id: why
    kind: text
    text: Dlaczego?
ends:
  - text: "Dziękujemy & <i>do widzenia</i>"
"""


def test_texts_in_a_flow_cannot_inject_markup_into_the_drawing() -> None:
    svg = flow_svg_from_yaml(SNEAKY_FLOW, "sneaky.yaml")
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.count("</svg>") == 1


def test_the_cli_writes_svg_or_a_standalone_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = REPO / "dialogs" / "flows" / "service-need.yaml"
    assert main(["flows", "diagram", str(flow), "--out", str(tmp_path / "flow.svg")]) == 0
    assert "</svg>" in (tmp_path / "flow.svg").read_text()
    assert main(["flows", "diagram", str(flow), "--out", str(tmp_path / "flow.html")]) == 0
    page = (tmp_path / "flow.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "no problems" in page
    assert "<script" not in page and 'src="http' not in page and "<link" not in page
    broken = BROKEN / "unknown-goto.yaml"
    assert main(["flows", "diagram", str(broken), "--out", str(tmp_path / "b.html")]) == 0
    assert "1 problem(s) from flows check" in (tmp_path / "b.html").read_text()
    assert main(["flows", "diagram", str(flow), "--out", str(tmp_path / "flow.png")]) == 2
    assert "must end in .svg or .html" in capsys.readouterr().err
