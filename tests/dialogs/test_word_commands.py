"""A citizen types "pomocy", "stop" or "wstecz" in the middle of a question, in any of
the twelve languages, with or without the language's letters: the bot understands the
command without the slash. The words come from the real catalogs (translators own
them), so these tests read the shipped ones."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.answers import Choice, WordCommand, command_words, fold, word_command
from dialogs.events import Translator
from dialogs.schema import Step, StepKind
from konsulta.catalogs import LANGUAGES, fill_with_source, read_catalog
from konsulta.i18n import make_i18n, translator

I18N = make_i18n("pl")
NUMBER = Step(id="years", kind=StepKind.NUMBER, text="How many years?")
FREE_TEXT = Step(id="why", kind=StepKind.TEXT, text="Why?")
CHOICE = Step.model_validate(
    {
        "id": "need",
        "kind": "single_choice",
        "text": "What do you need?",
        "options": [{"key": "help", "label": "Pomoc"}, {"key": "none", "label": "Nic"}],
    }
)

HELP, STOP, BACK, SKIP = WordCommand.HELP, WordCommand.STOP, WordCommand.BACK, WordCommand.SKIP

#: (language, what a citizen types, the command it means): as typed on a phone,
#: often without the language's letters.
TYPED = [
    ("pl", "pomocy", HELP),
    ("pl", "Pomoc", HELP),
    ("pl", "stop", STOP),
    ("pl", "wstecz", BACK),
    ("pl", "Wróć", BACK),
    ("pl", "wroc", BACK),
    ("pl", "pomiń", SKIP),
    ("pl", "pomin", SKIP),
    ("en", "help", HELP),
    ("en", "?", HELP),
    ("en", "Stop!", STOP),
    ("en", "go back", BACK),
    ("en", "skip", SKIP),
    ("uk", "допоможіть", HELP),
    ("uk", "Стоп", STOP),
    ("uk", "назад", BACK),
    ("uk", "пропустити", SKIP),
    ("ru", "помогите", HELP),
    ("ru", "хватит", STOP),
    ("ru", "назад", BACK),
    ("ru", "пропустить", SKIP),
    ("et", "abi", HELP),
    ("et", "lopeta", STOP),
    ("et", "tagasi", BACK),
    ("et", "jata vahele", SKIP),
    ("es", "ayuda", HELP),
    ("es", "¿?", HELP),
    ("es", "basta", STOP),
    ("es", "atras", BACK),
    ("es", "saltar", SKIP),
    ("hu", "segitseg", HELP),
    ("hu", "állj", STOP),
    ("hu", "vissza", BACK),
    ("hu", "kihagyom", SKIP),
    ("nl", "hulp", HELP),
    ("nl", "stoppen", STOP),
    ("nl", "terug", BACK),
    ("nl", "overslaan", SKIP),
    ("it", "aiuto", HELP),
    ("it", "basta", STOP),
    ("it", "indietro", BACK),
    ("it", "salta", SKIP),
    ("sv", "hjalp", HELP),
    ("sv", "sluta", STOP),
    ("sv", "tillbaka", BACK),
    ("sv", "hoppa over", SKIP),
    ("fi", "apua", HELP),
    ("fi", "lopeta", STOP),
    ("fi", "takaisin", BACK),
    ("fi", "ohita", SKIP),
    ("ar", "مساعدة", HELP),
    ("ar", "؟", HELP),
    ("ar", "توقف", STOP),
    ("ar", "رجوع", BACK),
    ("ar", "تخطي", SKIP),
    ("ar", "تَخَطّي", SKIP),  # with the short vowels written
]


def texts(language: str) -> Translator:
    return translator(I18N, language)


@pytest.mark.parametrize(("language", "typed", "command"), TYPED)
def test_a_word_typed_mid_question_is_its_command(
    language: str, typed: str, command: WordCommand
) -> None:
    assert word_command(typed, NUMBER, [], [texts(language)]) is command


def test_the_table_covers_every_language_and_command() -> None:
    covered = {(language, command) for language, _typed, command in TYPED}
    assert covered == {(language, command) for language in LANGUAGES for command in WordCommand}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_has_words_for_every_command_and_none_twice(language: str) -> None:
    words = command_words(texts(language))
    assert all(words[command] for command in WordCommand), words
    for command, mine in words.items():
        for other, theirs in words.items():
            assert other is command or not mine & theirs, (language, command, other)


def test_without_a_catalog_no_msgid_counts_as_a_word() -> None:
    import gettext

    words = command_words(gettext.NullTranslations())
    assert all(not found for found in words.values())
    assert word_command("help-words", NUMBER, [], [gettext.NullTranslations()]) is None


@pytest.mark.parametrize(
    ("typed", "command"),
    [("stop", STOP), ("Pomocy!", HELP), ("?", HELP), ("wstecz", BACK), ("pomiń", SKIP)],
)
def test_on_a_free_text_question_one_word_alone_is_a_command(
    typed: str, command: WordCommand
) -> None:
    assert word_command(typed, FREE_TEXT, [], [texts("pl")]) is command


@pytest.mark.parametrize(
    "typed",
    [
        "stop kradzieżom na osiedlu",
        "pomocy przy zakupach",
        "wypisz mnie",  # a stop phrase, but on free text only single words count
        "pomiń pytanie",
        "Potrzebuję pomocy",
        "Nie wiem, co napisać?",
    ],
)
def test_on_a_free_text_question_a_phrase_is_an_answer(typed: str) -> None:
    assert word_command(typed, FREE_TEXT, [], [texts("pl")]) is None


def test_elsewhere_a_phrase_from_the_catalog_is_its_command() -> None:
    assert word_command("wypisz mnie", NUMBER, [], [texts("pl")]) is STOP
    assert word_command("pomiń pytanie", NUMBER, [], [texts("pl")]) is SKIP
    assert word_command("mam 30 lat, pomocy", NUMBER, [], [texts("pl")]) is None


def test_an_option_with_the_same_label_stays_an_answer() -> None:
    choices = [Choice("help", "Pomoc"), Choice("none", "Nic")]
    assert word_command("pomoc", CHOICE, choices, [texts("pl")]) is None
    assert word_command("wstecz", CHOICE, choices, [texts("pl")]) is BACK


def test_words_of_every_catalog_given_are_understood() -> None:
    """An Arabic speaker answering the English version types Arabic or English."""
    both = [texts("en"), texts("ar")]
    assert word_command("مساعدة", NUMBER, [], both) is HELP
    assert word_command("skip", NUMBER, [], both) is SKIP
    assert word_command("pomocy", NUMBER, [], both) is None


def _plain(text: str) -> str:
    """What a keyboard without the language's letters gives."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: Every word as the translator wrote it (with its letters), from every catalog.
