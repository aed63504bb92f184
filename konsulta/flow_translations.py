"""A consultation's translations from the dashboard: how much of each language a
published version has, its catalogs as `.po` files for a translator, and a
translator's `.po` (or the dashboard's side-by-side editor) checked and published.

A published version never changes (konsulta/publishing.py), so accepted translations
become a new version: the same YAML with the next version number and the new
translations, stored by `publishing.publish` like any other. Runs already under way
keep the version they started with.

What a version stores for a listed language is, per source text, the translation or,
for a version published with missing texts (`--allow-incomplete`), the source text
itself (shown in the default language). A text whose "translation" is its source is
therefore counted as not translated, here and in every `.po` handed out: a translator
sees it empty and fills it in. The price: a translation that is truly identical to
its source ("OK", a place name) counts as missing.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po

from dialogs.babel_extract import describe, source_text
from dialogs.loader import MAX_LABEL, MAX_TEXT, FlowError, Problem, check_flow_text
from dialogs.schema import Flow
from konsulta.catalogs import LANGUAGES, with_fallbacks
from konsulta.publishing import Published, publish, translations_of
from storage.uow import UnitOfWork

__all__ = [
    "Checked",
    "LanguageCoverage",
    "SourceText",
    "TranslationProblem",
    "check_edits",
    "check_po",
    "coverage",
    "inline_text",
    "language_po",
    "merged",
    "next_version_yaml",
    "own_translations",
    "publish_translations",
    "source_texts",
    "translatable_languages",
]

#: A `.po` larger than this is refused unread (a consultation's texts are a few KB).
MAX_PO_BYTES = 512 * 1024

#: Placeholders that must come through a translation unchanged: a flow's `{{answer}}`,
#: a Python `{name}` and a `%(name)s`.
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}|\{(\w+)\}|%\((\w+)\)[sdifr]")


def N_(message: str) -> str:
    """Marks a msgid for the dashboard's catalog (review/update_catalogs.py reads this
    module too); the text is translated where it is shown, not here."""
    return message


@dataclass(frozen=True)
class SourceText:
    """One msgid of a consultation: its text in the default language, where it is
    shown, and the most characters a translation may have there."""

    msgid: str
    places: tuple[str, ...]
    limit: int


def source_texts(flow: Flow) -> list[SourceText]:
    """The flow's texts as its `.pot` holds them: each source text once, in flow order."""
    found: dict[str, tuple[list[str], int]] = {}
    for label, text in flow.flow_texts():
        msgid = source_text(flow, text)
        if not msgid:
            continue
        where = label.rpartition(": ")[2]
        limit = MAX_LABEL if where.startswith("option ") else MAX_TEXT
        places, known = found.setdefault(msgid, ([], limit))
        places.append(describe(label))
        found[msgid] = (places, min(known, limit))
    return [SourceText(msgid, tuple(places), limit) for msgid, (places, limit) in found.items()]


def _inline(flow: Flow) -> dict[str, set[str]]:
    """Source text -> the languages the YAML itself writes it in (`{pl: .., en: ..}`)."""
    found: dict[str, set[str]] = {}
    for _label, text in flow.flow_texts():
        if isinstance(text, dict) and (source := text.get(flow.default_language)):
            found.setdefault(source, set()).update(k for k, v in text.items() if v)
    return found


def own_translations(flow: Flow, language: str) -> dict[str, str]:
    """The version's real translations into `language` (the default language's text
    standing in for a missing one left out)."""
    stored = translations_of(flow).get(language, {})
    return {msgid: text for msgid, text in stored.items() if text and text != msgid}


@dataclass(frozen=True)
class LanguageCoverage:
    """How many of a version's texts one language has."""

    language: str
    total: int
    translated: int
    default: bool = False

    @property
    def percent(self) -> int:
        """Rounded down, so 99.6% never reads as complete."""
        return 100 * self.translated // self.total if self.total else 100

    @property
    def complete(self) -> bool:
        return self.translated == self.total


def coverage(flow: Flow) -> list[LanguageCoverage]:
    """Every language the flow lists, the default first: texts written in the YAML
    in that language or translated in the version's catalogs, over all its texts."""
    texts = source_texts(flow)
    inline = _inline(flow)
    found = [LanguageCoverage(flow.default_language, len(texts), len(texts), default=True)]
    for language in flow.languages:
        if language == flow.default_language:
            continue
        own = own_translations(flow, language)
        done = sum(1 for t in texts if t.msgid in own or language in inline.get(t.msgid, set()))
        found.append(LanguageCoverage(language, len(texts), done))
    return found


def translatable_languages(flow: Flow) -> list[str]:
    """The languages a translator may bring: listed by the flow, not its default."""
    return [language for language in flow.languages if language != flow.default_language]


def language_po(flow: Flow, language: str) -> bytes:
    """The version's catalog for `language` as a `.po`: every text, with its current
    translation (empty where there is none), so a translator continues where the last
    one stopped. A text the YAML writes in that language is given as it is there."""
    catalog = Catalog(locale=language, project=flow.id, version=str(flow.version), fuzzy=False)
    own = own_translations(flow, language)
    for text in source_texts(flow):
        catalog.add(
            text.msgid,
            own.get(text.msgid) or inline_text(flow, text.msgid, language) or "",
            auto_comments=list(text.places),
        )
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, sort_output=False, include_lineno=False)
    return out.getvalue()


