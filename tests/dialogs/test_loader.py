"""A staff member writes a flow with a mistake; the loader says exactly where and what.

Each file in broken_flows/ has one mistake. The message a staff member reads is
asserted word for word, because it is the loader's whole user interface.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.loader import (
    FlowError,
    Problem,
    check_dir,
    check_flow_file,
    check_flow_text,
    load_flow,
    load_flow_text,
    load_translations,
)

BROKEN = Path(__file__).parent / "broken_flows"

EXPECTED = {
    "bad-yaml.yaml": "bad-yaml.yaml: YAML syntax error on line 13: "
    "expected the node content, but found '-'",
    "not-a-mapping.yaml": "not-a-mapping.yaml: the file should be a mapping "
    "(id: ..., steps: ...), not a list",
    "bad-date.yaml": "bad-date.yaml: a value cannot be read: day is out of range for month",
    "missing-id.yaml": "missing-id.yaml:step #2: id is missing",
    "wrong-kind.yaml": "wrong-kind.yaml:note: kind 'essay' is not one of 'message', "
    "'single_choice', 'multiple_choice', 'text', 'number', 'scale', 'yes_no', 'date', "
    "'location', 'photo', 'voice', 'contact', 'ranking', 'statements' or 'priorities'",
    "unknown-field.yaml": "unknown-field.yaml:age: unknown field 'optionz' "
    "(did you mean 'options'?)",
    "title-not-text.yaml": "title-not-text.yaml: title should be text or texts by language "
    "(pl: ..., en: ...)",
    "choice-without-options.yaml": "choice-without-options.yaml:age: "
    "a single_choice step needs at least two options",
    "min-greater-than-max.yaml": "min-greater-than-max.yaml:years: min is greater than max",
    "condition-two-operators.yaml": "condition-two-operators.yaml:age: next rule 1 > when: "
    "a condition needs exactly one of equals, in, contains, greater, less, answered, "
    "skipped, all, any, not (found: equals, in)",
    "unknown-goto.yaml": "unknown-goto.yaml:age: goto 'notes' is neither a step of this "
    "dialog nor 'end' (did you mean 'note'?)",
    "unreachable-step.yaml": "unreachable-step.yaml:note: "
    "no path from the first question leads to this step",
    "endless-loop.yaml": "endless-loop.yaml:age: endless loop: no way to the end from age, note",
    "duplicate-id.yaml": "duplicate-id.yaml:note: step id 'note' is used twice (also step #2)",
    "followup-duplicate-id.yaml": "followup-duplicate-id.yaml:check.fixed: "
    "step id 'fixed' is used twice (also step #1)",
    "condition-on-later-step.yaml": "condition-on-later-step.yaml:age: next rule 1: "
    "condition reads 'note', which is asked later",
    "condition-on-message.yaml": "condition-on-message.yaml:hello: next rule 1: "
    "condition reads 'hello', a message step with no answer",
    "equals-not-an-option.yaml": "equals-not-an-option.yaml:age: next rule 1: "
    "'age' has no option 'middle' (options: young, old)",
    "greater-on-choice.yaml": "greater-on-choice.yaml:age: next rule 1: "
    "'greater' needs a number or scale step, 'age' is single_choice",
    "language-missing.yaml": "language-missing.yaml:age: option old has no 'en' version",
    "placeholder-unknown-step.yaml": "placeholder-unknown-step.yaml:note: "
    "text shows {{agee}}, which is not a step (did you mean 'age'?)",
    "placeholder-later-step.yaml": "placeholder-later-step.yaml:age: "
    "text shows {{note}} before that question is asked",
    "contact-without-consent.yaml": "contact-without-consent.yaml:phone: "
    "a contact step needs contact_consent in the flow (why we ask, who sees it)",
    "no-default-end.yaml": "no-default-end.yaml: end 1: the last end message has a 'when'; "
    "add one without 'when' so every citizen gets an end message",
    "label-too-long.yaml": "label-too-long.yaml:age: option young has 76 characters; "
    "a button allows 64",
}

VALID = """\
id: visit
version: 1
title: Wizyta
organisation: Spółdzielnia
languages: [pl]
default_language: pl
consent: Czy się zgadzasz?
steps:
  - id: visit
    kind: yes_no
    text: Czy chcesz wizyty?
ends:
  - text: Dziękujemy!
