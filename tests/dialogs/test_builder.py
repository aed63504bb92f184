"""The builder's edits on a flow as data: a consultation built with menus only passes
the same checks as `konsulta flows check` and plays on the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs import builder
from dialogs.builder import EditError
from dialogs.loader import check_flow_text, load_translations

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"


def six_questions() -> builder.Draft:
    draft = builder.blank("Gmina Testowa", "pl", flow_id="park-plan")
    draft = builder.set_settings(
        draft,
        flow_id="Park plan",
        languages=["pl", "en"],
        default_language="pl",
        opens="2026-01-01",
        closes="2027-12-31",
        title={"pl": "Plan parku", "en": "Park plan"},
        consents={"consent": {"pl": "Zgoda", "en": "Consent"}},
    )
    draft = builder.delete_step(draft, "q1")
    for kind in ("single_choice", "yes_no", "scale", "multiple_choice", "text", "number"):
        draft = builder.add_step(draft, kind)
    texts = {"pl": "Pytanie", "en": "Question"}
    for step_id in ("q1", "q2", "q3", "q5", "q6"):
        draft = builder.edit_step(draft, step_id, text=texts)
    draft = builder.edit_step(
        draft,
        "q1",
        text={"pl": "Jak często?", "en": "How often?"},
        options=[
            {"pl": "Codziennie", "en": "Daily"},
            {"pl": "Nigdy", "en": "Never"},
            {"pl": "Żółć", "en": "Ochre"},
        ],
    )
    draft = builder.edit_step(
        draft,
        "q4",
        text=texts,
        options=[{"pl": "Ławki", "en": "Benches"}, {"pl": "Ławki!", "en": "More benches"}],
        settings={"max_picks": "2"},
    )
    draft = builder.add_rule(draft, "q1", "q1", "equals", ["nigdy"], "q5")
    draft = builder.set_end(draft, 0, {"pl": "Dziękujemy", "en": "Thank you"})
    return draft


def test_a_six_question_consultation_built_from_menus_passes_the_checks() -> None:
    draft = six_questions()
    assert [o["key"] for o in draft["steps"][0]["options"]] == ["codziennie", "nigdy", "zolc"]
    assert [o["key"] for o in draft["steps"][3]["options"]] == ["lawki", "lawki_2"]
    assert draft["steps"][0]["next"] == [{"when": {"step": "q1", "equals": "nigdy"}, "goto": "q5"}]
    flow, problems = check_flow_text(builder.flow_yaml(draft), "park-plan.yaml")
    assert problems == [] and flow is not None
    assert flow.id == "park-plan" and len(flow.questions) == 6


def test_keys_stay_when_labels_change_and_moves_and_deletes_keep_order() -> None:
    draft = six_questions()
    draft = builder.edit_step(
        draft,
        "q1",
        text={"pl": "Jak często?"},
        options=[{"key": "codziennie", "pl": "Każdego dnia"}, {"key": "nigdy", "pl": "Nigdy"}],
    )
    assert [o["key"] for o in draft["steps"][0]["options"]] == ["codziennie", "nigdy"]
    draft = builder.move_step(draft, "q2", -1)
    assert [s["id"] for s in draft["steps"]][:2] == ["q2", "q1"]
    draft = builder.move_step(draft, "q2", -1)  # already first: stays
    draft = builder.delete_step(draft, "q5")
    _, problems = check_flow_text(builder.flow_yaml(draft), "x.yaml")
    assert any("q5" in p.message for p in problems)  # the rule now points nowhere


def test_rules_from_menus_become_conditions() -> None:
    draft = six_questions()
    assert builder.condition(draft, "q2", "equals", ["true"]) == {"step": "q2", "equals": True}
    assert builder.condition(draft, "q3", "greater", ["3"]) == {"step": "q3", "greater": 3}
    assert builder.condition(draft, "q1", "not_equals", ["nigdy"]) == {
        "not": {"step": "q1", "equals": "nigdy"}
    }
    assert builder.condition(draft, "q1", "in", ["nigdy", "zolc"]) == {
        "step": "q1",
        "in": ["nigdy", "zolc"],
    }
    # A multiple choice "is" an option when the picks include it.
    assert builder.condition(draft, "q4", "equals", ["lawki"]) == {
        "step": "q4",
        "contains": "lawki",
    }
    assert builder.condition(draft, "q4", "in", ["lawki", "lawki_2"]) == {
        "any": [{"step": "q4", "contains": "lawki"}, {"step": "q4", "contains": "lawki_2"}]
    }
    with pytest.raises(EditError):
        builder.condition(draft, "q3", "greater", ["many"])
    draft = builder.add_end(draft, {"pl": "Wrócimy", "en": "Back soon"}, "q2", "equals", ["false"])
    draft = builder.add_followup(draft, 14)
    draft = builder.edit_step(draft, "q7", text={"pl": "Jak teraz?", "en": "How now?"})
    assert draft["ends"][-1] == {"text": {"pl": "Dziękujemy", "en": "Thank you"}}
    _, problems = check_flow_text(builder.flow_yaml(draft), "x.yaml")
    assert problems == []


@pytest.mark.parametrize("path", sorted(FLOWS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_template_is_a_starting_point_that_passes(path: Path) -> None:
    catalogs, _ = load_translations(path)
    draft = builder.from_yaml(path.read_text(encoding="utf-8"), "Gmina Testowa", catalogs)
    flow, problems = check_flow_text(builder.flow_yaml(draft), path.name)
    assert problems == [] and flow is not None
    assert flow.organisation == "Gmina Testowa" and len(flow.languages) == 12
    assert isinstance(draft["title"], dict) and set(draft["title"]) == set(flow.languages)
    # Without its catalogs, only the language the YAML is written in stays listed.
    bare = builder.from_yaml(path.read_text(encoding="utf-8"), "Gmina Testowa")
    flow, problems = check_flow_text(builder.flow_yaml(bare), path.name)
    assert problems == [] and flow is not None and flow.languages == [flow.default_language]


def test_option_keys_are_ascii_and_unique() -> None:
    assert builder.option_key("Street lights", []) == "street_lights"
    assert builder.option_key("Street lights", ["street_lights"]) == "street_lights_2"
    assert builder.option_key("Так", ["a"]) == "opt_2"
    assert builder.option_key("Łąka zielona i duża", []) == "laka_zielona"


def test_a_new_draft_lists_its_empty_texts_until_they_are_filled() -> None:
    draft = builder.blank("Gmina Testowa", "pl")
    assert builder.empty_texts(draft) == [
        (None, builder.EMPTY_TITLE),
        (None, builder.EMPTY_CONSENT),
        ("q1", builder.EMPTY_TEXT),
        (None, builder.EMPTY_END),
    ]
    assert builder.empty_texts(six_questions()) == []


def test_a_scale_gets_its_end_labels_and_a_text_question_its_switches() -> None:
    draft = builder.edit_step(
        six_questions(),
        "q3",
        text={"pl": "Ocena", "en": "Rating"},
        more_texts={"min_label": {"pl": "źle", "en": "bad"}, "max_label": {"pl": "dobrze"}},
    )
    assert draft["steps"][2]["min_label"] == {"pl": "źle", "en": "bad"}
    assert draft["steps"][2]["max_label"] == "dobrze"
    draft = builder.edit_step(
        draft, "q5", text={"pl": "Po co?", "en": "Why?"}, flags={"allow_voice": False}
    )
    assert draft["steps"][4]["allow_voice"] is False
    draft = builder.edit_step(
        draft, "q5", text={"pl": "Po co?", "en": "Why?"}, flags={"allow_voice": True}
    )
    assert "allow_voice" not in draft["steps"][4]  # the default is not written out
    _, problems = check_flow_text(builder.flow_yaml(draft), "x.yaml")
    assert any("max_label" in p.message for p in problems)  # no English end label


def test_a_language_taken_off_takes_its_texts_along() -> None:
    draft = builder.set_settings(
        six_questions(),
        flow_id="park-plan",
        languages=["pl"],
        default_language="pl",
        opens="",
        closes="",
        title={"pl": "Plan parku"},
        consents={"consent": {"pl": "Zgoda"}},
    )
    assert draft["steps"][0]["text"] == {"pl": "Jak często?"}
    assert "opens" not in draft
    _, problems = check_flow_text(builder.flow_yaml(draft), "x.yaml")
    assert problems == []


def test_staff_build_ideas_to_vote_on_and_a_top_three_from_menus() -> None:
    """A statements step with two seeded statements, then the top three of its ideas;
    a top three with no statements step before it is refused with a reason."""
    draft = builder.blank("Gmina Testowa", "pl")
    with pytest.raises(EditError, match="statements step before it"):
        builder.add_step(draft, "priorities")
    draft = builder.edit_step(draft, "q1", text={"pl": "Ile masz lat?"})
    draft = builder.add_step(draft, "statements")
    draft = builder.edit_step(
        draft,
        "q2",
        text={"pl": "Czy się Pan/Pani zgadza?"},
        options=[{"pl": "Więcej ławek w parku."}, {"pl": "Autobus co 15 minut."}],
        settings={"max_statements": "10"},
        flags={"allow_proposals": False},
    )
    draft = builder.add_step(draft, "priorities")
    draft = builder.edit_step(
        draft, "q3", text={"pl": "Co najpierw?"}, settings={"rank_up_to": "2"}
    )
    draft = builder.set_settings(
        draft,
        flow_id="Pomysly",
        languages=["pl"],
        default_language="pl",
        opens="2026-01-01",
        closes="2027-12-31",
        title={"pl": "Pomysły"},
        consents={"consent": {"pl": "Zgoda"}},
    )
    draft = builder.set_end(draft, 0, {"pl": "Dziękujemy"})
    flow, problems = check_flow_text(builder.flow_yaml(draft), "pomysly.yaml")
    assert problems == [] and flow is not None
    statements, top = flow.step("q2"), flow.step("q3")
    assert [o.label for o in statements.options] == [
        "Więcej ławek w parku.",
        "Autobus co 15 minut.",
    ]
    assert statements.max_statements == 10 and statements.allow_proposals is False
    assert top.ideas_from == "q2" and top.rank_up_to == 2
