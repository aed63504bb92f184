"""The informal register: a second catalog per language that holds only what differs.

A youth council's citizen reads "Wybierz język:" where the town hall's reads
"Prosimy wybrać język:"; every text the informal catalog leaves out comes from the
formal one, and a language with one register (English, Swedish, Finnish's "sinä",
Arabic's respectful plural) is the same in both. `konsulta i18n extract` keeps the
informal catalogs to their few texts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.catalog import Catalog

from konsulta.catalogs import (
    COPYRIGHT,
    LANGUAGES,
    extract_bot,
    msgids,
    read_catalog,
    refresh_informal_catalogs,
    write_if_changed,
)
from konsulta.i18n import INFORMAL_DOMAIN, LOCALES_DIR, Catalogs, make_i18n, translator
from storage.models import Register

I18N = make_i18n("pl")


def test_a_text_the_informal_catalog_words_differently_says_ty() -> None:
    formal = translator(I18N, "pl", Register.FORMAL)
    informal = translator(I18N, "pl", Register.INFORMAL)
    assert formal.gettext("Choose your language:") == "Prosimy wybrać język:"
    assert informal.gettext("Choose your language:") == "Wybierz język:"
    assert informal.ngettext(
        "Please choose at least {n} option.", "Please choose at least {n} options.", 5
    ) == ("Wybierz co najmniej {n} odpowiedzi.")


def test_every_other_text_falls_back_to_the_formal_catalog() -> None:
    informal = translator(I18N, "pl", Register.INFORMAL)
    assert informal.gettext("Thank you for taking part.") == "Dziękujemy za udział."
    assert informal.gettext("help-words") == translator(I18N, "pl").gettext("help-words")


def test_a_language_with_one_register_reads_the_same_in_both() -> None:
    for language in ("en", "sv", "fi", "ar"):
        formal = translator(I18N, language, Register.FORMAL)
        informal = translator(I18N, language, Register.INFORMAL)
        assert informal is formal, language
    assert set(I18N.informal) < set(LANGUAGES)


def test_the_informal_catalogs_compile_when_the_bot_starts(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    catalogs = make_i18n("pl", locales)
    assert (locales / "uk" / "LC_MESSAGES" / f"{INFORMAL_DOMAIN}.mo").exists()
    informal = translator(catalogs, "uk", Register.INFORMAL)
    assert informal.gettext("Choose your language:") == "Вибери мову:"
    assert isinstance(catalogs, Catalogs)


def test_extract_drops_gone_texts_marks_changed_ones_fuzzy_and_adds_no_new_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pl" / "LC_MESSAGES" / f"{INFORMAL_DOMAIN}.po"
    catalog = Catalog(locale="pl", domain=INFORMAL_DOMAIN, copyright_holder=COPYRIGHT)
    catalog.add("Choose your language:", "Wybierz język:")
    # A text the code said once, since reworded in the code (one letter changed).
    catalog.add("Please send a photograph.", "Wyślij zdjęcie.")
    catalog.add("A text nobody says any more, anywhere at all.", "Już nieaktualne.")
    write_if_changed(path, catalog)
    template = extract_bot()
    # The code before this change: the same texts, but "photograph" for "photo".
    known = (msgids(template) - {"Please send a photo."}) | {"Please send a photograph."}
    assert refresh_informal_catalogs(template, tmp_path, known=known) == [path]
    refreshed = read_catalog(path, "pl")
    assert msgids(refreshed) == {"Choose your language:", "Please send a photo."}
    assert refreshed["Choose your language:"].string == "Wybierz język:"
    reworded = refreshed["Please send a photo."]
    assert reworded.fuzzy and reworded.string == "Wyślij zdjęcie."
    assert len(msgids(template)) > 100  # and none of the other texts came in
    # The next extraction keeps it so until a translator confirms or rewords it.
    refresh_informal_catalogs(template, tmp_path, known=msgids(template))
    again = read_catalog(path, "pl")
    assert msgids(again) == msgids(refreshed) and again["Please send a photo."].fuzzy
