"""Spreadsheet forms (XLSForm): the format KoBoToolbox and ODK users already write.

Staff who have built forms in KoBo or ODK can bring them as they are, and a published
consultation can leave as a spreadsheet to edit or to show to partners. This module
owns that outside format (STYLE habit 5): it reads a workbook's `survey`, `choices` and
`settings` sheets into the same flow data a YAML file holds, and writes a flow back.
It does no I/O beyond the workbook bytes; the CLI and the dashboard only call it.

Reading never trusts the spreadsheet to match Konsulta: every row Konsulta cannot play
as written is reported as its own problem, naming the sheet and the row, and the flow
that results then passes the same checks as `konsulta flows check` (their problems are
pointed back at the row of the question they concern). Problems are msgids with
parameters, so the dashboard can show them in the staff member's language.

XLSForm's `relevant` says when a question is shown; Konsulta says where to go after a
step (`next` rules). Import turns each question's `relevant` into rules on the step
before it: go to the first later step whose condition holds, knowing that the steps
jumped over have no answer (so a condition on them is already decided). Export computes
for each step the condition under which a citizen reaches it, the inverse.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import yaml
from openpyxl.utils.exceptions import InvalidFileException

from dialogs.loader import Problem, check_flow_text
from dialogs.schema import (
    END,
    OPTION_KEY_PATTERN,
    STEP_ID_PATTERN,
    Condition,
    EndMessage,
    Flow,
    Step,
)
from dialogs.schema import StepKind as K


def N_(message: str) -> str:
    """Marks a msgid for the dashboard's catalog (review/update_catalogs.py reads this
    module too); the text is translated where it is shown, not here."""
    return message


#: Konsulta's twelve languages and the name each has in itself, as XLSForm columns
#: write them: `label::Polski (pl)`.
LANGUAGE_NAMES: dict[str, str] = {
    "pl": "Polski",
    "en": "English",
    "uk": "Українська",
    "ru": "Русский",
    "et": "Eesti",
    "es": "Español",
    "hu": "Magyar",
    "nl": "Nederlands",
    "it": "Italiano",
    "sv": "Svenska",
    "fi": "Suomi",
    "ar": "العربية",
}

#: The yes/no list written for a yes_no step; Konsulta shows its own buttons, so on
#: import a select_one of exactly `yes` and `no` is a yes/no question.
YES_NO_LABELS: dict[str, tuple[str, str]] = {
    "pl": ("Tak", "Nie"),
    "en": ("Yes", "No"),
    "uk": ("Так", "Ні"),
    "ru": ("Да", "Нет"),
    "et": ("Jah", "Ei"),
    "es": ("Sí", "No"),
    "hu": ("Igen", "Nem"),
    "nl": ("Ja", "Nee"),
    "it": ("Sì", "No"),
    "sv": ("Ja", "Nej"),
    "fi": ("Kyllä", "Ei"),
    "ar": ("نعم", "لا"),
}
YES_NO_LIST = "yes_no"

#: Columns holding citizen-visible text, one per language (`hint::English (en)`).
TRANSLATED = {"label", "hint", "constraint_message", "required_message", "min_label", "max_label"}
SETTINGS_TRANSLATED = {"form_title", "description", "consent", "contact_consent", "name_consent"}
#: Metadata rows ODK fills by itself; they ask the citizen nothing, so they are passed over.
METADATA = {
    "start",
    "end",
    "today",
    "deviceid",
    "imei",
    "username",
    "phonenumber",
    "simserial",
    "subscriberid",
    "email",
    "audit",
    "start-geopoint",
}
#: The calculate row KoBoToolbox adds to every form it exports: its own version stamp.
KOBO_VERSION = {"__version__", "_version_"}
#: Columns that would change what a citizen sees, and that Konsulta cannot do.
UNSUPPORTED_COLUMNS = {
    "choice_filter": N_("a choice_filter (cascading choices) is not supported"),
    "calculation": N_("a calculation is not supported"),
    "repeat_count": N_("repeat_count is not supported (Konsulta has no repeats)"),
    "default": N_("a default answer is not supported: a citizen gives every answer"),
    "trigger": N_("trigger is not supported"),
    "read_only": N_("read_only is not supported: every question can be answered"),
}
MEDIA_COLUMNS = ("media::", "image", "audio", "video", "big-image")
#: Appearance words Konsulta adds for what XLSForm has no type for (ODK ignores them).
APPEARANCE_CONTACT = "contact"
APPEARANCE_MEDIA = "allow-media"
APPEARANCE_NO_VOICE = "no-voice"
APPEARANCE_NO_TYPED = "no-typed"

SIMPLE_KINDS = {
    "text": K.TEXT,
    "integer": K.NUMBER,
    "decimal": K.NUMBER,
    "date": K.DATE,
    "geopoint": K.LOCATION,
    "image": K.PHOTO,
    "audio": K.VOICE,
    "note": K.MESSAGE,
}
#: Types Konsulta does not ask, with what to use instead.
UNSUPPORTED_TYPES = {
    "time": N_("type 'time' is not supported; use text or date"),
    "datetime": N_("type 'datetime' is not supported; use date"),
    "geotrace": N_("type 'geotrace' is not supported; use geopoint"),
    "geoshape": N_("type 'geoshape' is not supported; use geopoint"),
    "video": N_("type 'video' is not supported; use image or audio"),
    "file": N_("type 'file' is not supported; use image"),
    "barcode": N_("type 'barcode' is not supported; use text"),
    "acknowledge": N_("type 'acknowledge' is not supported; use note"),
    "calculate": N_("type 'calculate' is not supported: Konsulta does not compute answers"),
    "hidden": N_("type 'hidden' is not supported"),
    "begin_repeat": N_("repeats are not supported: ask each question once"),
    "end_repeat": N_("repeats are not supported: ask each question once"),
    "select_one_from_file": N_("choices from a file are not supported; list them on choices"),
    "select_multiple_from_file": N_("choices from a file are not supported; list them on choices"),
    "xml-external": N_("type 'xml-external' is not supported"),
    "csv-external": N_("type 'csv-external' is not supported"),
    "background-audio": N_("type 'background-audio' is not supported; use audio"),
    "background-geopoint": N_("type 'background-geopoint' is not supported; use geopoint"),
}


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong with a spreadsheet, where it is (sheet and row) and what.

    `message` is a msgid with %(name)s parameters when `translatable`; otherwise it is
    the loader's own wording, already complete (the dashboard shows it as it is).
    """

    sheet: str
    row: int | None
    message: str
    params: Mapping[str, str] = field(default_factory=dict)
    translatable: bool = True

    def text(self, translate: Callable[[str], str] = str) -> str:
        if not self.translatable:
            return self.message
        return translate(self.message) % dict(self.params)

    def where(self) -> str:
        return f"{self.sheet} row {self.row}" if self.row is not None else self.sheet

    def __str__(self) -> str:
        return f"{self.where()}: {self.text()}"


