"""The public results pages speak all twelve languages: every text they show is
translated in each language's `review` catalog (placeholders kept, the language's
plural forms, `msgfmt -c` clean), while the logged-in dashboard stays Polish and
English."""

from __future__ import annotations

import re
import shutil
import subprocess
from contextvars import copy_context
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from konsulta.catalogs import LANGUAGES
from konsulta.i18n import LOCALES_DIR
from review import i18n
from review.update_catalogs import public_messages, update

PLACEHOLDER = re.compile(r"%\(\w+\)s")
#: English is the msgid language: its catalog may leave them as they are.
TRANSLATED = [language for language in LANGUAGES if language != "en"]


def _catalog(language: str, locales: Path = LOCALES_DIR) -> Catalog:
    with (locales / language / "LC_MESSAGES" / "review.po").open("rb") as po:
        return read_po(po, locale=language)


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_the_public_pages_speak_every_language_the_bot_speaks() -> None:
    assert i18n.PUBLIC_LANGUAGES == LANGUAGES
    for language in LANGUAGES:
        assert (LOCALES_DIR / language / "LC_MESSAGES" / "review.po").exists(), language


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_public_text_is_translated(language: str) -> None:
    catalog = _catalog(language)
    found = {_key(m): m for m in catalog if m.id}
    wanted = public_messages()
    assert wanted - set(found) == set()
    for key in sorted(wanted):
        message = found[key]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, (language, key)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, (language, key, string)
        if isinstance(message.id, tuple):
            assert len(strings) == catalog.num_plurals, (language, key)
    if language not in i18n.LANGUAGES:  # only the public pages' texts, nothing else
        assert set(found) == wanted


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext's msgfmt")
@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_checks_each_review_catalog(language: str) -> None:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "review.po"
    done = subprocess.run(
        ["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def _languages_picked() -> tuple[str, str, str]:
    i18n.use_language("uk")  # a dashboard page: not offered, so Polish
    dashboard = i18n.current_language()
    i18n.use_language("uk", i18n.PUBLIC_LANGUAGES)  # a public page
    return dashboard, i18n.current_language(), i18n.gettext("Results")


def test_the_dashboard_itself_stays_polish_and_english() -> None:
    assert i18n.LANGUAGES == ("pl", "en")
    assert i18n.pick_language("uk,ar;q=0.9", "pl") == "pl"
    # in a context of its own, so no other test inherits the language
    assert copy_context().run(_languages_picked) == ("pl", "uk", "Результати")


def test_refreshing_the_catalogs_keeps_every_translation(tmp_path: Path) -> None:
    for language in LANGUAGES:
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        shutil.copy(LOCALES_DIR / language / "LC_MESSAGES" / "review.po", folder)
    update(tmp_path)
    for language in LANGUAGES:
        before = {_key(m): m.string for m in _catalog(language) if m.id}
        after = {_key(m): m.string for m in _catalog(language, tmp_path) if m.id}
        assert after == before, language
