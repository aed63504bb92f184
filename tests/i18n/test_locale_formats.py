"""Numbers and dates read and shown the way each language writes them.

A Polish senior types "1,5", a Spanish volunteer "12.345", a Hungarian "2026. 12. 07.",
a Syrian refugee "١٢": each is understood, and the answer is shown back the way they
would write it ("7 grudnia 2026"). Whatever the bot shows, it can read back.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.answers import (
    Accepted,
    Problem,
    format_date,
    format_number,
    parse_date,
    parse_number,
    typed_date,
)
from konsulta.catalogs import LANGUAGES

DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


@pytest.mark.parametrize(
    ("language", "typed", "value"),
    [
        ("pl", "1,5", 1.5),
        ("pl", "12 345,5", 12345.5),
        ("es", "12.345,5", 12345.5),
        ("es", "1.5", 1.5),  # not grouped the Spanish way: still one and a half
        ("nl", "1.000", 1000.0),
        ("it", "2,75", 2.75),
        ("en", "1,000.5", 1000.5),
        ("en", "1.5", 1.5),
        ("ar", "١٢٫٥", 12.5),
        ("fi", "\u2212 3,5", None),  # a minus sign and a space: not a number
    ],
)
def test_numbers_as_each_language_writes_them(
    language: str, typed: str, value: float | None
) -> None:
    parsed = parse_number(typed, integer=False, language=language)
    if value is None:
        assert isinstance(parsed, Problem)
    else:
        assert isinstance(parsed, Accepted) and parsed.value == value


@pytest.mark.parametrize(
    ("language", "typed"),
    [
        ("pl", "7.12.2026"),
        ("pl", "7 grudnia 2026"),
        ("uk", "07.12.26"),
        ("uk", "7 грудня 2026 р."),
        ("ru", "7 декабря 2026 г."),
        ("hu", "2026. 12. 07."),
        ("hu", "2026. december 7."),
        ("sv", "2026-12-07"),
        ("es", "7/12/2026"),
        ("es", "7 de diciembre de 2026"),
        ("nl", "7-12-2026"),
        ("fi", "7. joulukuuta 2026"),
        ("et", "7. detsember 2026"),
        ("ar", "٧/١٢/٢٠٢٦"),
        ("ar", "7 ديسمبر 2026"),
        ("en", "7 December 2026"),
    ],
)
def test_dates_as_each_language_writes_them(language: str, typed: str) -> None:
    assert parse_date(typed, language=language) == Accepted(
        "2026-12-07", format_date(dt.date(2026, 12, 7), language)
    )


def test_dates_and_numbers_are_shown_in_the_citizens_language() -> None:
    assert format_date(dt.date(2026, 12, 7), "pl") == "7 grudnia 2026"
    assert format_date(dt.date(2026, 12, 7), "en") == "7 December 2026"
    assert format_number(1.5, "pl") == "1,5"
    assert format_number(12345.25, "es") == "12.345,25"
    assert format_number(3.0, "de") == "3"
    assert typed_date(dt.date(2026, 12, 31), "sv") == "2026-12-31"
    # no language: the plain forms the engine used before
    assert format_date(dt.date(2026, 12, 7)) == "7.12.2026"
    assert format_number(1.5) == "1.5"


def test_a_date_that_names_no_single_day_is_refused() -> None:
    assert isinstance(parse_date("7 8 grudnia 2026", language="pl"), Problem)
    assert isinstance(parse_date("grudnia 2026", language="pl"), Problem)
    assert isinstance(parse_date("31 lutego 2026", language="pl"), Problem)


@given(st.sampled_from(LANGUAGES), DATES)
def test_every_shown_date_reads_back(language: str, date: dt.date) -> None:
    shown = format_date(date, language)
    assert parse_date(shown, language=language) == Accepted(date.isoformat(), shown)
    assert parse_date(typed_date(date, language), language=language) == Accepted(
        date.isoformat(), shown
    )


@given(
    st.sampled_from(LANGUAGES),
    st.one_of(
        st.integers(min_value=-(10**12), max_value=10**12),
        st.decimals(min_value=-(10**9), max_value=10**9, places=3).map(float),
    ),
)
def test_every_shown_number_reads_back(language: str, number: float) -> None:
    shown = format_number(number, language)
    parsed = parse_number(shown, integer=False, language=language)
    assert isinstance(parsed, Accepted) and parsed.value == pytest.approx(float(number))


@given(st.sampled_from(LANGUAGES), st.text(max_size=40))
def test_any_text_is_a_number_a_date_or_a_kind_problem(language: str, text: str) -> None:
    for parsed in (
        parse_number(text, language=language),
        parse_number(text, integer=False, language=language),
        parse_date(text, language=language),
    ):
        assert isinstance(parsed, Accepted | Problem)