@dataclass(frozen=True)
class Imported:
    """What a spreadsheet became: the flow's YAML text and the flow (None when a
    problem keeps it from being built), and every problem found."""

    yaml_text: str | None
    flow: Flow | None
    problems: list[FormProblem]


class ExportError(Exception):
    """A flow that cannot be written as XLSForm; `problems` says why, per step."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --- conditions as data, with constants ------------------------------------------------

#: A condition in the flow's YAML shape (a dict), or True/False once it is decided.
Cond = bool | dict[str, Any]


def all_of(parts: Sequence[Cond]) -> Cond:
    """`all` of the parts, folded: constants, nesting, repeats, `A and not A`, and
    `A and (not A or B)` as `A and B`, so exported relevant conditions stay readable."""
    return _combine("all", parts)


def any_of(parts: Sequence[Cond]) -> Cond:
    """`any` of the parts, folded as `all_of` is (`A or (not A and B)` is `A or B`)."""
    return _combine("any", parts)


def _combine(word: str, parts: Sequence[Cond]) -> Cond:
    absorbing = word == "any"  # True decides an `any`, False an `all`
    other = "all" if word == "any" else "any"
    kept: list[dict[str, Any]] = []
    for part in parts:
        if part is absorbing:
            return absorbing
        if isinstance(part, bool):
            continue
        for item in part[word] if set(part) == {word} else [part]:
            if item not in kept:
                kept.append(item)
    changed = True
    while changed:
        changed = False
        for index, item in enumerate(kept):
            if not_of(item) in kept:
                return absorbing
            if set(item) != {other}:
                continue
            siblings = [k for k in kept if k is not item]
            inner = [c for c in item[other] if not_of(c) not in siblings]
            if len(inner) != len(item[other]):
                folded = _combine(other, inner)
                if isinstance(folded, bool):
                    if folded is absorbing:
                        return absorbing
                    del kept[index]
                else:
                    kept[index] = folded
                changed = True
                break
    if not kept:
        return not absorbing
    return kept[0] if len(kept) == 1 else {word: kept}


def not_of(part: Cond) -> Cond:
    if isinstance(part, bool):
        return not part
    if set(part) == {"not"}:
        inner: dict[str, Any] = part["not"]
        return inner
    return {"not": part}


def assume_unanswered(cond: Cond, steps: set[str]) -> Cond:
    """`cond` with every test of a step in `steps` decided as it is for a step that was
    never reached: comparisons false, `answered` and `skipped` false."""
    if isinstance(cond, bool):
        return cond
    if "all" in cond:
        return all_of([assume_unanswered(c, steps) for c in cond["all"]])
    if "any" in cond:
        return any_of([assume_unanswered(c, steps) for c in cond["any"]])
    if "not" in cond:
        return not_of(assume_unanswered(cond["not"], steps))
    ref = cond.get("step") or cond.get("answered") or cond.get("skipped")
    return False if ref in steps else cond


def condition_data(condition: Condition) -> dict[str, Any]:
    data: dict[str, Any] = condition.model_dump(by_alias=True, exclude_none=True)
    return data


# --- relevant expressions: XLSForm's XPath subset <-> conditions ---------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\$\{[^}]*\})
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>!=|>=|<=|=|>|<)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_:.-]*)
    | (?P<other>\S+)
    )""",
    re.X,
)


class _ExpressionError(Exception):
    def __init__(self, message: str, **params: str) -> None:
        super().__init__(message)
        self.message, self.params = message, params


@dataclass
class _Token:
    kind: str
    text: str


def _tokens(expression: str) -> list[_Token]:
    found: list[_Token] = []
    for match in _TOKEN.finditer(expression):
        kind = match.lastgroup
        if kind is None:
            continue
        found.append(_Token(kind, match.group(kind)))
    return found


#: What the expression reader needs to know about a question it reads.
QuestionKinds = Mapping[str, K]


