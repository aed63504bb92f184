"""The bot's own texts in the citizen's language, from the gettext catalogs in locales/.

Catalogs are kept as `.po` sources in git; the `.mo` files gettext reads are
compiled here on start when missing or older than their source, so a fresh clone and
an installed package both work without a separate build step.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from dialogs.events import Translator
from storage.models import Register

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "konsulta"
#: Only the texts whose informal wording differs ("ty", "ти", "tú"), per language;
#: everything else falls back to DOMAIN (docs/languages.md, "Register").
INFORMAL_DOMAIN = "konsulta-informal"


def compile_catalogs(locales_dir: Path = LOCALES_DIR, domain: str = DOMAIN) -> list[Path]:
    """Compile every stale `<lang>/LC_MESSAGES/<domain>.po`; returns the `.mo` written."""
    written: list[Path] = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


class Catalogs:
    """The bot's catalogs, one gettext translation per language that has a `.mo`, and
    per language with an informal register its `konsulta-informal` catalog, which
    falls back to the formal one for every text it does not hold.

    Plain `gettext` rather than a framework's i18n helper, so the services stay free of
    any bot framework; adapters translate through `App.texts(language, register)`.
    """

    def __init__(self, locales_dir: Path, default_locale: str, domain: str = DOMAIN) -> None:
        self.default_locale = default_locale
        self.locales = _load(locales_dir, domain)
        self.available_locales: tuple[str, ...] = tuple(self.locales)
        self.informal = _load(locales_dir, INFORMAL_DOMAIN)
        for language, informal in self.informal.items():
            if language in self.locales:
                informal.add_fallback(self.locales[language])


def _load(locales_dir: Path, domain: str) -> dict[str, gettext.GNUTranslations]:
    loaded: dict[str, gettext.GNUTranslations] = {}
    for mo_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.mo")):
        with mo_path.open("rb") as mo_file:
            loaded[mo_path.parent.parent.name] = gettext.GNUTranslations(mo_file)
    return loaded


def make_i18n(default_language: str, locales_dir: Path = LOCALES_DIR) -> Catalogs:
    locales_dir.mkdir(parents=True, exist_ok=True)  # no catalogs yet: English source texts
    compile_catalogs(locales_dir)
    compile_catalogs(locales_dir, INFORMAL_DOMAIN)
    return Catalogs(locales_dir, default_language)


def available_languages(i18n: Catalogs) -> tuple[str, ...]:
    return tuple(sorted(i18n.available_locales))


def translator(i18n: Catalogs, language: str, register: Register = Register.FORMAL) -> Translator:
    """The catalog for `language` in `register` (a language without an informal catalog,
    like English or Swedish, has one register); the English source texts when there
    is no catalog at all."""
    if register == Register.INFORMAL and language in i18n.informal:
        return i18n.informal[language]
    return i18n.locales.get(language) or gettext.NullTranslations()
