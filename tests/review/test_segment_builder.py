"""The broadcast form's rows become segment JSON (review/segment_builder.py): staff pick
conditions from menus, never type JSON, and whatever the rows say the segment stays
inside this consultation's participants and is one `parse_segment` accepts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from konsulta.publishing import read_flow
from review.segment_builder import (
    MAX_ROWS,
    Builder,
    BuilderChoices,
    Combinator,
    Operator,
    Row,
    RowKind,
    builder_choices,
    rows_from_form,
    rows_of,
    segment_of,
)
from storage.segments import parse_segment
from tests.review.conftest import FLOW_A

FLOW, _YAML = read_flow(FLOW_A)
CHOICES = builder_choices(
    FLOW, "pl", lambda yes: "Tak" if yes else "Nie", [(7, "Seniors' club"), (9, "Youth")]
)


def _form(**fields: str | list[str]) -> FormData:
    items: list[tuple[str, str]] = []
    for key, value in fields.items():
        name = key.replace("_", "-") if key.startswith("row_") else key
        for one in [value] if isinstance(value, str) else value:
            items.append((name, one))
    return FormData(items)


def test_the_menus_offer_the_choice_questions_in_the_staffs_language() -> None:
    steps = [q.step for q in CHOICES.questions]
    assert steps == ["district", "satisfaction", "stairs"]  # no free text, list or number
    district = CHOICES.question("district")
    assert district is not None
    assert [label for _k, _v, label in district.options] == ["Północ", "Południe"]
    stairs = CHOICES.question("stairs")
    assert stairs is not None and [v for _k, v, _l in stairs.options] == [True, False]
    # A staff language the flow lacks: the flow's default.
    german = builder_choices(FLOW, "de", lambda yes: "Ja" if yes else "Nein")
    first = german.questions[0]
    assert first.text == "Which district do you live in?"
    assert first.options[0][2] == "North"


def test_rows_from_the_form_become_one_segment_within_the_consultation() -> None:
    form = _form(
        match="all",
        row_0_kind="answer",
        row_0_step="district",
        row_0_op="is",
        row_0_value="district:north",
        row_1_kind="language",
        row_1_language=["pl", "xx"],
        row_2_kind="finished",
        row_2_not="1",
        row_3_kind="community",
        row_3_community="7",
    )
    builder = rows_from_form(form)
    assert len(builder.rows) == 4
    assert segment_of("park-survey", builder, CHOICES) == {
        "all": [
            {"consultation": "park-survey"},
            {"answer": {"consultation": "park-survey", "step": "district", "equals": "north"}},
            {"language": ["pl"]},  # a language the consultation does not offer is dropped
            {"not": {"consultation": "park-survey", "completed": True}},
            {"community": 7},
        ]
    }


def test_any_of_the_rows_and_the_answer_operators() -> None:
    rows = (
        Row(RowKind.ANSWER, step="satisfaction", operator=Operator.ONE_OF,
            values=("satisfaction:4", "satisfaction:5")),
        Row(RowKind.ANSWER, step="stairs", operator=Operator.IS_NOT, values=("stairs:yes",)),
        Row(RowKind.NEVER_ANSWERED),
    )  # fmt: skip
    segment = segment_of("park-survey", Builder(Combinator.ANY, rows), CHOICES)
    assert segment == {
        "all": [
            {"consultation": "park-survey"},
            {
                "any": [
                    {"answer": {"consultation": "park-survey", "step": "satisfaction",
                                "in": [4, 5]}},
                    # "is not yes": answered, and something else
                    {"answer": {"consultation": "park-survey", "step": "stairs", "equals": False}},
                    {"never_answered": True},
                ]
            },
        ]
    }  # fmt: skip
    parse_segment(segment)


def test_incomplete_rows_and_things_the_menus_do_not_offer_are_left_out() -> None:
    rows = (
        Row(RowKind.ANSWER, step="district"),  # no option picked
        Row(RowKind.ANSWER, step="idea", values=("idea:x",)),  # a free-text question
        Row(RowKind.ANSWER, step="district", values=("stairs:yes",)),  # another's option
        Row(RowKind.COMMUNITY, community=3),  # not the organisation's community
        Row(RowKind.LANGUAGE),
        Row(),
    )
    assert segment_of("park-survey", Builder(Combinator.ANY, rows), CHOICES) == {
        "all": [{"consultation": "park-survey"}]
    }
    # Every option excluded by "is not": nobody, still a valid segment.
    nobody = Row(
        RowKind.ANSWER, step="stairs", operator=Operator.IS_NOT, values=("stairs:yes", "stairs:no")
    )
    segment = segment_of("park-survey", Builder(rows=(nobody,)), CHOICES)
    assert segment["all"][1] == {"not": {"everyone": True}}
    parse_segment(segment)


def test_garbage_in_the_form_becomes_blanks_never_errors() -> None:
    builder = rows_from_form(
        _form(match="none", row_0_kind="drop table", row_0_op="~", row_0_community="-1")
    )
    assert builder.combinator is Combinator.ALL
    assert builder.rows == ()
    assert rows_from_form(_form(**{f"row_{MAX_ROWS + 3}_kind": "finished"})).rows == ()


_keys = st.sampled_from(
    ["", "district", "stairs", "satisfaction", "idea", "district:north", "district:south",
     "stairs:yes", "stairs:no", "satisfaction:1", "satisfaction:5", "pl", "en", "xx", "7",
     "9", "3", "one_of", "is", "is_not", "1", "any", "all"]
)  # fmt: skip
_row = st.builds(
    Row,
    kind=st.sampled_from(list(RowKind)),
    negate=st.booleans(),
    step=st.one_of(_keys, st.text(max_size=5)),
    operator=st.sampled_from(list(Operator)),
    values=st.tuples(_keys, _keys),
    languages=st.tuples(_keys, st.text(max_size=3)),
    community=st.one_of(st.none(), st.integers(min_value=-2, max_value=12)),
)


@given(rows=st.lists(_row, max_size=6), combinator=st.sampled_from(list(Combinator)))
def test_any_rows_make_a_segment_parse_segment_accepts_within_the_consultation(
    rows: list[Row], combinator: Combinator
) -> None:
    segment: dict[str, Any] = segment_of("park-survey", Builder(combinator, tuple(rows)), CHOICES)
    parsed = parse_segment(segment)
    assert parsed.all is not None and parsed.all[0].consultation == "park-survey"
    assert parsed.consultations() <= {"park-survey"}


@given(
    fields=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "match",
                    *(
                        f"row-{n}-{part}"
                        for n in (0, 1, 2)
                        for part in ("kind", "not", "step", "op", "value", "language", "community")
                    ),
                ]
            ),
            st.one_of(_keys, st.sampled_from([k.value for k in RowKind]), st.text(max_size=8)),
        ),
        max_size=20,
    )
)
def test_any_posted_form_makes_a_valid_segment(fields: list[tuple[str, str]]) -> None:
    segment = segment_of("park-survey", rows_from_form(FormData(fields)), CHOICES)
    assert parse_segment(segment).consultations() <= {"park-survey"}


def test_no_communities_no_community_rows() -> None:
    bare = BuilderChoices(CHOICES.questions, CHOICES.languages, ())
    row = Row(RowKind.COMMUNITY, community=7)
    assert segment_of("park-survey", Builder(rows=(row,)), bare) == {
        "all": [{"consultation": "park-survey"}]
    }


def test_is_with_several_options_picked_reads_as_is_one_of() -> None:
    row = Row(RowKind.ANSWER, step="district", values=("district:south", "district:north"))
    assert segment_of("park-survey", Builder(rows=(row,)), CHOICES)["all"][1] == {
        "answer": {"consultation": "park-survey", "step": "district", "in": ["north", "south"]}
    }


@given(rows=st.lists(_row, max_size=6), combinator=st.sampled_from(list(Combinator)))
def test_a_segment_the_rows_made_reads_back_as_rows_that_make_it_again(
    rows: list[Row], combinator: Combinator
) -> None:
    segment = segment_of("park-survey", Builder(combinator, tuple(rows)), CHOICES)
    back = rows_of(segment, "park-survey", CHOICES)
    if '"everyone"' in json.dumps(segment):  # "is not" every option: nobody, no row says it
        return
    assert back is not None
    assert segment_of("park-survey", back, CHOICES) == segment


def test_the_older_forms_segments_read_as_rows_and_others_do_not() -> None:
    finished = rows_of({"consultation": "park-survey", "completed": True}, "park-survey", CHOICES)
    assert finished == Builder(rows=(Row(RowKind.FINISHED),))
    older = {"all": [{"consultation": "park-survey", "completed": True}, {"language": ["pl"]}]}
    assert rows_of(older, "park-survey", CHOICES) == Builder(
        rows=(Row(RowKind.FINISHED), Row(RowKind.LANGUAGE, languages=("pl",)))
    )
    assert rows_of({"consultation": "park-survey"}, "park-survey", CHOICES) == Builder()
    for foreign in (
        {"everyone": True},
        {"all": [{"language": ["pl"]}]},  # not within the consultation
        {"all": [{"consultation": "park-survey"}, {"leader": 3}]},
        {"all": [{"consultation": "park-survey"},
                 {"answer": {"step": "district", "equals": "north"}}]},  # any consultation
    ):  # fmt: skip
        assert rows_of(foreign, "park-survey", CHOICES) is None, foreign