class _Expression:
    """A recursive-descent reader of the part of XPath Konsulta can express."""

    def __init__(self, text: str, questions: QuestionKinds) -> None:
        self.tokens, self.at, self.questions = _tokens(text), 0, questions

    def parse(self) -> Cond:
        if not self.tokens:
            raise _ExpressionError(N_("relevant %(expression)s: the expression is empty"))
        result = self._or()
        if self.at < len(self.tokens):
            self._unsupported()
        return result

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self, text: str | None = None) -> _Token:
        token = self._peek()
        if token is None or (text is not None and token.text != text):
            if token is None:
                raise _ExpressionError(N_("relevant %(expression)s: the expression ends too early"))
            self._unsupported()
        self.at += 1
        assert token is not None
        return token

    def _unsupported(self) -> None:
        token = self._peek()
        raise _ExpressionError(
            N_(
                "relevant %(expression)s: '%(part)s' is not supported; Konsulta understands "
                "${q} = 'x', ${q} != 'x', ${q} > 3, ${q} = '', selected(${q}, 'x'), "
                "not(...), and, or"
            ),
            part=token.text if token else "",
        )

    def _or(self) -> Cond:
        parts = [self._and()]
        while (token := self._peek()) is not None and token.text == "or":
            self.at += 1
            parts.append(self._and())
        return any_of(parts)

    def _and(self) -> Cond:
        parts = [self._unary()]
        while (token := self._peek()) is not None and token.text == "and":
            self.at += 1
            parts.append(self._unary())
        return all_of(parts)

    def _unary(self) -> Cond:
        token = self._peek()
        if token is None:
            raise _ExpressionError(N_("relevant %(expression)s: the expression ends too early"))
        if token.text == "(":
            self.at += 1
            inner = self._or()
            self._take(")")
            return inner
        if token.kind == "word" and token.text in {"not", "selected", "contains"}:
            self.at += 1
            self._take("(")
            if token.text == "not":
                inner = self._or()
                self._take(")")
                return not_of(inner)
            step = self._ref()
            self._take(",")
            value = self._literal()
            self._take(")")
            return {"step": step, "contains": value}
        if token.kind == "word" and token.text in {"true", "false"}:
            self.at += 1
            self._take("(")
            self._take(")")
            return token.text == "true"
        return self._comparison()

    def _ref(self) -> str:
        token = self._take()
        if token.kind != "ref":
            self.at -= 1
            self._unsupported()
        name = token.text[2:-1].strip()
        if name not in self.questions:
            raise _ExpressionError(
                N_("relevant %(expression)s: ${%(name)s} is not a question asked before this row"),
                name=name,
            )
        return name

    def _literal(self) -> str | int | float:
        token = self._take()
        if token.kind == "string":
            return token.text[1:-1]
        if token.kind == "number":
            number = float(token.text)
            return int(number) if number.is_integer() and "." not in token.text else number
        self.at -= 1
        self._unsupported()
        raise AssertionError  # _unsupported always raises

    def _comparison(self) -> Cond:
        token = self._peek()
        flipped = token is not None and token.kind != "ref"
        if flipped:
            left: str | int | float = self._literal()
        else:
            step = self._ref()
        op = self._take()
        if op.kind != "op":
            self.at -= 1
            self._unsupported()
        if flipped:
            step = self._ref()
            value = left
            op_text = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op.text, op.text)
        else:
            value = self._literal()
            op_text = op.text
        return self._compare(step, op_text, value)

    def _compare(self, step: str, op: str, value: str | int | float) -> Cond:
        kind = self.questions[step]
        if value == "":
            if op not in {"=", "!="}:
                raise _ExpressionError(
                    N_("relevant %(expression)s: only = '' and != '' compare with empty")
                )
            answered: Cond = {"answered": step}
            return not_of(answered) if op == "=" else answered
        if kind is K.YES_NO and isinstance(value, str):
            value = value.strip().lower()
        if op in {"=", "!="}:
            equals: Cond = {"step": step, "equals": value}
            return equals if op == "=" else not_of(equals)
        if isinstance(value, str):
            raise _ExpressionError(
                N_("relevant %(expression)s: '%(op)s' compares numbers, not '%(value)s'"),
                op=op,
                value=value,
            )
        if op == ">":
            return {"step": step, "greater": value}
        if op == "<":
            return {"step": step, "less": value}
        bound = "greater" if op == ">=" else "less"
        return any_of([{"step": step, bound: value}, {"step": step, "equals": value}])


def parse_relevant(expression: str, questions: QuestionKinds) -> Cond:
    """A `relevant` expression as a condition; raises _ExpressionError."""
    return _Expression(expression, questions).parse()


def _literal_text(value: Any, kind: K | None) -> str:
    if isinstance(value, bool):
        return "'yes'" if value else "'no'"
    if isinstance(value, int | float) and kind in {K.NUMBER, K.SCALE}:
        return _number_text(value)
    text = _number_text(value) if isinstance(value, int | float) else str(value)
    return "'" + text.replace("'", "") + "'"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def expression_of(cond: Cond, kinds: Mapping[str, K]) -> str:
    """A condition as an XLSForm expression (the inverse of `parse_relevant`)."""
    if cond is True:
        return "true()"
    if cond is False:
        return "false()"
    if "all" in cond or "any" in cond:
        word, parts = ("and", cond["all"]) if "all" in cond else ("or", cond["any"])
        return "(" + f" {word} ".join(expression_of(p, kinds) for p in parts) + ")"
    if "not" in cond:
        return f"not({expression_of(cond['not'], kinds)})"
    if "answered" in cond:
        return "${" + str(cond["answered"]) + "} != ''"
    if "skipped" in cond:
        return "${" + str(cond["skipped"]) + "} = ''"
    step = cond["step"]
    kind, ref = kinds.get(step), "${" + step + "}"
    if "equals" in cond:
        return f"{ref} = {_literal_text(cond['equals'], kind)}"
    if "in" in cond:
        return expression_of(any_of([{"step": step, "equals": v} for v in cond["in"]]), kinds)
    if "contains" in cond:
        function = "contains" if kind is K.TEXT else "selected"
        return f"{function}({ref}, {_literal_text(cond['contains'], None)})"
    if "greater" in cond:
        return f"{ref} > {_number_text(cond['greater'])}"
    return f"{ref} < {_number_text(cond['less'])}"


# --- reading a workbook ----------------------------------------------------------------

_LANGUAGE_IN_COLUMN = re.compile(r"\(\s*([A-Za-z-]+)\s*\)\s*$")


@dataclass
class _Row:
    number: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _column_name(header: str) -> str:
    """`Label::Polski (pl)` -> `label::Polski (pl)`; `begin group`'s spaces kept."""
    base, sep, language = header.strip().partition("::")
    return base.strip().lower().replace(" ", "_") + (sep + language.strip() if sep else "")


#: More rows than any consultation has: a sheet beyond this is refused, not read.
MAX_ROWS = 2000
MAX_COLUMNS = 200


class _TooLarge(Exception):
    pass


