"""How citizen input is read: numbers, dates, texts, choices, yes/no, and the hints."""

from __future__ import annotations

import datetime as dt
import gettext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.answers import (
    Accepted,
    Choice,
    Problem,
    check_picks,
    contact_answer,
    explain,
    finish_ranking,
    location_answer,
    match_option,
    parse_date,
    parse_multiple_choice,
    parse_number,
    parse_phone,
    parse_ranking,
    parse_scale,
    parse_text,
    parse_yes_no,
)
from dialogs.render import fill, render

TEXTS = gettext.NullTranslations()
TRANSPORT = [Choice("bus", "Bus", "🚌"), Choice("walk", "On foot"), Choice("car", "Car")]


POLISH = {"yes": "tak", "no": "nie", "Yes": "Tak", "No": "Nie"}


class Polish(gettext.NullTranslations):
    """A tiny catalog, enough for yes/no in Polish."""

    def gettext(self, message: str) -> str:
        return POLISH.get(message, message)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("72", 72), ("+5", 5), ("-3", -3), ("1 000", 1000), ("2.0", 2), ("٧٢", 72)],
)
def test_whole_numbers_are_read_as_ints(typed, value):
    parsed = parse_number(typed)
    assert parsed == Accepted(value, str(value))
    assert type(parsed.value) is int


@pytest.mark.parametrize("typed", ["1,5", "1.5", " 1,5 "])
def test_decimal_comma_and_point_both_work(typed):
    assert parse_number(typed, integer=False) == Accepted(1.5, "1.5")


@pytest.mark.parametrize(
    "typed",
    ["", "abc", "1,5", "1e5", "nan", "inf", "1,2,3", "1" * 40, "--1", "30 or 40 years", "x30"],
)
def test_things_that_are_not_whole_numbers_are_refused(typed):
    assert isinstance(parse_number(typed), Problem)


def test_bounds_are_respected():
    assert isinstance(parse_number("49", minimum=50, maximum=120), Problem)
    assert isinstance(parse_number("121", minimum=50, maximum=120), Problem)
    assert parse_number("120", minimum=50, maximum=120) == Accepted(120, "120")
    assert parse_number("0.5", minimum=0, integer=False) == Accepted(0.5, "0.5")


@pytest.mark.parametrize(
    ("low", "high", "whole", "hint"),
    [
        (50, 120, True, "Please send a whole number between 50 and 120."),
        (0.5, 2.5, False, "Please send a number between 0.5 and 2.5."),
        (0, None, True, "Please send a whole number of at least 0."),
        (None, 10, False, "Please send a number no greater than 10."),
        (None, None, True, "Please send a whole number, for example 12."),
    ],
)
def test_number_hints_name_the_bounds(low, high, whole, hint):
    problem = parse_number("x", minimum=low, maximum=high, integer=whole)
    assert isinstance(problem, Problem)
    assert explain(problem, TEXTS) == hint


@pytest.mark.parametrize(
    "typed", ["7.12.2026", "07/12/2026", "2026-12-07", "7-12-2026", "7.12.2026."]
)
def test_dates_are_read_day_first_or_iso(typed):
    assert parse_date(typed) == Accepted("2026-12-07", "7.12.2026")


@pytest.mark.parametrize("typed", ["31.02.2026", "12/31/2026", "tomorrow", "7.12.26", ""])
def test_impossible_or_unclear_dates_are_refused(typed):
    problem = parse_date(typed)
    assert isinstance(problem, Problem)
    assert (
        explain(problem, TEXTS) == "Please send a date as day.month.year, for example 31.12.2026."
    )


def test_date_bounds_and_their_hint():
    problem = parse_date("1.1.2020", earliest=dt.date(2024, 1, 1), latest=dt.date(2026, 12, 31))
    assert isinstance(problem, Problem)
    assert explain(problem, TEXTS) == (
        "Please send a date between 1.1.2024 and 31.12.2026, for example 31.12.2026."
    )


def test_text_is_stripped_and_must_not_be_empty():
    assert parse_text("  The lift is broken \n") == Accepted(
        "The lift is broken", "The lift is broken"
    )
    empty = parse_text("   ", voice=True)
    assert isinstance(empty, Problem)
    assert explain(empty, TEXTS) == "Please type your answer as text, or send a voice note."
    assert explain(parse_text(""), TEXTS) == "Please type your answer as text."


def test_text_length_limits_use_plural_hints():
    short = parse_text("ok", min_length=3)
    assert isinstance(short, Problem)
    assert explain(short, TEXTS) == "Please write at least 3 characters."
    long = parse_text("abc", max_length=1)
    assert isinstance(long, Problem)
    assert explain(long, TEXTS) == "Please keep your answer to 1 character or fewer."


