"""A translator's `.po` for a published consultation, checked before anything is
published: the library-hours survey (tests/review/library.yaml) is Polish, listed in
English and Ukrainian, and has only its title and consent in English so far."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.schema import Flow
from konsulta import flow_translations as ft
from konsulta.publishing import read_flow

LIBRARY = Path(__file__).resolve().parent.parent / "review" / "library.yaml"
HARBOUR = Path(__file__).resolve().parent.parent / "review" / "flow_b.yaml"


@pytest.fixture
def library() -> Flow:
    flow, _yaml = read_flow(LIBRARY, allow_incomplete=True)
    return flow


def po(language: str | None, *entries: tuple[str, str], fuzzy: str = "") -> bytes:
    header = f'"Language: {language}\\n"\n' if language else ""
    lines = ['msgid ""', 'msgstr ""', header + '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for msgid, msgstr in entries:
        if msgid == fuzzy:
            lines.append("#, fuzzy")
        lines += [f'msgid "{msgid}"', f'msgstr "{msgstr}"', ""]
    return "\n".join(lines).encode()


def test_coverage_counts_only_real_translations_not_the_polish_standing_in(library: Flow) -> None:
    shares = {c.language: (c.translated, c.total) for c in ft.coverage(library)}

    assert shares == {"pl": (8, 8), "en": (2, 8), "uk": (0, 8)}


def test_a_ukrainian_translator_brings_three_texts_and_they_are_accepted(library: Flow) -> None:
    data = po(
        "uk",
        ("Godziny otwarcia biblioteki", "Години роботи бібліотеки"),
        ("Co tydzień", "Щотижня"),
        ("Co jeszcze? ({{visits}})", "Що ще? ({{ visits }})"),
        ("Rzadko", ""),
    )

    checked = ft.check_po(library, data, "uk.po", "uk")

    assert checked.ok and not checked.skipped
    assert checked.accepted == {
        "Godziny otwarcia biblioteki": "Години роботи бібліотеки",
        "Co tydzień": "Щотижня",
        "Co jeszcze? ({{visits}})": "Що ще? ({{ visits }})",
    }
    merged = ft.merged(library, checked)
    assert merged["uk"]["Co tydzień"] == "Щотижня"
    assert merged["en"] == {
        "Godziny otwarcia biblioteki": "Library opening hours",
        "Zapisujemy odpowiedzi pod kodem.": "We keep your answers under a code.",
    }


def test_a_dropped_placeholder_is_refused_with_its_file_and_line(library: Flow) -> None:
    data = po("uk", ("Co jeszcze? ({{visits}})", "Що ще?"))

    checked = ft.check_po(library, data, "uk.po", "uk")

    assert not checked.ok
    assert [p.text() for p in checked.problems] == [
        "uk.po:6: the translation must keep the placeholders {{visits}} (it has -)"
    ]


def test_a_button_label_too_long_for_telegram_is_refused(library: Flow) -> None:
    checked = ft.check_po(library, po("uk", ("Rzadko", "Р" * 65)), "uk.po", None)

    assert [p.text() for p in checked.problems] == ["uk.po:6: 65 characters; at most 64 fit there"]


def test_another_consultations_catalog_is_refused(library: Flow) -> None:
    harbour = po("uk", ("Which district do you live in?", "У якому районі ви живете?"))

    checked = ft.check_po(library, harbour, "harbour-uk.po", "uk")

    assert [p.text() for p in checked.problems] == [
        "harbour-uk.po has none of this consultation's texts: is it another consultation's catalog?"
    ]
    assert checked.skipped[0].text() == (
        'harbour-uk.po, line 6: "Which district do you live in?" is not a text of this consultation'
    )


def test_unknown_and_fuzzy_entries_are_passed_over_and_named(library: Flow) -> None:
    data = po(
        "uk",
        ("Dziękujemy!", "Дякуємо!"),
        ("Stary tekst", "Старий текст"),
        (
            "Rzadko",
            "Рідко",
        ),
        fuzzy="Rzadko",
    )

    checked = ft.check_po(library, data, "uk.po", "uk")

    assert checked.ok and checked.accepted == {"Dziękujemy!": "Дякуємо!"}
    assert [p.text() for p in checked.skipped] == [
        'uk.po, line 9: "Stary tekst" is not a text of this consultation',
        "uk.po, line 13: marked fuzzy, so not used until a translator confirms it",
    ]


@pytest.mark.parametrize(
    ("language", "header", "expected"),
    [
        ("es", None, "es.po: 'es' is not among this consultation's languages (pl, en, uk); "
         "add it to languages in the flow first"),
        ("de", None, "de.po: 'de' is not one of the languages Konsulta speaks"),
        ("pl", None, "pl.po: 'pl' is this consultation's own language: "
         "change its texts in the flow"),
        ("uk", "en", "uk.po is a catalog for 'en', not 'uk'"),
        (None, None, "None.po names no language: choose one"),
    ],
)  # fmt: skip
def test_a_catalog_for_the_wrong_language_is_refused(
    library: Flow, language: str | None, header: str | None, expected: str
) -> None:
    data = po(header, ("Dziękujemy!", "Дякуємо!"))

    checked = ft.check_po(library, data, f"{language}.po", language)

    assert [p.text() for p in checked.problems] == [expected]


def test_a_broken_file_is_named_with_its_line(library: Flow) -> None:
    checked = ft.check_po(library, b'msgid "Rzadko"\nwhat is this\nmsgstr "x"\n', "uk.po", "uk")

    assert checked.problems[0].text().startswith("uk.po, line 2: not a gettext catalog")


def test_the_editor_takes_a_translation_away_when_its_field_is_emptied(library: Flow) -> None:
    checked = ft.check_edits(
        library, "en", [("Godziny otwarcia biblioteki", " "), ("Rzadko", "Rarely")]
    )

    assert ft.merged(library, checked)["en"] == {
        "Zapisujemy odpowiedzi pod kodem.": "We keep your answers under a code.",
        "Rzadko": "Rarely",
    }


def test_the_downloaded_po_holds_the_translations_so_far_and_reads_back(library: Flow) -> None:
    data = ft.language_po(library, "en")

    checked = ft.check_po(library, data, "library-hours-en.po", None)

    assert checked.ok and checked.language == "en"
    assert checked.accepted == ft.own_translations(library, "en")
    assert b'msgid "Rzadko"\nmsgstr ""' in data
    assert b"#. step visits: option rarely" in data


def test_the_next_version_changes_only_the_version_line() -> None:
    yaml_text = LIBRARY.read_text()

    bumped = ft.next_version_yaml(yaml_text, 4)

    assert bumped is not None
    assert bumped.replace("version: 4", "version: 3") == yaml_text
    assert ft.next_version_yaml("id: x\nsteps: []\n", 2) is None