def _sheet_rows(workbook: Any, name: str) -> list[_Row] | None:
    sheet = next((workbook[s] for s in workbook.sheetnames if s.strip().lower() == name), None)
    if sheet is None:
        return None
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return []
    columns = [_column_name(_cell_text(h)) for h in header[:MAX_COLUMNS]]
    found: list[_Row] = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise _TooLarge(name)
        cells = {
            column: _cell_text(value)
            for column, value in zip(columns, values, strict=False)
            if column and _cell_text(value).strip()
        }
        if cells:
            found.append(_Row(number, cells))
    return found


def _language_of(column: str) -> str | None:
    """The language code of `label::Polski (pl)` (or `label::pl`); None for `label`."""
    _base, sep, language = column.partition("::")
    if not sep:
        return None
    match = _LANGUAGE_IN_COLUMN.search(language)
    code = match.group(1) if match else language
    return code.strip().lower()


class _Reader:
    """Builds the flow data from the three sheets, collecting every problem."""

    def __init__(self, workbook: Any, source_name: str, organisation: str | None) -> None:
        self.source_name, self.organisation = source_name, organisation
        self.problems: list[FormProblem] = []
        self.survey = _sheet_rows(workbook, "survey")
        self.choices = _sheet_rows(workbook, "choices") or []
        self.settings = _sheet_rows(workbook, "settings") or []
        self.languages: list[str] = []
        self.default = ""
        self.step_rows: dict[str, int] = {}
        self.end_rows: dict[str, int] = {}

    def add(self, sheet: str, row: int | None, message: str, **params: str) -> None:
        self.problems.append(FormProblem(sheet, row, message, params))

    # languages ---------------------------------------------------------------------

    def _find_languages(self) -> None:
        seen: list[str] = []
        for sheet, rows, columns in (
            ("survey", self.survey or [], TRANSLATED),
            ("choices", self.choices, {"label"}),
            ("settings", self.settings, SETTINGS_TRANSLATED),
        ):
            for column in dict.fromkeys(c for row in rows for c in row.cells):
                base = column.partition("::")[0]
                code = _language_of(column)
                if base not in columns or code is None:
                    continue
                if code not in LANGUAGE_NAMES:
                    self.add(
                        sheet,
                        None,
                        N_(
                            "column '%(column)s': '%(code)s' is not one of Konsulta's languages "
                            "(%(languages)s)"
                        ),
                        column=column,
                        code=code,
                        languages=", ".join(LANGUAGE_NAMES),
                    )
                elif code not in seen:
                    seen.append(code)
        setting = self._setting("default_language")
        default = _language_of("x::" + setting) if setting else None
        if setting and default not in LANGUAGE_NAMES:
            self.add(
                "settings",
                2,
                N_(
                    "default_language '%(value)s' is not one of Konsulta's languages "
                    "(%(languages)s)"
                ),
                value=setting,
                languages=", ".join(LANGUAGE_NAMES),
            )
            default = None
        if default is None and seen:
            default = seen[0]
        if default is None:
            self.add(
                "settings",
                None,
                N_(
                    "no language: name it in the columns (label::Polski (pl)) or in "
                    "default_language"
                ),
            )
            default = "pl"
        self.default = default
        self.languages = [default, *(code for code in seen if code != default)]

    def text(self, row: _Row, base: str) -> dict[str, str] | None:
        found: dict[str, str] = {}
        for column, value in row.cells.items():
            if column.partition("::")[0] != base or not value.strip():
                continue
            code = _language_of(column) or self.default
            if code in LANGUAGE_NAMES:
                found[code] = value.strip()
        return found or None

    # settings ----------------------------------------------------------------------

    def _setting(self, name: str) -> str:
        return self.settings[0].get(name) if self.settings else ""

    def _settings(self) -> dict[str, Any]:
        row = self.settings[0] if self.settings else _Row(2, {})
        data: dict[str, Any] = {}
        form_id = row.get("form_id") or re.sub(r"\.xlsx?$", "", self.source_name)
        data["id"] = re.sub(r"[^a-z0-9-]+", "-", form_id.lower().replace("_", "-")).strip("-")
        version = row.get("version") or "1"
        if not version.isdigit():
            self.add(
                "settings",
                row.number,
                N_("version '%(value)s' should be a whole number like 1 or 2"),
                value=version,
            )
            version = "1"
        data["version"] = int(version)
        data["title"] = self.text(row, "form_title") or {
            self.default: row.get("form_id") or form_id
        }
        if description := self.text(row, "description"):
            data["description"] = description
        organisation = row.get("organisation") or self.organisation
        if not organisation:
            self.add(
                "settings",
                row.number,
                N_(
                    "organisation is missing: add an organisation column with who runs "
                    "the consultation"
                ),
            )
            organisation = "?"
        data["organisation"] = organisation
        data["languages"] = self.languages
        data["default_language"] = self.default
        for name in ("opens", "closes"):
            if value := row.get(name):
                try:
                    data[name] = dt.date.fromisoformat(value)
                except ValueError:
                    self.add(
                        "settings",
                        row.number,
                        N_("%(column)s '%(value)s' should be a date like 2026-01-31"),
                        column=name,
                        value=value,
                    )
        consent = self.text(row, "consent")
        if consent is None:
            self.add(
                "settings",
                row.number,
                N_(
                    "consent is missing: add a column consent::%(language)s saying what is "
                    "collected, why, who sees it and that /delete erases it"
                ),
                language=f"{LANGUAGE_NAMES[self.default]} ({self.default})",
            )
            consent = {self.default: "?"}
        data["consent"] = consent
        for name in ("contact_consent", "name_consent"):
            if value_text := self.text(row, name):
                data[name] = value_text
        if region := row.get("phone_region"):
            data["phone_region"] = region.upper()
        if months := row.get("retention_months"):
            if months.isdigit():
                data["retention_months"] = int(months)
            else:
                self.add(
                    "settings",
                    row.number,
                    N_("retention_months '%(value)s' should be a whole number"),
                    value=months,
                )
        return data

    # choices -----------------------------------------------------------------------

    def _lists(self) -> dict[str, list[dict[str, Any]]]:
        lists: dict[str, list[dict[str, Any]]] = {}
        for row in self.choices:
            list_name = row.get("list_name") or row.get("list name")
            key = row.get("name")
            if not list_name or not key:
                self.add("choices", row.number, N_("a choice needs list_name and name"))
                continue
            if not re.fullmatch(OPTION_KEY_PATTERN, key):
                self.add(
                    "choices",
                    row.number,
                    N_(
                        "name '%(name)s' is not a valid option key: use letters, digits, "
                        "_ . -, at most 16"
                    ),
                    name=key,
                )
                continue
            option: dict[str, Any] = {"key": key, "label": self.text(row, "label") or key}
            if emoji := row.get("emoji"):
                option["emoji"] = emoji
            lists.setdefault(list_name, []).append(option)
        return lists

    # survey ------------------------------------------------------------------------

    def read(self) -> dict[str, Any] | None:
        if self.survey is None:
            self.add("survey", None, N_("the workbook has no survey sheet"))
            return None
        self._find_languages()
        data = self._settings()
        lists = self._lists()
        groups: list[Cond] = []
        entries: list[tuple[_Row, dict[str, Any], Cond]] = []
        kinds: dict[str, K] = {}
        for row in self.survey:
            type_text = " ".join(row.get("type").split())
            if not type_text:
                continue
            word, _, argument = type_text.partition(" ")
            word = word.lower()
            if word in {"begin", "end"} and argument.lower() in {"group", "repeat"}:
                word, argument = f"{word}_{argument.lower()}", ""
            if word == "begin_group":
                groups.append(self._relevant(row, kinds))
                continue
            if word == "end_group":
                if groups:
                    groups.pop()
                continue
            if word in METADATA or (word == "calculate" and row.get("name") in KOBO_VERSION):
                continue
            step = self._step(row, word, argument.strip(), lists)
            if step is None:
                continue
            relevant = all_of([*groups, self._relevant(row, kinds)])
            entries.append((row, step, relevant))
            if step["kind"] is not K.MESSAGE:
                kinds[step["id"]] = step["kind"]
            self.step_rows.setdefault(step["id"], row.number)
        last_question = max(
            (i for i, (_r, s, _c) in enumerate(entries) if s["kind"] is not K.MESSAGE),
            default=-1,
        )
        if last_question < 0:
            self.add("survey", None, N_("the form has no question"))
            return None
        ends = entries[last_question + 1 :]
        steps = entries[: last_question + 1]
        if not ends:
            self.add(
                "survey",
                None,
                N_(
                    "no closing message: add a note after the last question (the first note "
                    "there whose relevant holds is the citizen's last message)"
                ),
            )
            return None
        data["steps"] = self._with_next(steps)
        data["ends"] = []
        for row, step, relevant in ends:
            end: dict[str, Any] = {"id": step["id"]}
            if relevant is not True:
                end["when"] = relevant
            end["text"] = step["text"]
            self.end_rows.setdefault(step["id"], row.number)
            data["ends"].append(end)
        for kind_step in data["steps"]:
            kind_step["kind"] = kind_step["kind"].value
        return data

    def _relevant(self, row: _Row, kinds: QuestionKinds) -> Cond:
        expression = row.get("relevant")
        if not expression:
            return True
        try:
            return parse_relevant(expression, kinds)
        except _ExpressionError as error:
            self.add(
                "survey",
                row.number,
                error.message,
                expression=expression,
                **error.params,
            )
            return True

    def _step(
        self, row: _Row, word: str, argument: str, lists: Mapping[str, list[dict[str, Any]]]
    ) -> dict[str, Any] | None:
        name = row.get("name")
        if word in UNSUPPORTED_TYPES or word not in {
            *SIMPLE_KINDS,
            "select_one",
            "select_multiple",
            "rank",
            "range",
        }:
            message = UNSUPPORTED_TYPES.get(word, N_("type '%(type)s' is not supported"))
            self.add("survey", row.number, message, type=word)
            return None
        if not re.fullmatch(STEP_ID_PATTERN, name):
            self.add(
                "survey",
                row.number,
                N_(
                    "name '%(name)s' is not a Konsulta id: use a-z, 0-9 and _, start with a "
                    "letter, at most 24 characters"
                ),
                name=name,
            )
            return None
        for column, message in UNSUPPORTED_COLUMNS.items():
            if row.get(column):
                self.add("survey", row.number, message)
        for column in row.cells:
            if column.startswith(MEDIA_COLUMNS):
                self.add(
                    "survey",
                    row.number,
                    N_("column '%(column)s': pictures and sounds in a question are not supported"),
                    column=column,
                )
        label = self.text(row, "label")
        if label is None:
            self.add("survey", row.number, N_("the question has no label"))
            label = {self.default: name}
        step: dict[str, Any] = {"id": name, "kind": K.MESSAGE, "text": label}
        if hint := self.text(row, "hint"):
            step["help"] = hint
        if error := self.text(row, "constraint_message") or self.text(row, "required_message"):
            step["error"] = error
        appearance = set(row.get("appearance").lower().split())
        parameters = dict(
            part.partition("=")[::2] for part in re.split(r"[\s;,]+", row.get("parameters")) if part
        )
        if word in {"select_one", "select_multiple", "rank"}:
            if argument.endswith(" or_other"):
                self.add(
                    "survey",
                    row.number,
                    N_(
                        "'or_other' is not supported: add an 'other' choice and a text "
                        "question with relevant selected(${%(name)s}, 'other')"
                    ),
                    name=name,
                )
                return None
            options = lists.get(argument)
            if options is None:
                self.add(
                    "survey",
                    row.number,
                    N_("list '%(list)s' is not on the choices sheet"),
                    list=argument,
                )
                return None
            keys = {o["key"] for o in options}
            if word == "select_one" and keys == {"yes", "no"}:
                step["kind"] = K.YES_NO
            else:
                step["kind"] = {
                    "select_one": K.SINGLE_CHOICE,
                    "select_multiple": K.MULTIPLE_CHOICE,
                    "rank": K.RANKING,
                }[word]
                step["options"] = [dict(o) for o in options]
            if word == "rank" and (up_to := parameters.get("rank_up_to")):
                step["rank_up_to"] = int(up_to) if up_to.isdigit() else up_to
        elif word == "range":
            if not self._range(row, parameters, step):
                return None
        else:
            step["kind"] = SIMPLE_KINDS[word]
            if word == "integer":
                step["integer"] = True
            elif word == "decimal":
                step["integer"] = False
        kind = step["kind"]
        if APPEARANCE_CONTACT in appearance:
            if kind is K.TEXT:
                step["kind"] = K.CONTACT
            elif kind is K.LOCATION:
                step["contact_data"] = True
        if kind is K.TEXT and APPEARANCE_MEDIA in appearance:
            step["allow_media"] = True
        if kind is K.TEXT and APPEARANCE_NO_VOICE in appearance:
            step["allow_voice"] = False
        if kind is K.LOCATION and APPEARANCE_NO_TYPED in appearance:
            step["allow_typed"] = False
        if constraint := row.get("constraint"):
            self._constraint(row, constraint, step)
        required = row.get("required").lower()
        if required not in {"", "yes", "true", "true()", "1", "no", "false", "false()", "0"}:
            self.add(
                "survey",
                row.number,
                N_("required '%(value)s' should be yes or no (a condition is not supported)"),
                value=row.get("required"),
            )
        if kind is not K.MESSAGE and required not in {"yes", "true", "true()", "1"}:
            step["required"] = False
        return step

    def _range(self, row: _Row, parameters: Mapping[str, str], step: dict[str, Any]) -> bool:
        try:
            start = float(parameters.get("start", "1"))
            end = float(parameters.get("end", "10"))
            stride = float(parameters.get("step", "1"))
        except ValueError:
            stride, start, end = 0.0, 0.0, 0.0
        points = end - start + 1
        if stride != 1 or not start.is_integer() or not end.is_integer() or not 2 <= points <= 11:
            self.add(
                "survey",
                row.number,
                N_(
                    "type 'range' with parameters '%(parameters)s' is not supported: a scale "
                    "goes in steps of 1 over 2 to 11 whole numbers; use integer with a "
                    "constraint instead"
                ),
                parameters=row.get("parameters"),
            )
            return False
        step.update(kind=K.SCALE, min=int(start), max=int(end))
        for column in ("min_label", "max_label"):
            if text := self.text(row, column):
                step[column] = text
        if emoji := row.get("emoji"):
            step["emoji"] = emoji.split()
        return True

    def _constraint(self, row: _Row, constraint: str, step: dict[str, Any]) -> None:
        """`. >= 1 and . <= 10`, `string-length(.) <= 500`, `count-selected(.) <= 3`,
        `. >= date('2026-01-01')`: the bounds Konsulta checks itself."""
        kind = step["kind"]
        subject = {
            K.NUMBER: r"\.",
            K.DATE: r"\.",
            K.TEXT: r"string-length\(\s*\.\s*\)",
            K.MULTIPLE_CHOICE: r"count-selected\(\s*\.\s*\)",
        }.get(kind)
        names = {
            K.NUMBER: ("min", "max"),
            K.DATE: ("min_date", "max_date"),
            K.TEXT: ("min_length", "max_length"),
            K.MULTIPLE_CHOICE: ("min_picks", "max_picks"),
        }.get(kind)
        value = r"(-?\d+(?:\.\d+)?|date\(\s*'(\d{4}-\d\d-\d\d)'\s*\))"
        for clause in re.split(r"\s+and\s+", constraint.strip()):
            match = (
                re.fullmatch(rf"\s*{subject}\s*(>=|<=|>|<)\s*{value}\s*", clause)
                if subject and names
                else None
            )
            if match is None or names is None or (kind is K.DATE) != bool(match.group(3)):
                self.add(
                    "survey",
                    row.number,
                    N_(
                        "constraint '%(constraint)s' is not supported; Konsulta checks only "
                        "bounds such as . >= 1 and . <= 10, string-length(.) <= 500, "
                        "count-selected(.) <= 3, . >= date('2026-01-01')"
                    ),
                    constraint=constraint,
                )
                return
            op, number = match.group(1), match.group(2)
            bound: Any
            if kind is K.DATE:
                bound = dt.date.fromisoformat(match.group(3))
                if op in {">", "<"}:
                    bound += dt.timedelta(days=1 if op == ">" else -1)
            else:
                bound = float(number)
                if op in {">", "<"}:
                    if not bound.is_integer() or (kind is K.NUMBER and not step.get("integer")):
                        self.add(
                            "survey",
                            row.number,
                            N_("constraint '%(constraint)s': use >= or <= for a decimal bound"),
                            constraint=constraint,
                        )
                        return
                    bound += 1 if op == ">" else -1
                if kind is not K.NUMBER or bound.is_integer():
                    bound = int(bound)
            step[names[0] if op in {">=", ">"} else names[1]] = bound

    def _with_next(self, entries: list[tuple[_Row, dict[str, Any], Cond]]) -> list[dict[str, Any]]:
        """Each step's `next` rules from the later steps' `relevant` conditions."""
        first_row, _first, first_relevant = entries[0]
        if first_relevant is not True:
            self.add(
                "survey",
                first_row.number,
                N_("the first row cannot have relevant: nothing is answered before it"),
            )
        steps = [step for _row, step, _cond in entries]
        for index, step in enumerate(steps):
            rules: list[dict[str, Any]] = []
            passed: set[str] = set()
            target: str | None = END
            for later in range(index + 1, len(steps)):
                _row, candidate, relevant = entries[later]
                cond = assume_unanswered(relevant, passed)
                if cond is True:
                    target = candidate["id"]
                    break
                if cond is not False:
                    rules.append({"when": cond, "goto": candidate["id"]})
                passed.add(candidate["id"])
            if target is not None and (rules or target != _next_id(steps, index)):
                rules.append({"goto": target})
            if rules:
                step["next"] = rules
        return steps

    def locate(self, problem: Problem) -> FormProblem:
        """A loader problem pointed back at the row it concerns."""
        row = None
        step = problem.step or ""
        if step in self.step_rows:
            row = self.step_rows[step]
        elif match := re.fullmatch(r"step #(\d+)", step):
            rows = list(self.step_rows.values())
            number = int(match.group(1)) - 1
            row = rows[number] if number < len(rows) else None
        elif match := re.match(r"end (\w+)", problem.message):
            row = self.end_rows.get(match.group(1))
        sheet = "survey" if row is not None else "settings"
        message = problem.message if row is not None or not step else f"{step}: {problem.message}"
        return FormProblem(sheet, row, message, translatable=False)