def test_an_option_can_be_typed_by_label_emoji_label_or_number():
    assert match_option("bus", TRANSPORT) == "bus"
    assert match_option("🚌 BUS", TRANSPORT) == "bus"
    assert match_option("on   foot", TRANSPORT) == "walk"
    assert match_option("3", TRANSPORT) == "car"
    assert match_option("4", TRANSPORT) is None
    assert match_option("0", TRANSPORT) is None
    assert match_option("", TRANSPORT) is None


def test_a_label_that_is_a_number_wins_over_position():
    choices = [Choice("one", "2"), Choice("two", "1")]
    assert match_option("2", choices) == "one"


def test_multiple_choice_typed_and_checked():
    parsed = parse_multiple_choice("3, 1", TRANSPORT, min_picks=1, max_picks=None)
    assert parsed == Accepted(["bus", "car"], "Bus, Car")
    assert parse_multiple_choice("1 2", TRANSPORT, min_picks=1, max_picks=None) == Accepted(
        ["bus", "walk"], "Bus, On foot"
    )
    assert parse_multiple_choice("on foot; car", TRANSPORT, min_picks=1, max_picks=2).value == [
        "walk",
        "car",
    ]
    too_many = parse_multiple_choice("1,2,3", TRANSPORT, min_picks=1, max_picks=2)
    assert too_many == Problem("picks_max", {"n": 2})
    assert isinstance(
        parse_multiple_choice("1, 9", TRANSPORT, min_picks=1, max_picks=None), Problem
    )
    assert explain(Problem("picks"), TEXTS) == "Please tap the options that apply, then tap “Done”."


def test_picks_below_the_minimum_are_refused():
    assert check_picks([], TRANSPORT, min_picks=1, max_picks=None) == Problem("picks_min", {"n": 1})
    assert check_picks([], TRANSPORT, min_picks=0, max_picks=None) == Accepted([], "")


def test_ranking_completes_itself_when_one_option_is_left():
    assert finish_ranking(["car"], TRANSPORT, 3) is None
    assert finish_ranking(["car", "bus"], TRANSPORT, 3) == Accepted(
        ["car", "bus", "walk"], "1. Car, 2. Bus, 3. On foot"
    )
    assert finish_ranking(["car"], TRANSPORT, 1) == Accepted(["car"], "1. Car")


def test_typed_rankings_need_distinct_options():
    assert parse_ranking("3,1,2", TRANSPORT, up_to=3).value == ["car", "bus", "walk"]
    assert parse_ranking("3 1", TRANSPORT, up_to=3).value == ["car", "bus", "walk"]
    assert isinstance(parse_ranking("1,1", TRANSPORT, up_to=3), Problem)
    assert isinstance(parse_ranking("1", TRANSPORT, up_to=3), Problem)
    assert isinstance(parse_ranking("1,2,3", TRANSPORT, up_to=2), Problem)


def test_scale_takes_whole_numbers_in_range():
    assert parse_scale("4", minimum=1, maximum=5) == Accepted(4, "4")
    problem = parse_scale("6", minimum=1, maximum=5)
    assert isinstance(problem, Problem)
    assert explain(problem, TEXTS) == "Please choose a number from 1 to 5."


def test_a_polish_senior_can_type_tak_or_nie():
    polish = Polish()
    assert parse_yes_no("Tak!", polish) == Accepted(True, "Tak")
    assert parse_yes_no("nie", polish) == Accepted(False, "Nie")
    assert parse_yes_no("yes", polish).value is True
    assert parse_yes_no("2", polish).value is False
    assert isinstance(parse_yes_no("może", polish), Problem)


def test_locations_must_be_real_places_on_earth():
    assert location_answer(52.2297, 21.0122) == Accepted(
        {"lat": 52.2297, "lon": 21.0122}, "52.22970, 21.01220"
    )
    for lat, lon in [(float("nan"), 0), (0, float("-inf")), (-90.5, 0), (0, 181)]:
        assert isinstance(location_answer(lat, lon), Problem)


def test_only_ones_own_contact_is_taken():
    assert contact_answer(" +48600 ", own=True) == Accepted({"phone": "+48600"}, "+48600")
    assert contact_answer("+48600", own=False) == Problem("contact")


def test_a_shared_contact_is_stored_in_e164_when_it_is_a_valid_number():
    # Telegram often shares the verified number without its "+".
    expected = Accepted({"phone": "+48600123456"}, "+48600123456")
    assert contact_answer("48600123456", own=True) == expected
    assert contact_answer("+48 600 123 456", own=True) == expected


@pytest.mark.parametrize(
    "typed", ["600 123 456", "600-123-456", "+48 600 123 456", "0048600123456", " 600123456 "]
)
def test_a_typed_polish_number_is_stored_in_e164(typed):
    assert parse_phone(typed) == Accepted({"phone": "+48600123456"}, "+48600123456")


def test_a_typed_number_is_dialled_from_the_flows_region():
    assert parse_phone("067 123 4567", region="UA").value == {"phone": "+380671234567"}
    assert parse_phone("+48 600 123 456", region="UA").value == {"phone": "+48600123456"}


