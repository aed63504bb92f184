"""The shipped catalogs are complete, current and safe to show.

A developer who adds a text to the code, or a staff member who edits a bundled flow,
runs `konsulta i18n extract`; these tests fail until they have, and until every
language has a real translation of the new text. Each failure names the texts and the
language so the fix is one look away.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from dialogs.loader import MAX_LABEL, MAX_TEXT
from konsulta.catalogs import (
    BOT_TEMPLATE,
    LANGUAGES,
    ROOT,
    bot_catalog_paths,
    extract_bot,
    extract_flow_template,
    flow_catalog_dir,
    informal_catalog_paths,
    msgids,
    read_catalog,
)

FLOWS = ROOT / "dialogs" / "flows"
FLOW_FILES = sorted(FLOWS.glob("*.yaml"))
BOT_CATALOGS = bot_catalog_paths()
#: The bot's texts in the informal register, for the languages that have one.
INFORMAL_CATALOGS = informal_catalog_paths()
FLOW_CATALOGS = sorted(FLOWS.glob("*.locales/*.po"))
ALL_CATALOGS = [*BOT_CATALOGS.values(), *INFORMAL_CATALOGS.values(), *FLOW_CATALOGS]
#: Python brace fields ({n}, {done}) and flow answer placeholders ({{what}}).
FIELD = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

REFRESH = "run `konsulta i18n extract` and translate what it adds"


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _describe(items: set[object]) -> str:
    return "\n  ".join(sorted(repr(i) for i in items)[:20])


def test_the_bot_speaks_all_twelve_languages() -> None:
    assert sorted(BOT_CATALOGS) == sorted(LANGUAGES)


def test_the_bot_catalogs_hold_exactly_the_texts_in_the_code() -> None:
    """Re-extract from the code as it is now and compare with what is shipped."""
    fresh = msgids(extract_bot())
    shipped = {"locales/konsulta.pot": BOT_TEMPLATE} | {_id(p): p for p in BOT_CATALOGS.values()}
    for name, path in shipped.items():
        current = msgids(read_catalog(path))
        assert current == fresh, (
            f"{name} is out of date with the code; {REFRESH}.\n"
            f"new in the code:\n  {_describe(fresh - current)}\n"
            f"gone from the code:\n  {_describe(current - fresh)}"
        )


def test_every_language_with_a_formal_address_has_an_informal_catalog() -> None:
    """Finnish (the bot already says "sinä"), Swedish and English (one "you") and
    Arabic (the respectful plural is also how a youth council writes) have none."""
    assert sorted(INFORMAL_CATALOGS) == ["es", "et", "hu", "it", "nl", "pl", "ru", "uk"]


@pytest.mark.parametrize("language", sorted(INFORMAL_CATALOGS))
def test_an_informal_catalog_holds_only_texts_of_the_code_that_it_words_differently(
    language: str,
) -> None:
    """Only what differs: every other text falls back to the formal catalog, so a
    text copied here unchanged would only go stale."""
    informal = read_catalog(INFORMAL_CATALOGS[language], language)
    stale = msgids(informal) - msgids(extract_bot())
    assert not stale, f"{language}: not in the code any more; {REFRESH}:\n  {_describe(stale)}"
    formal = read_catalog(BOT_CATALOGS[language], language)
    same = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in informal
        if m.id and m.string == formal[m.id].string
    }
    assert not same, f"{language}: worded as in the formal catalog:\n  {_describe(same)}"


@pytest.mark.parametrize("flow_path", FLOW_FILES, ids=lambda p: p.stem)
def test_each_flow_catalog_holds_exactly_the_texts_of_its_flow(flow_path: Path) -> None:
    folder = flow_catalog_dir(flow_path)
    catalogs = sorted(folder.glob("*.po*"))
    assert catalogs, f"{flow_path.name} has no catalogs; {REFRESH}"
    fresh = msgids(extract_flow_template(flow_path))
    for path in catalogs:
        current = msgids(read_catalog(path))
        assert current == fresh, (
            f"{_id(path)} is out of date with {flow_path.name}; {REFRESH}.\n"
            f"new in the flow:\n  {_describe(fresh - current)}\n"
            f"gone from the flow:\n  {_describe(current - fresh)}"
        )


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) not installed")
def test_every_catalog_passes_gnu_msgfmt_check() -> None:
    """msgfmt --check: headers, plural forms, format strings, as GNU gettext sees them."""
    failures = []
    for path in [BOT_TEMPLATE, *ALL_CATALOGS]:
        result = subprocess.run(
            ["msgfmt", "--check", "--output-file=/dev/null", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            failures.append(result.stderr)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=_id)
def test_every_catalog_compiles_with_babel_and_has_no_gaps(path: Path, tmp_path: Path) -> None:
    catalog = read_catalog(path, _language(path))
    errors = [(m.id, e) for m, errs in catalog.check() for e in errs]
    assert not errors, errors
    with (tmp_path / "out.mo").open("wb") as out:
        write_mo(out, catalog)
    untranslated = {m.id for m in catalog if m.id and not _translated(m.string)}
    assert not untranslated, f"{_id(path)}: not translated:\n  {_describe(untranslated)}"
    fuzzy = {m.id for m in catalog if m.id and m.fuzzy}
    assert not fuzzy, f"{_id(path)}: fuzzy (check and confirm):\n  {_describe(fuzzy)}"


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=_id)
def test_plural_forms_match_the_language(path: Path) -> None:
    """Polish, Ukrainian and Russian have three forms, Arabic six.

    The counts are CLDR's as Babel >= 2.19 has them: Spanish and Italian also have a
    form for millions ("1 000 000 de personas"), Hungarian two (both read singular
    after a number, "3 kérdés").
    """
    language = _language(path)
    catalog = read_catalog(path, language)
    expected = {"pl": 3, "uk": 3, "ru": 3, "ar": 6, "es": 3, "it": 3}.get(language, 2)
    assert catalog.num_plurals == expected == Catalog(locale=language).num_plurals
    assert f"nplurals={expected};" in catalog.plural_forms
    for message in catalog:
        if message.id and message.pluralizable:
            assert len(message.string) == expected, message.id


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=_id)
def test_placeholders_in_every_translation_match_the_source(path: Path) -> None:
    catalog = read_catalog(path, _language(path))
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = set().union(*(_fields(s) for s in sources))
        found = [_fields(form) for form in forms if form]
        # A plural form may say the number in words ("شخصين": two people), so it may
        # leave out a field; but none may add one, and together they use every one.
        if any(not f <= expected for f in found) or (found and set().union(*found) != expected):
            wrong.append((message.id, forms))
    assert not wrong, f"{_id(path)}: placeholders differ from the source:\n  {wrong[:10]}"


@pytest.mark.parametrize("path", ALL_CATALOGS, ids=_id)
def test_translations_fit_telegram(path: Path) -> None:
    """A message allows 4096 characters; a button label is cut at 64."""
    catalog = read_catalog(path, _language(path))
    for message in catalog:
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        is_label = any(c.startswith("step ") and ": option " in c for c in message.auto_comments)
        limit = MAX_LABEL if is_label else MAX_TEXT
        for form in forms:
            assert len(form or "") <= limit, (message.id, len(form))


def _language(path: Path) -> str:
    return path.parent.parent.name if path.parent.name == "LC_MESSAGES" else path.stem


def _translated(string: str | tuple[str, ...] | None) -> bool:
    return bool(string) and (isinstance(string, str) or all(string))


def _fields(text: str) -> set[str]:
    return {double or single for double, single in FIELD.findall(text)}


def test_field_finder_reads_both_kinds_of_placeholder() -> None:
    assert _fields("Hi {name}, you said {{what}} {n}") == {"name", "what", "n"}
    assert _fields("no fields, only {{ }} and { }") == set()