ALL_WORDS = sorted(
    (language, command, word.strip())
    for language in LANGUAGES
    for command in WordCommand
    for word in re.split("[,،]", texts(language).gettext(f"{command.value}-words"))
)


@given(
    st.sampled_from(ALL_WORDS),
    st.sampled_from([str.upper, str.title, _plain, str]),
    st.sampled_from(["", " ", "!", ".", "  ", "?!"]),
)
def test_case_diacritics_spacing_and_punctuation_do_not_matter(
    entry: tuple[str, WordCommand, str], change: object, tail: str
) -> None:
    language, command, word = entry
    assert callable(change)
    typed = " " + str(change(word)).replace(" ", "  ") + tail
    assert fold(typed) == fold(word)
    assert word_command(typed, NUMBER, [], [texts(language)]) is command


def test_refreshing_the_catalogs_keeps_the_english_words() -> None:
    """`konsulta i18n extract` fills the English catalog with the code's own texts, but
    the typed words for commands are translations there too, and stay."""
    catalog = read_catalog(
        Path(__file__).parents[2] / "locales" / "en" / "LC_MESSAGES" / "konsulta.po", "en"
    )
    fill_with_source(catalog)
    assert "help me" in str(catalog["help-words"].string)
    assert catalog["Please tap Yes or No."].string == "Please tap Yes or No."