@pytest.mark.parametrize("typed", ["abc", "123", "600 123 456 789", "+48 600", "", "9" * 200])
def test_what_is_not_a_phone_number_gets_a_hint_with_an_example(typed):
    problem = parse_phone(typed)
    assert problem == Problem("phone", {"example": "512 345 678"})
    assert "512 345 678" in explain(problem, TEXTS)


@given(st.text())
def test_parsers_never_raise_on_any_text(text):
    parse_number(text)
    parse_number(text, minimum=0, maximum=1, integer=False)
    parse_date(text)
    parse_text(text, min_length=2, max_length=5)
    parse_multiple_choice(text, TRANSPORT, min_picks=1, max_picks=2)
    parse_ranking(text, TRANSPORT, up_to=2)
    parse_yes_no(text, TEXTS)
    parse_phone(text)


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=6))
def test_numbers_in_any_script_parse_as_ints(text):
    assert isinstance(parse_number(text).value, int)


class BrokenCatalog(gettext.NullTranslations):
    """A translator slipped: the placeholder names do not match the msgid."""

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return "Napisz co najmniej {liczba} znaki ({n}) {0.__class__}"


def test_a_translation_with_a_broken_placeholder_still_gives_a_hint():
    hint = explain(Problem("text_short", {"n": 3}), BrokenCatalog())
    assert hint == "Napisz co najmniej {liczba} znaki (3) {0.__class__}"


def test_placeholders_show_earlier_answers_and_nothing_else():
    answers = {"age": {"value": 72, "display": "72", "skipped": False}, "odd": "not a record"}
    assert render("You are {{age}} ({{ age }}).", answers) == "You are 72 (72)."
    assert render("{{missing}}{{odd}}|{{}}|{0}|{{AGE}}", answers) == "|{{}}|{0}|{{AGE}}"
    echo = {"why": {"display": "{{age}} {0.__class__}"}, **answers}
    assert render("{{why}}", echo) == "{{age}} {0.__class__}"
    assert fill("Between {min} and {max}.", min=1, max=5) == "Between 1 and 5."


# --- typed as people type -------------------------------------------------------------

AGES = [Choice("a", "65–74"), Choice("b", "75–84"), Choice("c", "85 i więcej")]
HOUSEHOLD = [Choice("alone", "Sam/sama"), Choice("family", "Z rodziną"), Choice("other", "Inaczej")]


@pytest.mark.parametrize(
    ("typed", "choices", "key"),
    [
        ("75-84", AGES, "b"),  # a hyphen where the button has an en dash
        ("75 - 84", AGES, "b"),
        ("85 i wiecej", AGES, "c"),  # Polish without its letters
        ("z rodzina", HOUSEHOLD, "family"),
        ("Z RODZINĄ!", HOUSEHOLD, "family"),
        ("inaczej.", HOUSEHOLD, "other"),
    ],
)
def test_a_typed_option_matches_without_diacritics_dashes_or_case(typed, choices, key):
    assert match_option(typed, choices) == key


@pytest.mark.parametrize(
    ("language", "label", "typed"),
    [
        ("uk", "Перший поверх", "перший поверх"),
        ("ru", "Ещё нет", "еще нет"),
        ("ar", "نَعَم", "نعم"),  # Arabic without its short vowels
        ("es", "Más tarde", "mas tarde"),
        ("hu", "Időnként", "idonkent"),
        ("fi", "Ei tiedä", "ei tieda"),
        ("et", "Õhtul", "ohtul"),
        ("it", "Più tardi", "piu tardi"),
        ("nl", "Één keer", "een keer"),
        ("pl", "Łódź", "lodz"),
    ],
)
def test_labels_in_every_script_match_as_typed_on_a_plain_keyboard(language, label, typed):
    assert match_option(typed, [Choice("x", "Other"), Choice("k", label)]) == "k", language


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("30 lat", "pl"),
        ("od 30 lat", "pl"),
        ("about 30", "en"),
        ("٣٠ سنة", "ar"),
        ("30 років", "uk"),
    ],
)
def test_a_number_inside_a_short_phrase_is_taken(typed, language):
    assert parse_number(typed, language=language) == Accepted(30, "30")


def test_a_phrase_with_two_numbers_is_not_guessed():
    assert isinstance(parse_number("30 lat i 2 koty"), Problem)


@given(st.text(max_size=40))
def test_folding_is_stable_and_never_fails(text):
    from dialogs.answers import fold

    once = fold(text)
    assert fold(once) == once


@given(st.sampled_from(["Z rodziną", "75–84", "Ещё нет", "Más tarde"]), st.booleans())
def test_a_label_matches_itself_in_any_case(label, upper):
    typed = label.upper() if upper else label.lower()
    assert match_option(typed, [Choice("k", label)]) == "k"