def inline_text(flow: Flow, msgid: str, language: str) -> str | None:
    """The text the YAML itself writes in `language` for `msgid` (None if it does not)."""
    for _label, text in flow.flow_texts():
        if isinstance(text, dict) and text.get(flow.default_language) == msgid:
            return text.get(language) or None
    return None


# --- checking what a translator brings -----------------------------------------------


@dataclass(frozen=True)
class TranslationProblem:
    """One thing wrong with a `.po` or an edited text: where (file and line, or the
    msgid) and what, as a msgid of the dashboard's catalog with its parameters."""

    message: str
    params: Mapping[str, str] = field(default_factory=dict)

    def text(self, translate: Callable[[str], str] = str) -> str:
        return translate(self.message) % dict(self.params)

    def __str__(self) -> str:
        return self.text()


@dataclass
class Checked:
    """A translator's texts for one language after the checks: what may be published
    (msgid -> translation), what is wrong (nothing is published then), and what was
    passed over (unknown or fuzzy entries, texts the YAML writes itself)."""

    language: str
    accepted: dict[str, str] = field(default_factory=dict)
    problems: list[TranslationProblem] = field(default_factory=list)
    skipped: list[TranslationProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def placeholders(text: str) -> Counter[str]:
    """The placeholders of a text, each spelled one way (`{{ a }}` is `{{a}}`)."""
    found: Counter[str] = Counter()
    for flow_name, name, percent in _PLACEHOLDER.findall(text):
        found[
            f"{{{{{flow_name}}}}}" if flow_name else f"{{{name}}}" if name else f"%({percent})"
        ] += 1
    return found


def _check_entry(
    checked: Checked,
    text: SourceText,
    translation: str,
    where: dict[str, str],
) -> None:
    """One translation against its source: the same placeholders, within the limit."""
    wanted, given = placeholders(text.msgid), placeholders(translation)
    if wanted != given:
        checked.problems.append(
            TranslationProblem(
                N_(
                    "%(where)s: the translation must keep the placeholders %(wanted)s "
                    "(it has %(given)s)"
                ),
                {
                    **where,
                    "wanted": " ".join(sorted(wanted.elements())) or "-",
                    "given": " ".join(sorted(given.elements())) or "-",
                },
            )
        )
    elif len(translation) > text.limit:
        checked.problems.append(
            TranslationProblem(
                N_("%(where)s: %(length)s characters; at most %(limit)s fit there"),
                {**where, "length": str(len(translation)), "limit": str(text.limit)},
            )
        )
    else:
        checked.accepted[text.msgid] = translation


def _language_problem(flow: Flow, language: str, name: str) -> TranslationProblem | None:
    if language not in LANGUAGES:
        return TranslationProblem(
            N_("%(file)s: '%(language)s' is not one of the languages Konsulta speaks"),
            {"file": name, "language": language},
        )
    if language == flow.default_language:
        return TranslationProblem(
            N_(
                "%(file)s: '%(language)s' is this consultation's own language: "
                "change its texts in the flow"
            ),
            {"file": name, "language": language},
        )
    if language not in flow.languages:
        return TranslationProblem(
            N_(
                "%(file)s: '%(language)s' is not among this consultation's languages "
                "(%(languages)s); add it to languages in the flow first"
            ),
            {"file": name, "language": language, "languages": ", ".join(flow.languages)},
        )
    return None


def check_po(flow: Flow, data: bytes, name: str, language: str | None) -> Checked:
    """A translator's `.po` for `language` (None: the one its header names) against
    the version: readable, for a language of the flow, for this flow's texts, every
    placeholder kept, every label short enough. Unknown msgids are passed over and
    named; a file with none of this flow's texts is refused (another consultation's)."""
    if len(data) > MAX_PO_BYTES:
        problem = TranslationProblem(N_("%(file)s is too large"), {"file": name})
        return Checked(language or "", problems=[problem])
    try:
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except PoFileError as error:
        problem = TranslationProblem(
            N_("%(file)s, line %(line)s: not a gettext catalog (%(error)s)"),
            {"file": name, "line": str(error.lineno + 1), "error": str(error.args[0])},
        )
        return Checked(language or "", problems=[problem])
    except Exception as error:  # babel raises several kinds on a broken file
        problem = TranslationProblem(
            N_("%(file)s cannot be read as a gettext catalog (%(error)s)"),
            {"file": name, "error": str(error)},
        )
        return Checked(language or "", problems=[problem])
    header = str(catalog.locale) if catalog.locale is not None else ""
    chosen = language or header
    checked = Checked(chosen)
    if header and language and header.split("_")[0] != language:
        checked.problems.append(
            TranslationProblem(
                N_("%(file)s is a catalog for '%(header)s', not '%(language)s'"),
                {"file": name, "header": header, "language": language},
            )
        )
        return checked
    if not chosen:
        checked.problems.append(
            TranslationProblem(N_("%(file)s names no language: choose one"), {"file": name})
        )
        return checked
    wrong = _language_problem(flow, chosen.split("_")[0], name)
    if wrong is not None:
        checked.problems.append(wrong)
        return checked
    checked.language = chosen.split("_")[0]
    texts = {t.msgid: t for t in source_texts(flow)}
    inline = _inline(flow)
    known = 0
    for message in catalog:
        if not message.id:
            continue
        line = str(message.lineno) if message.lineno else "?"
        where = {"where": f"{name}:{line}", "file": name, "line": line}
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        text = texts.get(msgid)
        if text is None or not isinstance(message.id, str):
            checked.skipped.append(
                TranslationProblem(
                    N_('%(file)s, line %(line)s: "%(msgid)s" is not a text of this consultation'),
                    {**where, "msgid": _short(msgid)},
                )
            )
            continue
        known += 1
        translation = message.string if isinstance(message.string, str) else ""
        if not translation:
            continue
        if message.fuzzy:
            checked.skipped.append(
                TranslationProblem(
                    N_(
                        "%(file)s, line %(line)s: marked fuzzy, so not used "
                        "until a translator confirms it"
                    ),
                    where,
                )
            )
            continue
        if checked.language in inline.get(msgid, set()):
            checked.skipped.append(
                TranslationProblem(
                    N_(
                        "%(file)s, line %(line)s: the flow itself writes this text "
                        "in this language; change it there"
                    ),
                    where,
                )
            )
            continue
        _check_entry(checked, text, translation, where)
    if texts and not known:
        checked.problems.append(
            TranslationProblem(
                N_(
                    "%(file)s has none of this consultation's texts: "
                    "is it another consultation's catalog?"
                ),
                {"file": name},
            )
        )
    return checked


def check_edits(flow: Flow, language: str, edits: Iterable[tuple[str, str]]) -> Checked:
    """The side-by-side editor's (source text, translation) pairs, checked like a
    `.po`; an emptied field takes the translation away."""
    checked = Checked(language)
    wrong = _language_problem(flow, language, language)
    if wrong is not None:
        checked.problems.append(wrong)
        return checked
    texts = {t.msgid: t for t in source_texts(flow)}
    inline = _inline(flow)
    for msgid, translation in edits:
        text = texts.get(msgid)
        where = {"where": f'"{_short(msgid)}"', "msgid": _short(msgid)}
        if text is None:
            checked.skipped.append(
                TranslationProblem(
                    N_('"%(msgid)s" is no longer a text of this consultation'), where
                )
            )
        elif language in inline.get(msgid, set()):
            continue
        elif not translation.strip():
            checked.accepted[msgid] = ""
        else:
            _check_entry(checked, text, translation.strip(), where)
    return checked


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- publishing ------------------------------------------------------------------------


def merged(flow: Flow, checked: Checked) -> dict[str, dict[str, str]]:
    """The version's translations with `checked.accepted` put in (an empty text taken
    out), every language's stand-ins for missing texts left out."""
    result = {
        language: own_translations(flow, language) for language in translatable_languages(flow)
    }
    texts = result.setdefault(checked.language, {})
    for msgid, translation in checked.accepted.items():
        if translation:
            texts[msgid] = translation
        else:
            texts.pop(msgid, None)
    return {language: texts for language, texts in result.items() if texts}


_VERSION_LINE = re.compile(r"^version:[ \t]*['\"]?(\d+)['\"]?[ \t]*(#.*)?$", re.MULTILINE)


def next_version_yaml(yaml_text: str, version: int) -> str | None:
    """The flow's YAML with `version` in place of its top-level version number (None
    when the file does not write it on a line of its own)."""
    if len(_VERSION_LINE.findall(yaml_text)) != 1:
        return None
    return _VERSION_LINE.sub(f"version: {version}", yaml_text, count=1)


async def publish_translations(
    uow: UnitOfWork,
    flow: Flow,
    yaml_text: str,
    translations: dict[str, dict[str, str]],
    *,
    organisation: str,
) -> Published:
    """Publish `translations` as the next version of `flow` (the consultation's
    current one) under `organisation` (a slug, the consultation's own), with the
    default language standing in for texts still missing. Raises FlowError when the
    YAML's version line cannot be rewritten or the new version does not check, and
    VersionConflict when someone published that version number meanwhile."""
    consultation = await uow.consultations.get_by_slug(flow.id)
    current = consultation.current_version if consultation is not None else None
    number = max(current or 0, flow.version) + 1
    name = f"{flow.id}.yaml"
    new_yaml = next_version_yaml(yaml_text, number)
    if new_yaml is None:
        missing = "the YAML has no top-level line 'version: N' to raise for the next version"
        raise FlowError([Problem(name, None, missing)])
    bare, problems = check_flow_text(new_yaml, name)
    if bare is None:
        raise FlowError(problems)
    filled = with_fallbacks(bare, translations)
    new_flow, problems = check_flow_text(new_yaml, name, filled)
    if new_flow is None or problems or new_flow.version != number:
        raise FlowError(problems)
    return await publish(uow, new_flow, new_yaml, open_now=False, organisation_as=organisation)