"""


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_flow_names_file_step_and_problem(name: str) -> None:
    flow, problems = check_flow_file(BROKEN / name)
    assert [str(p) for p in problems] == [EXPECTED[name]]
    assert flow is None or flow.id == "broken"
    with pytest.raises(FlowError) as raised:
        load_flow(BROKEN / name)
    assert str(raised.value) == EXPECTED[name]


def test_every_broken_flow_file_has_an_expected_message() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


def test_check_dir_reports_every_file() -> None:
    assert sorted(str(p) for p in check_dir(BROKEN)) == sorted(EXPECTED.values())


def test_problem_reads_file_step_message() -> None:
    assert str(Problem("a.yaml", "age", "oops")) == "a.yaml:age: oops"
    assert str(Problem("a.yaml", None, "oops")) == "a.yaml: oops"


def test_all_problems_are_reported_at_once() -> None:
    text = VALID.replace(
        "    text: Czy chcesz wizyty?\n",
        "    text: Czy chcesz wizyty, {{name}}?\n"
        "    next:\n      - {when: {step: visit, greater: 2}, goto: nowhere}\n"
        "  - id: phone\n    kind: contact\n    text: Numer?\n",
    )
    with pytest.raises(FlowError) as raised:
        load_flow_text(text, "many.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "many.yaml:visit: goto 'nowhere' is neither a step of this dialog nor 'end'",
        "many.yaml:visit: next rule 1: 'greater' needs a number or scale step, 'visit' is yes_no",
        "many.yaml:visit: text shows {{name}}, which is not a step",
        "many.yaml:phone: a contact step needs contact_consent in the flow "
        "(why we ask, who sees it)",
    ]


def test_schema_errors_name_the_step_and_field_in_plain_words() -> None:
    text = VALID.replace(
        "    text: Czy chcesz wizyty?\n",
        "    text: Czy chcesz wizyty?\n    required: maybe\n"
        "  - id: Bad Id\n    kind: number\n    text: Ile?\n    min: lots\n",
    )
    _, problems = check_flow_text(text, "e.yaml")
    assert [str(p) for p in problems] == [
        "e.yaml:visit: required should be true or false, not 'maybe'",
        "e.yaml:step #2: id 'Bad Id' is not a valid id: use a-z, 0-9 and _, "
        "start with a letter, at most 24",
        "e.yaml:step #2: min should be a number, not 'lots'",
    ]


def test_a_valid_flow_loads_from_file_and_from_stored_text(tmp_path: Path) -> None:
    path = tmp_path / "visit.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_flow(path) == load_flow_text(VALID, "published version 3")
    assert check_flow_file(path)[1] == []


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    flow, problems = check_flow_file(tmp_path / "gone.yaml")
    assert flow is None
    assert [str(p) for p in problems] == [
        "gone.yaml: cannot read the file: No such file or directory"
    ]


def test_followup_may_show_and_test_answers_of_the_main_dialog() -> None:
    text = VALID + (
        "followups:\n"
        "  - id: later\n"
        "    after_days: 14\n"
        "    when: {step: visit, equals: true}\n"
        "    steps:\n"
        "      - id: came\n"
        "        kind: yes_no\n"
        "        text: Chciałeś wizyty ({{visit}}). Czy ktoś przyszedł?\n"
        "        next:\n"
        "          - {when: {step: came, equals: false}, goto: sorry}\n"
        "          - {goto: end}\n"
        "      - id: sorry\n"
        "        kind: message\n"
        "        text: Przepraszamy, {{came}}!\n"
    )
    assert load_flow_text(text, "f.yaml").followups[0].id == "later"


# --- gettext translations of a flow ---------------------------------------------------

PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Wizyta"
msgstr "{title}"

msgid "Czy się zgadzasz?"
msgstr "Do you agree?"

msgid "Czy chcesz wizyty?"
msgstr "Would you like a visit?"

#, fuzzy
msgid "Dziękujemy!"
msgstr "Thanks!"
"""


def write_flow_with_catalogs(tmp_path: Path) -> Path:
    path = tmp_path / "visit.yaml"
    path.write_text(VALID.replace("languages: [pl]", "languages: [pl, en]"), encoding="utf-8")
    (tmp_path / "locales").mkdir()
    (tmp_path / "locales" / "en.po").write_text(PO.format(title="Shared"), encoding="utf-8")
    (tmp_path / "visit.locales").mkdir()
    (tmp_path / "visit.locales" / "en.po").write_text(PO.format(title="Visit"), "utf-8")
    return path


def test_translations_come_from_po_files_next_to_the_flow(tmp_path: Path) -> None:
    path = write_flow_with_catalogs(tmp_path)
    catalogs, problems = load_translations(path)
    assert problems == []
    assert catalogs == {
        "en": {
            "Wizyta": "Visit",  # the flow's own catalog wins over the shared one
            "Czy się zgadzasz?": "Do you agree?",
            "Czy chcesz wizyty?": "Would you like a visit?",
        }
    }


def test_a_fuzzy_translation_does_not_count(tmp_path: Path) -> None:
    path = write_flow_with_catalogs(tmp_path)
    flow, problems = check_flow_file(path)
    assert [str(p) for p in problems] == ["visit.yaml: end 1 has no 'en' version"]
    assert flow is not None
    assert flow.localize(flow.steps[0].text, "en") == "Would you like a visit?"
    assert flow.localize(flow.ends[0].text, "en") == "Dziękujemy!"


def billion_laughs(levels: int) -> str:
    """A few hundred bytes that expand to 9**levels strings if aliases are followed."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_pasted_on_the_dashboard_is_refused_before_it_expands() -> None:
    bomb = billion_laughs(9)
    assert len(bomb) < 1000
    flow, problems = check_flow_text(bomb, "bomb.yaml")
    assert flow is None
    assert [str(p) for p in problems] == [
        "bomb.yaml: the file expands to more than 50000 values "
        "(too many nested &anchors and *aliases?)"
    ]


def test_yaml_nested_past_forty_levels_or_aliasing_itself_is_refused() -> None:
    deep = "id: " + "[" * 60 + "]" * 60
    assert [str(p) for p in check_flow_text(deep, "deep.yaml")[1]] == [
        "deep.yaml: the file is nested more than 40 levels deep"
    ]
    assert check_flow_text("steps: &s [*s]", "loop.yaml")[0] is None


def test_an_anchor_used_for_a_repeated_text_still_works() -> None:
    text = VALID.replace("title: Wizyta", "title: &title Wizyta\ndescription: *title")
    flow, problems = check_flow_text(text, "anchors.yaml")
    assert problems == []
    assert flow is not None and flow.description == flow.title


def test_phone_region_must_be_a_country_whose_numbers_can_be_read() -> None:
    flow, problems = check_flow_text(VALID + "phone_region: UA\n", "ua.yaml")
    assert problems == [] and flow is not None and flow.phone_region == "UA"
    _, problems = check_flow_text(VALID + "phone_region: XX\n", "xx.yaml")
    assert [str(p) for p in problems] == ["xx.yaml: phone_region 'XX' is not a country code"]
