"""A staff member who built a form in KoBoToolbox brings it to Konsulta as a spreadsheet.

The form's rows become a flow the loader accepts; whatever Konsulta cannot play gets
one problem naming the sheet and the row; and a bundled consultation written out as
XLSForm and read back leads every citizen through the same questions to the same end.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.conditions import holds
from dialogs.loader import load_flow
from dialogs.schema import END, Condition, Flow, Step, StepKind
from dialogs.xlsform import (
    ExportError,
    Imported,
    expression_of,
    parse_relevant,
    read_xlsform,
    write_xlsform,
)

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"

PL, UK = "label::Polski (pl)", "label::Українська (uk)"

SETTINGS = [
    ["form_title", "form_title::Українська (uk)", "form_id", "version", "default_language",
     "organisation", "consent::Polski (pl)", "consent::Українська (uk)"],
    ["Ankieta o parku", "Опитування про парк", "park_survey", 2, "Polski (pl)", "Gmina Słupsk",
     "Zapisujemy odpowiedzi, żeby ulepszyć park. /delete usuwa dane.",
     "Ми зберігаємо відповіді, щоб покращити парк. /delete видаляє дані."],
]  # fmt: skip

CHOICES = [
    ["list_name", "name", PL, UK],
    ["yes_no", "yes", "Tak", "Так"],
    ["yes_no", "no", "Nie", "Ні"],
    ["visits", "daily", "Codziennie", "Щодня"],
    ["visits", "weekly", "Co tydzień", "Щотижня"],
    ["visits", "never", "Nigdy", "Ніколи"],
    ["wishes", "benches", "Ławki", "Лавки"],
    ["wishes", "lights", "Oświetlenie", "Освітлення"],
    ["wishes", "toilets", "Toalety", "Туалети"],
]

SURVEY = [
    ["type", "name", PL, UK, "hint::Polski (pl)", "hint::Українська (uk)", "required",
     "relevant", "constraint"],
    ["start", "start", "", "", "", "", "", "", ""],
    ["note", "hello", "Dzień dobry!", "Добрий день!", "", "", "", "", ""],
    ["select_one visits", "visits", "Jak często bywasz w parku?", "Як часто ви буваєте в парку?",
     "", "", "yes", "", ""],
    ["select_one yes_no", "why_not", "Czy park jest za daleko?", "Парк задалеко?", "", "",
     "yes", "${visits} = 'never'", ""],
    ["select_multiple wishes", "wishes", "Czego brakuje?", "Чого бракує?", "Wybierz kilka",
     "Виберіть кілька", "yes", "${visits} != 'never'", "count-selected(.) <= 2"],
    ["integer", "age", "Ile masz lat?", "Скільки вам років?", "", "", "", "",
     ". >= 10 and . <= 110"],
    ["text", "bench_place", "Gdzie postawić ławkę?", "Де поставити лавку?", "", "", "",
     "selected(${wishes}, 'benches') and ${age} > 60", "string-length(.) <= 300"],
    ["date", "last_visit", "Kiedy byłeś ostatnio?", "Коли ви були востаннє?", "", "", "", "", ""],
    ["geopoint", "spot", "Pokaż miejsce", "Покажіть місце", "", "", "", "", ""],
    ["image", "photo", "Zdjęcie?", "Фото?", "", "", "", "", ""],
    ["audio", "story", "Opowiedz nam", "Розкажіть нам", "", "", "", "", ""],
    ["end", "end", "", "", "", "", "", "", ""],
    ["note", "thanks_far", "Pomyślimy o dojeździe.", "Ми подумаємо про доїзд.", "", "", "",
     "${why_not} = 'yes'", ""],
    ["note", "thanks", "Dziękujemy!", "Дякуємо!", "", "", "", "", ""],
    ["calculate", "__version__", "", "", "", "", "", "", ""],  # what KoBo adds on export
]  # fmt: skip


def workbook(
    survey: Sequence[Sequence[Any]] = SURVEY,
    choices: Sequence[Sequence[Any]] = CHOICES,
    settings: Sequence[Sequence[Any]] = SETTINGS,
) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_row(*row: Any, at: int | None = None) -> list[list[Any]]:
    """SURVEY with one more question (padded to the header), before the closing notes."""
    rows = [list(r) for r in SURVEY]
    padded = [*row, *[""] * (len(rows[0]) - len(row))]
    before_end = next(i for i, r in enumerate(rows) if r[0] == "end")
    rows.insert(at if at is not None else before_end, padded)
    return rows


def lines(imported: Imported) -> list[str]:
    return [str(problem) for problem in imported.problems]


def test_a_polish_and_ukrainian_park_survey_becomes_a_flow_the_loader_accepts() -> None:
    imported = read_xlsform(workbook(), "park.xlsx")

    assert imported.problems == []
    flow = imported.flow
    assert flow is not None
    assert (flow.id, flow.version, flow.languages, flow.default_language) == (
        "park-survey",
        2,
        ["pl", "uk"],
        "pl",
    )
    kinds = {step.id: step.kind for step in flow.steps}
    assert kinds == {
        "hello": StepKind.MESSAGE,
        "visits": StepKind.SINGLE_CHOICE,
        "why_not": StepKind.YES_NO,
        "wishes": StepKind.MULTIPLE_CHOICE,
        "age": StepKind.NUMBER,
        "bench_place": StepKind.TEXT,
        "last_visit": StepKind.DATE,
        "spot": StepKind.LOCATION,
        "photo": StepKind.PHOTO,
        "story": StepKind.VOICE,
    }
    wishes = flow.step("wishes")
    assert flow.localize(wishes.text, "uk") == "Чого бракує?"
    assert wishes.help == {"pl": "Wybierz kilka", "uk": "Виберіть кілька"}
    assert wishes.max_picks == 2 and wishes.required
    age = flow.step("age")
    assert (age.min, age.max, age.integer, age.required) == (10, 110, True, False)
    assert flow.step("bench_place").max_length == 300
    assert [end.id for end in flow.ends] == ["thanks_far", "thanks"]
    assert flow.ends[0].when is not None and flow.ends[1].when is None


def visited(flow: Flow, answers_for: dict[str, Any]) -> tuple[list[str], str]:
    """The questions a citizen is asked, and the end they read, as the engine goes:
    next rules first, else the following step."""
    answers: dict[str, Any] = {}
    path: list[str] = []
    index = 0
    while index < len(flow.steps):
        step = flow.steps[index]
        path.append(step.id)
        if step.is_question:
            answers[step.id] = answers_for[step.id]
        target: str | None = None
        for rule in step.next:
            if rule.when is None or holds(rule.when, answers):
                target = rule.goto
                break
        if target == END:
            break
        index = index + 1 if target is None else flow.step_index(target)
    end = next(e for e in flow.ends if e.when is None or holds(e.when, answers))
    return path, flow.localize(end.text, flow.default_language)


def test_relevant_conditions_lead_each_citizen_past_the_questions_not_meant_for_them() -> None:
    flow = read_xlsform(workbook()).flow
    assert flow is not None
    never = {"visits": {"value": "never"}, "why_not": {"value": True}, "age": {"value": 70}}
    often = {
        "visits": {"value": "daily"},
        "wishes": {"value": ["benches"]},
        "age": {"value": 70},
    }
    rest = {s: {"value": "x"} for s in ("bench_place", "last_visit", "spot", "photo", "story")}

    path, end = visited(flow, {**never, **rest})
    assert "wishes" not in path and "bench_place" not in path and "why_not" in path
    assert end == "Pomyślimy o dojeździe."

    path, end = visited(flow, {**often, **rest})
    assert "why_not" not in path and "bench_place" in path
    assert end == "Dziękujemy!"

    path, _ = visited(flow, {**often, "age": {"value": 30}, **rest})
    assert "bench_place" not in path


@pytest.mark.parametrize(
    ("expression", "condition"),
    [
        ("${visits} = 'never'", {"step": "visits", "equals": "never"}),
        ("${visits} != 'never'", {"not": {"step": "visits", "equals": "never"}}),
        ("${age} > 30", {"step": "age", "greater": 30}),
        ("30 < ${age}", {"step": "age", "greater": 30}),
        ("${age} <= 18", {"any": [{"step": "age", "less": 18}, {"step": "age", "equals": 18}]}),
        ("selected(${wishes}, 'lights')", {"step": "wishes", "contains": "lights"}),
        ("${age} = ''", {"not": {"answered": "age"}}),
        ("${age} != ''", {"answered": "age"}),
        (
            "not(${visits} = 'daily' or ${visits} = 'weekly')",
            {
                "not": {
                    "any": [
                        {"step": "visits", "equals": "daily"},
                        {"step": "visits", "equals": "weekly"},
                    ]
                }
            },
        ),
        (
            "${age} > 60 and (selected(${wishes}, 'benches'))",
            {"all": [{"step": "age", "greater": 60}, {"step": "wishes", "contains": "benches"}]},
        ),
        ("true()", True),
    ],
)
def test_relevant_expressions_konsulta_understands(expression: str, condition: Any) -> None:
    kinds = {
        "visits": StepKind.SINGLE_CHOICE,
        "age": StepKind.NUMBER,
        "wishes": StepKind.MULTIPLE_CHOICE,
    }
    assert parse_relevant(expression, kinds) == condition


# Each row: the survey as changed, and the one problem it must give (sheet, row, words).
UNSUPPORTED = [
    (with_row("time", "when", "Godzina", "Година"), "survey row 13",
     "type 'time' is not supported"),
    (with_row("geotrace", "route", "Trasa", "Маршрут"), "survey row 13",
     "type 'geotrace' is not supported; use geopoint"),
    (with_row("begin repeat", "kids", "Dzieci", "Діти"), "survey row 13",
     "repeats are not supported"),
    (with_row("calculate", "score", "", ""), "survey row 13", "type 'calculate' is not supported"),
    (with_row("text", "other", "Inne", "Інше", "", "", "", "${nobody} = 'x'"), "survey row 13",
     "${nobody} is not a question asked before this row"),
    (with_row("text", "other", "Inne", "Інше", "", "", "", "${story} = ${photo}"),
     "survey row 13", "'${photo}' is not supported"),
    (with_row("text", "other", "Inne", "Інше", "", "", "", "count(${wishes}) > 1"),
     "survey row 13", "'count' is not supported"),
    (with_row("text", "other", "Inne", "Інше", "", "", "", "", "regex(., '[0-9]+')"),
     "survey row 13", "constraint 'regex(., '[0-9]+')' is not supported"),
    (with_row("text", "Other", "Inne", "Інше"), "survey row 13",
     "name 'Other' is not a Konsulta id"),
    (with_row("select_one visits or_other", "again", "Znowu?", "Знову?"), "survey row 13",
     "'or_other' is not supported: add an 'other' choice and a text question with relevant "
     "selected(${again}, 'other')"),
    (with_row("select_one colours", "colour", "Kolor", "Колір"), "survey row 13",
     "list 'colours' is not on the choices sheet"),
    (with_row("text", "other", "Inne", "Інше", "", "", "${age} > 3"), "survey row 13",
     "required '${age} > 3' should be yes or no"),
    (with_row("note", "first", "Start", "Старт", "", "", "", "false()", at=1),
     "survey row 2", "the first row cannot have relevant"),
]  # fmt: skip


@pytest.mark.parametrize(("survey", "where", "words"), UNSUPPORTED)
def test_each_unsupported_feature_is_one_problem_naming_its_row(
    survey: list[list[Any]], where: str, words: str
) -> None:
    imported = read_xlsform(workbook(survey=survey))

    assert imported.flow is None
    assert len(imported.problems) == 1, lines(imported)
    assert lines(imported)[0].startswith(f"{where}: ")
    assert words in lines(imported)[0]


def test_a_range_konsulta_cannot_show_as_a_scale_asks_for_an_integer_instead() -> None:
    survey = [[*row, ""] for row in SURVEY]
    survey[0][-1] = "parameters"
    survey.insert(3, ["range", "mood", "Nastrój", "Настрій", *[""] * 5, "start=0 end=100 step=5"])

    assert lines(read_xlsform(workbook(survey=survey))) == [
        "survey row 4: type 'range' with parameters 'start=0 end=100 step=5' is not supported: "
        "a scale goes in steps of 1 over 2 to 11 whole numbers; use integer with a constraint "
        "instead"
    ]


def test_columns_konsulta_cannot_honour_are_named_on_their_row() -> None:
    survey = [[*SURVEY[0], "choice_filter", "media::image::Polski (pl)", "default"]]
    survey += [[*row, "", "", ""] for row in SURVEY[1:]]
    survey[3][-3:] = ["visits != 'x'", "park.jpg", "daily"]

    found = lines(read_xlsform(workbook(survey=survey)))

    assert found == [
        "survey row 4: a choice_filter (cascading choices) is not supported",
        "survey row 4: a default answer is not supported: a citizen gives every answer",
        "survey row 4: column 'media::image::Polski (pl)': pictures and sounds in a "
        "question are not supported",
    ]


def test_a_language_konsulta_does_not_speak_and_missing_settings_are_named() -> None:
    survey = [[*row, "Frage" if i else "label::Deutsch (de)"] for i, row in enumerate(SURVEY)]
    settings = [row[:4] for row in SETTINGS]

    found = lines(read_xlsform(workbook(survey=survey, settings=settings)))

    assert found[0].startswith("survey: column 'label::Deutsch (de)': 'de' is not one of")
    assert found[1].startswith("settings row 2: organisation is missing")
    assert found[2].startswith("settings row 2: consent is missing: add a column consent::Polski")


def test_a_question_no_citizen_can_reach_is_pointed_at_its_row_by_the_flow_check() -> None:
    survey = with_row("text", "never_asked", "Nigdy", "Ніколи", "", "", "", "false()")

    found = lines(read_xlsform(workbook(survey=survey)))

    assert found == ["survey row 13: no path from the first question leads to this step"]


def test_a_form_without_a_closing_note_is_told_to_add_one() -> None:
    found = lines(read_xlsform(workbook(survey=SURVEY[:-4])))

    assert found == [
        "survey: no closing message: add a note after the last question (the first note "
        "there whose relevant holds is the citizen's last message)"
    ]


def test_a_groups_relevant_applies_to_each_question_in_it() -> None:
    survey = [list(row) for row in SURVEY]
    survey.insert(9, ["end group", "", "", "", "", "", "", "", ""])
    survey.insert(7, ["begin group", "old", "", "", "", "", "", "${age} > 60", ""])

    flow = read_xlsform(workbook(survey=survey)).flow

    assert flow is not None
    answers = {s.id: {"value": "x"} for s in flow.questions}
    young = {**answers, "visits": {"value": "daily"}, "age": {"value": 20}}
    old = {**young, "age": {"value": 70}, "wishes": {"value": ["benches"]}}
    assert "last_visit" not in visited(flow, young)[0]
    assert "last_visit" in visited(flow, old)[0] and "bench_place" in visited(flow, old)[0]


def test_a_sheet_longer_than_any_consultation_is_refused_unread() -> None:
    survey = [*SURVEY[:-2], *[["text", f"q{i}", "?"] for i in range(2100)], *SURVEY[-2:]]

    assert lines(read_xlsform(workbook(survey=survey))) == [
        "survey: the sheet has more than 2000 rows"
    ]


def test_a_file_that_is_not_a_workbook_is_refused_in_one_line() -> None:
    assert lines(read_xlsform(b"id: not-a-workbook\n")) == ["form: not an .xlsx workbook"]


def random_answers(steps: Sequence[Step], rng: random.Random) -> dict[str, Any]:
    """An answer of the right shape for every question (or a skip where allowed)."""
    answers: dict[str, Any] = {}
    for step in steps:
        keys = [o.key for o in step.options]
        value: Any
        if step.kind is StepKind.SINGLE_CHOICE:
            value = rng.choice(keys)
        elif step.kind in {StepKind.MULTIPLE_CHOICE, StepKind.RANKING}:
            value = rng.sample(keys, rng.randint(1, len(keys)))
        elif step.kind is StepKind.YES_NO:
            value = rng.random() < 0.5
        elif step.kind in {StepKind.NUMBER, StepKind.SCALE}:
            value = rng.randint(int(step.min or 0), int(step.max or 100))
        else:
            value = "answer"
        skipped = not step.required and rng.random() < 0.2
        answers[step.id] = {"value": None if skipped else value, "skipped": skipped}
    return answers


#: Statements and priorities steps have no XLSForm equivalent (see the test below).
NOT_XLSFORM = {"what-first.yaml"}


@pytest.mark.parametrize(
    "name", sorted(p.name for p in FLOWS.glob("*.yaml") if p.name not in NOT_XLSFORM)
)
def test_a_bundled_consultation_round_trips_through_xlsform(name: str) -> None:
    original = load_flow(FLOWS / name)
    data, left_out = write_xlsform(original)
    imported = read_xlsform(data, name.replace(".yaml", ".xlsx"))

    assert imported.problems == []
    copy = imported.flow
    assert copy is not None
    assert len(left_out) == len(original.followups)
    assert [(s.id, s.kind, s.required) for s in copy.steps] == [
        (s.id, s.kind, s.required) for s in original.steps
    ]
    for language in original.languages:
        for (where, text), (where_copy, text_copy) in zip(
            [t for t in original.flow_texts() if "." not in t[0].split(":")[0]],
            copy.flow_texts(),
            strict=False,
        ):
            assert where_copy == where or where.startswith("end ")
            assert copy.localize(text_copy, language) == original.localize(text, language)
    rng = random.Random(name)
    for _ in range(400):
        answers = random_answers(original.questions, rng)
        assert visited(copy, answers) == visited(original, answers)


# --- relevant expressions written and read back: the same answer for every citizen ----

KINDS = {
    "visits": StepKind.SINGLE_CHOICE,
    "wishes": StepKind.MULTIPLE_CHOICE,
    "age": StepKind.NUMBER,
    "far": StepKind.YES_NO,
    "story": StepKind.TEXT,
}
KEYS = ["daily", "weekly", "never"]

comparisons = st.one_of(
    st.builds(lambda k: {"step": "visits", "equals": k}, st.sampled_from(KEYS)),
    st.builds(lambda ks: {"step": "visits", "in": ks}, st.lists(st.sampled_from(KEYS), min_size=1)),
    st.builds(lambda k: {"step": "wishes", "contains": k}, st.sampled_from(KEYS)),
    st.builds(lambda n: {"step": "age", "greater": n}, st.integers(0, 100)),
    st.builds(lambda n: {"step": "age", "less": n}, st.integers(0, 100)),
    st.builds(lambda n: {"step": "age", "equals": n}, st.integers(0, 100)),
    st.builds(lambda b: {"step": "far", "equals": b}, st.booleans()),
    st.builds(lambda w: {"step": "story", "contains": w}, st.sampled_from(["park", "bench"])),
    st.builds(lambda s: {"answered": s}, st.sampled_from(sorted(KINDS))),
)
conditions = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=6,
)
answer_sets = st.fixed_dictionaries(
    {},
    optional={
        "visits": st.builds(lambda v: {"value": v}, st.sampled_from(KEYS)),
        "wishes": st.builds(lambda v: {"value": v}, st.lists(st.sampled_from(KEYS), unique=True)),
        "age": st.builds(lambda v: {"value": v}, st.integers(0, 100)),
        "far": st.builds(lambda v: {"value": v}, st.booleans()),
        "story": st.builds(lambda v: {"value": v}, st.sampled_from(["a park", "Bench", ""])),
    },
)


@settings(max_examples=300, deadline=None)
@given(condition=conditions, answers=answer_sets)
def test_a_condition_written_as_relevant_and_read_back_holds_for_the_same_answers(
    condition: dict[str, Any], answers: dict[str, Any]
) -> None:
    expression = expression_of(condition, KINDS)
    back = parse_relevant(expression, KINDS)

    expected = holds(Condition.model_validate(condition), answers)
    found = back if isinstance(back, bool) else holds(Condition.model_validate(back), answers)
    assert found == expected, expression


def test_a_consultation_of_statements_is_not_exported_and_says_which_step_why() -> None:
    with pytest.raises(ExportError) as refused:
        write_xlsform(load_flow(FLOWS / "what-first.yaml"))
    assert "ideas: a statements step has no XLSForm equivalent" in str(refused.value)
    assert "top: a priorities step has no XLSForm equivalent" in str(refused.value)