def _next_id(steps: list[dict[str, Any]], index: int) -> str:
    return steps[index + 1]["id"] if index + 1 < len(steps) else END


class _NoAliases(yaml.SafeDumper):
    """Writes a condition used twice out twice: staff read `when:`, not `*id001`."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_flow(data: Mapping[str, Any]) -> str:
    """Flow data as YAML text, as a person would write it (keys in the schema's order)."""
    text: str = yaml.dump(
        dict(data),
        Dumper=_NoAliases,
        allow_unicode=True,
        sort_keys=False,
        width=100,
        default_flow_style=False,
    )
    return text


def read_xlsform(
    data: bytes, source_name: str = "form.xlsx", *, organisation: str | None = None
) -> Imported:
    """A spreadsheet form as flow YAML, checked like `konsulta flows check`. Never raises.

    `organisation` stands in when the settings sheet names none (the dashboard passes
    the staff member's own)."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        return Imported(None, None, [FormProblem("form", None, N_("not an .xlsx workbook"))])
    try:
        reader = _Reader(workbook, source_name, organisation)
        flow_data = reader.read()
    except _TooLarge as error:
        too_many = N_("the sheet has more than %(rows)s rows")
        return Imported(
            None, None, [FormProblem(str(error), None, too_many, {"rows": str(MAX_ROWS)})]
        )
    finally:
        workbook.close()
    if flow_data is None or reader.problems:
        text = dump_flow(flow_data) if flow_data is not None else None
        return Imported(text, None, reader.problems)
    yaml_text = dump_flow(flow_data)
    flow, problems = check_flow_text(yaml_text, source_name)
    return Imported(yaml_text, flow if not problems else None, [reader.locate(p) for p in problems])


# --- writing a workbook ----------------------------------------------------------------


def reach_conditions(flow: Flow) -> list[Cond]:
    """For each main step, the condition under which a citizen reaches it.

    Raises ExportError for a `goto` back to an earlier step (a loop), which no
    `relevant` can say."""
    steps = flow.steps
    reach: list[Cond] = [False] * len(steps)
    reach[0] = True
    index_of = {step.id: i for i, step in enumerate(steps)}
    loops: list[str] = []
    for index, step in enumerate(steps):
        before: Cond = True  # no earlier rule of this step held
        falls_through = True
        for rule in step.next:
            when: Cond = True if rule.when is None else condition_data(rule.when)
            edge = all_of([reach[index], before, when])
            if rule.goto != END:
                target = index_of[rule.goto]
                if target <= index:
                    loops.append(f"{step.id}: goto '{rule.goto}' goes back; XLSForm has no loops")
                else:
                    reach[target] = any_of([reach[target], edge])
            before = all_of([before, not_of(when)])
            falls_through = rule.when is not None
        if falls_through and index + 1 < len(steps):
            reach[index + 1] = any_of([reach[index + 1], all_of([reach[index], before])])
    loops += [
        f"{step.id}: a {step.kind.value} step has no XLSForm equivalent "
        "(its statements come from other citizens)"
        for step in steps
        if step.kind in (K.STATEMENTS, K.PRIORITIES)
    ]
    if loops:
        raise ExportError(loops)
    return reach


class _Writer:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.languages = flow.languages
        self.kinds = {s.id: s.kind for s in flow.steps}

    def texts(self, base: str, text: Any) -> dict[str, str]:
        return {
            f"{base}::{LANGUAGE_NAMES.get(lang, lang)} ({lang})": (
                self.flow.localize(text, lang) if text is not None else ""
            )
            for lang in self.languages
        }

    def survey(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        choices: list[dict[str, Any]] = []
        yes_no_written = False
        for step, reach in zip(self.flow.steps, reach_conditions(self.flow), strict=True):
            row: dict[str, Any] = {"name": step.id, **self.texts("label", step.text)}
            if step.help is not None:
                row.update(self.texts("hint", step.help))
            if step.error is not None:
                row.update(self.texts("constraint_message", step.error))
            if step.is_question:
                row["required"] = "yes" if step.required else ""
            if reach is not True:
                row["relevant"] = expression_of(reach, self.kinds)
            row["type"] = self._type(step, row)
            if step.kind is K.YES_NO and not yes_no_written:
                yes_no_written = True
                for key, index in (("yes", 0), ("no", 1)):
                    choices.append(
                        {
                            "list_name": YES_NO_LIST,
                            "name": key,
                            **{
                                f"label::{LANGUAGE_NAMES.get(lang, lang)} ({lang})": (
                                    YES_NO_LABELS.get(lang, ("Yes", "No"))[index]
                                )
                                for lang in self.languages
                            },
                        }
                    )
            for option in step.options:
                choice = {"list_name": _list_name(step), "name": option.key}
                choice.update(self.texts("label", option.label))
                if option.emoji:
                    choice["emoji"] = option.emoji
                choices.append(choice)
            rows.append(row)
        kinds = self.kinds
        for end in self.flow.ends:
            row = {"type": "note", "name": _end_name(self.flow, end)}
            row.update(self.texts("label", end.text))
            if end.when is not None:
                row["relevant"] = expression_of(condition_data(end.when), kinds)
            rows.append(row)
        return rows, choices

    def _type(self, step: Step, row: dict[str, Any]) -> str:
        appearance: list[str] = []
        constraint: list[str] = []
        parameters: list[str] = []

        def bounds(subject: str, low: Any, high: Any, wrap: Callable[[Any], str]) -> None:
            if low is not None:
                constraint.append(f"{subject} >= {wrap(low)}")
            if high is not None:
                constraint.append(f"{subject} <= {wrap(high)}")

        kind = step.kind
        if kind is K.SINGLE_CHOICE:
            type_text = f"select_one {_list_name(step)}"
        elif kind is K.YES_NO:
            type_text = f"select_one {YES_NO_LIST}"
        elif kind is K.MULTIPLE_CHOICE:
            type_text = f"select_multiple {_list_name(step)}"
            bounds("count-selected(.)", step.min_picks, step.max_picks, str)
        elif kind is K.RANKING:
            type_text = f"rank {_list_name(step)}"
            if step.rank_up_to is not None:
                parameters.append(f"rank_up_to={step.rank_up_to}")
        elif kind in {K.TEXT, K.CONTACT}:
            type_text = "text"
            if kind is K.CONTACT:
                appearance.append(APPEARANCE_CONTACT)
            else:
                if step.allow_media:
                    appearance.append(APPEARANCE_MEDIA)
                if not step.allow_voice:
                    appearance.append(APPEARANCE_NO_VOICE)
            bounds("string-length(.)", step.min_length, step.max_length, str)
        elif kind is K.NUMBER:
            type_text = "integer" if step.integer else "decimal"
            bounds(".", step.min, step.max, _number_text)
        elif kind is K.SCALE:
            type_text = "range"
            assert step.min is not None and step.max is not None
            parameters.append(f"start={_number_text(step.min)} end={_number_text(step.max)} step=1")
            if step.min_label is not None:
                row.update(self.texts("min_label", step.min_label))
            if step.max_label is not None:
                row.update(self.texts("max_label", step.max_label))
            if step.emoji:
                row["emoji"] = " ".join(step.emoji)
        elif kind is K.DATE:
            type_text = "date"
            bounds(".", step.min_date, step.max_date, lambda d: f"date('{d.isoformat()}')")
        elif kind is K.LOCATION:
            type_text = "geopoint"
            if step.contact_data:
                appearance.append(APPEARANCE_CONTACT)
            if not step.allow_typed:
                appearance.append(APPEARANCE_NO_TYPED)
        else:
            type_text = {K.PHOTO: "image", K.VOICE: "audio", K.MESSAGE: "note"}[kind]
        if appearance:
            row["appearance"] = " ".join(appearance)
        if constraint:
            row["constraint"] = " and ".join(constraint)
        if parameters:
            row["parameters"] = " ".join(parameters)
        return type_text

    def settings(self) -> dict[str, Any]:
        flow = self.flow
        row: dict[str, Any] = {
            "form_id": flow.id,
            "version": flow.version,
            "default_language": f"{LANGUAGE_NAMES.get(flow.default_language, '')} "
            f"({flow.default_language})".strip(),
            **self.texts("form_title", flow.title),
            "organisation": flow.organisation,
        }
        for name, text in (
            ("description", flow.description),
            ("consent", flow.consent),
            ("contact_consent", flow.contact_consent),
            ("name_consent", flow.name_consent),
        ):
            if text is not None:
                row.update(self.texts(name, text))
        for name, value in (
            ("opens", flow.opens),
            ("closes", flow.closes),
            ("retention_months", flow.retention_months),
        ):
            if value is not None:
                row[name] = value.isoformat() if isinstance(value, dt.date) else value
        row["phone_region"] = flow.phone_region
        return row


def _list_name(step: Step) -> str:
    """The step's own choices list, never the shared yes/no list's name."""
    return step.id if step.id != YES_NO_LIST else f"{step.id}_options"


def _end_name(flow: Flow, end: EndMessage) -> str:
    """The end's id as a row name, unless a step has it too (XLSForm names are unique)."""
    if end.id is not None and end.id not in {s.id for s in flow.steps}:
        return end.id
    index = next(i for i, e in enumerate(flow.ends) if e is end)
    return f"end_{end.id or index + 1}"[:24]


def _sheet(workbook: Any, title: str, rows: list[dict[str, Any]], first: Sequence[str]) -> None:
    sheet = workbook.create_sheet(title)
    columns = list(dict.fromkeys([*first, *(c for row in rows for c in row)]))
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column, "") for column in columns])


def write_xlsform(flow: Flow) -> tuple[bytes, list[str]]:
    """The flow as an XLSForm workbook, and what of it XLSForm could not hold (the
    follow-ups). Raises ExportError for a flow that loops back."""
    writer = _Writer(flow)
    survey, choices = writer.survey()
    workbook = openpyxl.Workbook(write_only=True)
    _sheet(workbook, "survey", survey, ["type", "name"])
    _sheet(workbook, "choices", choices, ["list_name", "name"])
    _sheet(workbook, "settings", [writer.settings()], ["form_title", "form_id", "version"])
    out = io.BytesIO()
    workbook.save(out)
    left_out = [
        f"follow-up '{followup.id}' ({followup.after_days} days after): XLSForm has no "
        "follow-ups; add it to the YAML after import"
        for followup in flow.followups
    ]
    return out.getvalue(), left_out


def problem_lines(problems: Sequence[FormProblem]) -> Iterator[str]:
    for problem in problems:
        yield str(problem)


__all__ = [
    "LANGUAGE_NAMES",
    "ExportError",
    "FormProblem",
    "Imported",
    "dump_flow",
    "reach_conditions",
    "read_xlsform",
    "write_xlsform",
]
