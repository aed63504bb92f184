"""The translator's workflow: extract texts, update catalogs, measure coverage.

Two kinds of catalogs, both ordinary gettext `.po` files a translator opens in Poedit,
Weblate or any CAT tool:

- the bot's own texts: `locales/konsulta.pot` extracted from the code (mapping
  `babel.cfg`), one `locales/<lang>/LC_MESSAGES/konsulta.po` per language, and for a
  language with an informal register `konsulta-informal.po` beside it, holding only
  the texts whose informal wording differs (the rest falls back to `konsulta.po`);
- each consultation's texts: `<flow>.locales/<flow>.pot` extracted from the flow YAML
  (method `konsulta_flow`, dialogs/babel_extract.py), one `<flow>.locales/<lang>.po`
  per language, next to the flow file.

Updating follows `msgmerge` / `pybabel update`: a changed source text keeps its old
translation marked fuzzy (shown to nobody until a translator confirms it) instead of
losing it. For flows, where every text has a known place (step and field), a
translation whose text changed beyond what fuzzy matching recognises is still carried
over as fuzzy from the entry at the same place. Files are rewritten only when more than
their timestamps changed, so running the refresh is cheap and leaves git clean.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from dialogs.babel_extract import FlowMessage, flow_messages
from dialogs.loader import check_flow_file
from dialogs.schema import Flow
from konsulta.i18n import DOMAIN, INFORMAL_DOMAIN, LOCALES_DIR

#: The languages Konsulta speaks, in the order the language picker shows them.
LANGUAGES = ("pl", "en", "uk", "ru", "et", "es", "hu", "nl", "it", "sv", "fi", "ar")

ROOT = LOCALES_DIR.parent
BOT_MAPPING = ROOT / "babel.cfg"
BOT_TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
#: What `pybabel extract` is told (docs/languages.md); keep the two in step.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
COMMENT_TAGS = ("TRANSLATORS:",)
PROJECT = "Konsulta"
COPYRIGHT = "Konsulta contributors"
FLOW_METHOD = "konsulta_flow"
#: The language the code's msgids are written in.
SOURCE_LANGUAGE = "en"
#: Header lines that change on every run and mean nothing for the content.
_VOLATILE = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')


# --- reading and writing ---------------------------------------------------------------


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as stream:
        return read_po(stream, locale=locale, abort_invalid=True)


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, sort_output=True, include_previous=True, include_lineno=False)
    return out.getvalue()


def write_if_changed(path: Path, catalog: Catalog) -> bool:
    """Write `catalog` unless the file already says the same (timestamps aside)."""
    new = po_bytes(catalog)
    if path.exists() and _content(path.read_bytes()) == _content(new):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(new)
    return True


def _content(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines() if not line.startswith(_VOLATILE)]


def msgids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    """The live (not obsolete) messages of a catalog, header aside."""
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


# --- the bot's own texts ---------------------------------------------------------------


def extract_bot(root: Path = ROOT, mapping: Path = BOT_MAPPING) -> Catalog:
    """The template of the bot's texts, as `pybabel extract -F babel.cfg .` makes it."""
    with mapping.open() as stream:
        method_map, options_map = parse_mapping_cfg(stream, str(mapping))  # type: ignore[no-untyped-call]
    template = Catalog(project=PROJECT, version="1", copyright_holder=COPYRIGHT, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        root, method_map, options_map, KEYWORDS, COMMENT_TAGS, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def bot_catalog_paths(locales_dir: Path = LOCALES_DIR) -> dict[str, Path]:
    return {
        path.parent.parent.name: path
        for path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }


def informal_catalog_paths(locales_dir: Path = LOCALES_DIR) -> dict[str, Path]:
    return {
        path.parent.parent.name: path
        for path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{INFORMAL_DOMAIN}.po"))
    }


def refresh_informal_catalogs(
    template: Catalog, locales_dir: Path = LOCALES_DIR, *, known: set[str | tuple[str, ...]]
) -> list[Path]:
    """`pybabel update` for the informal catalogs, which hold a chosen few texts: a
    text gone from the code goes (kept as obsolete), a changed one (a text new to the
    code, not in `known`, the template before this extraction) keeps its old informal
    wording marked fuzzy, and no other text is added (it falls back to the formal
    catalog until a translator adds an informal wording by hand)."""
    changed = []
    current = msgids(template)
    for language, path in sorted(informal_catalog_paths(locales_dir).items()):
        held = msgids(read_catalog(path, language))
        gone = held - current
        catalog = update_catalog(path, template, language)
        for message in list(catalog):
            if not message.id or _key(message.id) in held:
                continue
            # Babel's fuzzy matching also offers a new text the wording of a similar
            # one; only a text that replaced one of ours keeps it (to be checked).
            previous = _key(message.previous_id) if message.previous_id else None
            if not (message.fuzzy and previous in gone and _key(message.id) not in known):
                catalog.delete(message.id, context=message.context)
        if write_if_changed(path, catalog):
            changed.append(path)
    return changed


def _key(message_id: str | tuple[str, ...] | list[str]) -> str | tuple[str, ...]:
    if isinstance(message_id, str):
        return message_id
    return message_id[0] if len(message_id) == 1 else tuple(message_id)


def refresh_bot_catalogs(
    root: Path = ROOT, locales_dir: Path = LOCALES_DIR, new_languages: Iterable[str] = ()
) -> list[Path]:
    """Extract the template, update every language's catalog; the files changed."""
    template = extract_bot(root)
    pot = locales_dir / f"{DOMAIN}.pot"
    known = msgids(read_catalog(pot)) if pot.exists() else set()
    changed = (
        [locales_dir / f"{DOMAIN}.pot"]
        if write_if_changed(locales_dir / f"{DOMAIN}.pot", template)
        else []
    )
    paths = bot_catalog_paths(locales_dir)
    for language in new_languages:
        paths.setdefault(language, locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po")
    for language, path in sorted(paths.items()):
        catalog = update_catalog(path, template, language)
        if language == SOURCE_LANGUAGE:
            fill_with_source(catalog)
        if write_if_changed(path, catalog):
            changed.append(path)
    return changed + refresh_informal_catalogs(template, locales_dir, known=known)


def fill_with_source(catalog: Catalog) -> None:
    """The code is written in English: the English catalog says exactly what the code
    says, so a new or changed text costs a developer nothing there. Except the words
    typed for a command ("help-words"): their msgid is a key, and the English words
    are a translation like any other, kept."""
    for message in catalog:
        if isinstance(message.id, str) and message.id.endswith("-words") and message.string:
            message.flags.discard("fuzzy")
            continue
        if message.id:
            message.flags.discard("fuzzy")
            message.previous_id = []
            if isinstance(message.id, str):
                message.string = message.id
            else:
                singular, plural = message.id[0], message.id[1]
                message.string = (singular, *[plural] * (catalog.num_plurals - 1))


def update_catalog(path: Path, template: Catalog, language: str) -> Catalog:
    """`pybabel update` for one file (`pybabel init` when it does not exist yet)."""
    if path.exists():
        catalog = read_catalog(path, language)
    else:
        catalog = Catalog(
            locale=language,
            domain=template.domain,
            project=template.project,
            version=template.version,
            copyright_holder=COPYRIGHT,
            fuzzy=False,
        )
    # Babel's update adds the template's own Message objects to the catalog: each
    # catalog gets a copy, or a translation put into one would leak into the next.
    catalog.update(copy.deepcopy(template), update_creation_date=True)
    return catalog


# --- consultation texts ----------------------------------------------------------------


def flow_catalog_dir(flow_path: Path) -> Path:
    """`dialogs/flows/service-need.yaml` -> `dialogs/flows/service-need.locales/`."""
    return flow_path.parent / f"{flow_path.stem}.locales"


def extract_flow_template(flow_path: Path) -> Catalog:
    """The flow's template, through the registered Babel method like `pybabel` does."""
    template = Catalog(project=flow_path.stem, version="1", copyright_holder=COPYRIGHT, fuzzy=False)
    relative = _relative(flow_path)
    for lineno, message, comments, context in extract_from_file(FLOW_METHOD, flow_path):
        template.add(message, None, [(relative, lineno)], auto_comments=comments, context=context)
    return template


def refresh_flow_catalogs(flow_path: Path, new_languages: Iterable[str] = ()) -> list[Path]:
    """Template and catalogs of one flow: every language it lists (but its default)
    and any catalog already there; the files changed."""
    flow = _flow(flow_path)
    folder = flow_catalog_dir(flow_path)
    template = extract_flow_template(flow_path)
    changed = []
    pot = folder / f"{flow_path.stem}.pot"
    if write_if_changed(pot, template):
        changed.append(pot)
    languages = {*flow.languages, *new_languages, *(p.stem for p in folder.glob("*.po"))}
    languages.discard(flow.default_language)
    for language in sorted(languages):
        path = folder / f"{language}.po"
        catalog = update_catalog(path, template, language)
        carry_over_by_place(catalog)
        if write_if_changed(path, catalog):
            changed.append(path)
    return changed


def carry_over_by_place(catalog: Catalog) -> int:
    """An untranslated text takes, as fuzzy, the translation of the obsolete entry
    that was shown at the same place (same extracted comment): a rewritten question
    keeps its old translation for the translator to fix. Returns how many."""
    by_place: dict[tuple[str, ...], tuple[Any, Message]] = {}
    for key, message in catalog.obsolete.items():
        if message.string and message.auto_comments:
            by_place.setdefault(tuple(message.auto_comments), (key, message))
    carried = 0
    for message in catalog:
        if not message.id or message.string or not message.auto_comments:
            continue
        found = by_place.pop(tuple(message.auto_comments), None)
        if found is None or isinstance(found[1].id, tuple) != isinstance(message.id, tuple):
            continue
        key, old = found
        message.string = old.string
        message.flags.add("fuzzy")
        message.previous_id = [old.id] if isinstance(old.id, str) else list(old.id)
        del catalog.obsolete[key]
        carried += 1
    return carried


@dataclass
class Coverage:
    """How much of one consultation one language has, counted in texts."""

    language: str
    total: int
    translated: int = 0
    fuzzy: list[FlowMessage] = field(default_factory=list)
    missing: list[FlowMessage] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0

    @property
    def complete(self) -> bool:
        return self.translated == self.total


def flow_coverage(
    flow_path: Path, languages: Iterable[str] | None = None
) -> tuple[Flow, list[Coverage]]:
    """Coverage of every language the flow lists (or `languages`), from its YAML and
    catalogs as the loader reads them: inline texts count, fuzzy ones do not."""
    flow = _flow(flow_path)
    messages = flow_messages(flow, flow_path.read_text(encoding="utf-8-sig"))
    inline = _inline_languages(flow)
    wanted = list(languages) if languages is not None else list(flow.languages)
    result = []
    for language in wanted:
        entries = _po_entries(flow_path, language)
        coverage = Coverage(language, len(messages))
        for message in messages:
            entry = entries.get(message.msgid)
            written = language == flow.default_language or language in inline.get(message.msgid, ())
            if written or (entry is not None and entry.string and not entry.fuzzy):
                coverage.translated += 1
            elif entry is not None and entry.string:
                coverage.fuzzy.append(message)
            else:
                coverage.missing.append(message)
        result.append(coverage)
    return flow, result


def with_fallbacks(
    flow: Flow, translations: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """`translations` where each listed language lacking a text shows the default
    language's text instead (publishing with `--allow-incomplete`)."""
    filled = {language: dict(texts) for language, texts in translations.items()}
    for language in flow.languages:
        if language == flow.default_language:
            continue
        texts = filled.setdefault(language, {})
        for _label, text in flow.flow_texts():
            if flow.text_for(text, language) is None:
                source = flow.text_for(text, flow.default_language)
                if source:
                    texts.setdefault(source, source)
    return filled


def _flow(flow_path: Path) -> Flow:
    flow, problems = check_flow_file(flow_path)
    if flow is None:
        raise ValueError("\n".join(str(p) for p in problems))
    return flow


def _inline_languages(flow: Flow) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for _label, text in flow.flow_texts():
        if isinstance(text, dict) and (source := text.get(flow.default_language)):
            found.setdefault(source, set()).update(k for k, v in text.items() if v)
    return found


def _po_entries(flow_path: Path, language: str) -> dict[str, Message]:
    """As dialogs.loader.load_translations reads them: the folder's shared
    `locales/<lang>.po`, then the flow's own `<flow>.locales/<lang>.po`, which wins."""
    entries: dict[str, Message] = {}
    for folder in (flow_path.parent / "locales", flow_catalog_dir(flow_path)):
        path = folder / f"{language}.po"
        if path.exists():
            for message in read_catalog(path, language):
                if not message.id or not isinstance(message.id, str):
                    continue
                usable = bool(message.string) and not message.fuzzy
                if usable or message.id not in entries:
                    entries[message.id] = message
    return entries


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name
