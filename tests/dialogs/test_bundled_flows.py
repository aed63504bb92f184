"""The consultation templates a town gets out of the box are complete and correct:
they load without a single problem, ask enough to be useful, branch, and speak both
Polish and English everywhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dialogs.loader import check_dir, load_flow
from dialogs.render import placeholders
from dialogs.schema import Flow

FLOWS = Path(__file__).parents[2] / "dialogs" / "flows"
FILES = sorted(FLOWS.glob("*.yaml"))


def test_the_templates_are_bundled() -> None:
    assert {p.stem for p in FILES} >= {
        "senior-housing",
        "remote-disability",
        "youth-ideas",
        "service-need",
        "skills-for-work",
        "rural-household",
        "social-services-redesign",
        "after-prison",
        "disability-services",
        "child-health",
        "service-feedback",
    }
    assert check_dir(FLOWS) == []


@pytest.fixture(params=FILES, ids=[p.stem for p in FILES])
def flow(request: pytest.FixtureRequest) -> Flow:
    path: Path = request.param
    loaded = load_flow(path)
    assert loaded.id == path.stem
    return loaded


def test_asks_at_least_eight_questions(flow: Flow) -> None:
    assert len(flow.questions) >= 8


def test_branches_on_answers_and_ends_differently(flow: Flow) -> None:
    assert any(rule.when is not None for step in flow.steps for rule in step.next)
    assert any(end.when is not None for end in flow.ends)
    assert flow.ends[-1].when is None


def test_echoes_an_earlier_answer(flow: Flow) -> None:
    texts = [flow.localize(text, "pl") for _, text in flow.flow_texts()]
    assert any(placeholders(text) for text in texts)


def test_speaks_polish_and_english_everywhere(flow: Flow) -> None:
    """Texts are written in Polish in the YAML; every other language comes from the
    flow's gettext catalogs (`<flow>.locales/<lang>.po`, see docs/languages.md)."""
    assert {"pl", "en"} <= set(flow.languages)
    assert flow.default_language == "pl"
    for where, text in flow.flow_texts():
        assert isinstance(text, str), where
        for language in flow.languages:
            assert flow.text_for(text, language), (where, language)


def test_is_open_and_asks_consent_with_a_way_to_delete(flow: Flow) -> None:
    assert flow.is_open(dt.date(2026, 11, 23))
    assert flow.description is not None
    assert all("/delete" in flow.localize(flow.consent, lang) for lang in flow.languages)
    uses_contact = any(s.kind == "contact" for s in flow.steps)
    assert (flow.contact_consent is not None) >= uses_contact


def test_service_need_follows_up_after_two_weeks() -> None:
    flow = load_flow(FLOWS / "service-need.yaml")
    followup = flow.followups[0]
    assert followup.after_days == 14
    assert "what" in placeholders(flow.localize(followup.steps[0].text, "en"))
    assert load_flow(FLOWS / "senior-housing.yaml").followups
