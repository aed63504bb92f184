"""Read consultation flows from YAML and refuse broken ones before a citizen sees them.

Flows are written by staff, not programmers, so a flow that validates against the schema
can still be wrong: a `goto` to a misspelt step, a question nobody can reach, a loop with
no end, a condition that reads an answer not given yet, a missing English text. Each of
those would strand or confuse a citizen mid-dialog, so they are caught here, at load
time, all at once, and reported as `file:step: problem` lines that the staff member can
act on without reading a traceback. The same checks serve the CLI, the bundled templates'
tests, the dashboard's publish button and the re-load of a published version from the
database (`load_flow_text`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dialogs.answers import is_region
from dialogs.render import placeholders
from dialogs.schema import (
    END,
    LANGUAGE_PATTERN,
    OPTION_KEY_PATTERN,
    STEP_ID_PATTERN,
    Condition,
    EndMessage,
    Flow,
    FollowUp,
    NextRule,
    Option,
    Step,
    StepKind,
    parse_flow,
)

#: Telegram refuses longer messages; a button label longer than this is cut off.
MAX_TEXT = 4096
MAX_LABEL = 64

CHOICE_KINDS = {StepKind.SINGLE_CHOICE, StepKind.MULTIPLE_CHOICE, StepKind.RANKING}
NUMERIC_KINDS = {StepKind.NUMBER, StepKind.SCALE, StepKind.STATEMENTS}
#: What a yes/no answer can be compared with (dialogs.conditions matches these).
YES_NO_WORDS = {"true", "false", "yes", "no"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a flow, located by file and step id."""

    file: str
    step: str | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.step}: {self.message}"
            if self.step
            else f"{self.file}: {self.message}"
        )


class FlowError(Exception):
    """A flow that must not be served; `problems` lists every reason at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- public API ---------------------------------------------------------------------


def load_flow(path: str | Path) -> Flow:
    """The flow in `path` with its gettext translations; raises FlowError if broken."""
    flow, problems = check_flow_file(path)
    if problems or flow is None:
        raise FlowError(problems)
    return flow


def load_flow_text(
    yaml_text: str, source_name: str, translations: dict[str, dict[str, str]] | None = None
) -> Flow:
    """A flow from YAML text (e.g. a published version stored in the database)."""
    flow, problems = check_flow_text(yaml_text, source_name, translations)
    if problems or flow is None:
        raise FlowError(problems)
    return flow


def check_flow_file(path: str | Path) -> tuple[Flow | None, list[Problem]]:
    """The flow (None if it cannot be built) and everything wrong with it. Never raises."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        return None, [Problem(path.name, None, f"cannot read the file: {error.strerror}")]
    except UnicodeDecodeError as error:
        return None, [Problem(path.name, None, f"not UTF-8 text (byte {error.start})")]
    translations, problems = load_translations(path)
    flow, flow_problems = check_flow_text(text, path.name, translations)
    return flow, problems + flow_problems


def check_flow_text(
    yaml_text: str, source_name: str, translations: dict[str, dict[str, str]] | None = None
) -> tuple[Flow | None, list[Problem]]:
    """Parse, validate and check YAML text. Never raises."""
    data, problems = _parse_yaml(yaml_text, source_name)
    if problems:
        return None, problems
    try:
        flow = parse_flow(data)
    except ValidationError as error:
        return None, _explain(error, data, source_name)
    except RecursionError:
        return None, [Problem(source_name, None, "the file is nested too deeply")]
    if translations:
        flow = flow.with_translations(translations)
    return flow, check_flow(flow, source_name)


def check_dir(path: str | Path) -> list[Problem]:
    """Problems of every *.yaml / *.yml flow in a directory (not its subdirectories)."""
    files = sorted(p for p in Path(path).iterdir() if p.suffix in {".yaml", ".yml"})
    return [problem for file in files for problem in check_flow_file(file)[1]]


def load_translations(path: str | Path) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """gettext catalogs of the flow in `path`: language -> {source text: translation}.

    Read from `locales/<lang>.po` beside the flow (shared by the folder's flows), then
    from `<flow stem>.locales/<lang>.po`, which wins. Fuzzy entries are skipped: a
    translator has not confirmed them, and a citizen should rather read the original.
    """
    path = Path(path)
    catalogs: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for folder in (path.parent / "locales", path.parent / f"{path.stem}.locales"):
        for po_file in sorted(folder.glob("*.po")):
            try:
                with po_file.open("rb") as stream:
                    catalog = read_po(stream, abort_invalid=True)
            except Exception as error:  # babel raises several kinds on a broken file
                where = f"{folder.name}/{po_file.name}"
                problems.append(Problem(where, None, f"cannot read translations: {error}"))
                continue
            texts = catalogs.setdefault(po_file.stem, {})
            for message in catalog:
                msgid, msgstr = message.id, message.string
                complete = isinstance(msgid, str) and isinstance(msgstr, str) and msgid and msgstr
                if complete and not message.fuzzy:
                    texts[str(msgid)] = str(msgstr)
    return catalogs, problems


def check_flow(flow: Flow, source_name: str) -> list[Problem]:
    """Everything the schema alone cannot see, for an already validated flow."""
    return _Checker(flow, source_name).run()


# --- YAML and schema errors ---------------------------------------------------------


#: Limits on what a flow's YAML may expand to: a few hundred bytes of nested aliases
#: (a "billion laughs") would otherwise take seconds and gigabytes to read and check.
MAX_YAML_NODES = 50_000
MAX_YAML_DEPTH = 40


class YamlTooLarge(ValueError):
    pass


def _expanded_size(node: yaml.Node, depth: int, memo: dict[int, int]) -> int:
    """How many nodes `node` stands for once every alias is expanded (memoised per node,
    so this is linear in the file even when the expansion is exponential)."""
    if depth > MAX_YAML_DEPTH:
        raise YamlTooLarge(f"the file is nested more than {MAX_YAML_DEPTH} levels deep")
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = MAX_YAML_NODES + 1  # an alias of itself (a cycle) is too large
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    size = 1
    for child in children:
        size += _expanded_size(child, depth + 1, memo)
        if size > MAX_YAML_NODES:
            break
    memo[id(node)] = size
    return size


def _safe_load(text: str) -> Any:
    """`yaml.safe_load`, refusing documents that expand beyond the limits above."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, 0, {}) > MAX_YAML_NODES:
            raise YamlTooLarge(
                f"the file expands to more than {MAX_YAML_NODES} values "
                "(too many nested &anchors and *aliases?)"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _parse_yaml(text: str, source: str) -> tuple[Any, list[Problem]]:
    try:
        data = _safe_load(text)
    except YamlTooLarge as error:
        return None, [Problem(source, None, str(error))]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f" on line {mark.line + 1}" if mark else ""
        return None, [Problem(source, None, f"YAML syntax error{line}: {error.problem or error}")]
    except yaml.YAMLError as error:
        return None, [Problem(source, None, f"YAML error: {error}")]
    except (ValueError, TypeError, OverflowError) as error:  # e.g. a date like 2026-02-30
        return None, [Problem(source, None, f"a value cannot be read: {error}")]
    except RecursionError:
        return None, [Problem(source, None, "the file is nested too deeply")]
    if not isinstance(data, dict):
        found = "empty" if data is None else f"a {type(data).__name__}"
        return None, [
            Problem(
                source, None, f"the file should be a mapping (id: ..., steps: ...), not {found}"
            )
        ]
    return data, []


_PATTERNS = {
    STEP_ID_PATTERN: "is not a valid id: use a-z, 0-9 and _, start with a letter, at most 24",
    OPTION_KEY_PATTERN: "is not a valid option key: use letters, digits, _ . -, at most 16",
    LANGUAGE_PATTERN: "is not a language code like pl or en",
    r"^[a-z][a-z0-9-]{1,59}$": "is not a valid flow id: use a-z, 0-9 and -, start with a letter",
}
_TYPES = {
    "string_type": "should be text",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "list_type": "should be a list (lines starting with -)",
    "dict_type": "should be a mapping (name: value lines)",
    "model_type": "should be a mapping (name: value lines)",
    "model_attributes_type": "should be a mapping (name: value lines)",
    "date_type": "should be a date like 2026-01-31",
    "date_parsing": "should be a date like 2026-01-31",
    "date_from_datetime_parsing": "should be a date like 2026-01-31",
    "date_from_datetime_inexact": "should be a date like 2026-01-31, without a time",
}
_UNION_WORDS = {
    "str": "text",
    "dict[str,str]": "texts by language (pl: ..., en: ...)",
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
}
_SINGULAR = {
    "steps": "step",
    "options": "option",
    "next": "next rule",
    "ends": "end",
    "followups": "follow-up",
    "all": "condition",
    "any": "condition",
    "in": "value",
    "languages": "language",
    "emoji": "emoji",
}
_MODELS: tuple[type[BaseModel], ...] = (
    Flow,
    Step,
    Option,
    NextRule,
    Condition,
    EndMessage,
    FollowUp,
)
_FIELD_NAMES = sorted({f.alias or n for m in _MODELS for n, f in m.model_fields.items()})


def _hint(name: str, candidates: Iterable[str]) -> str:
    near = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean '{near[0]}'?)" if near else ""


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (part in _UNION_WORDS or "[" in part)


def _explain(error: ValidationError, data: dict[Any, Any], source: str) -> list[Problem]:
    """pydantic's errors as `file:step: field problem` lines, one per wrong field."""
    problems: list[Problem] = []
    unions: dict[tuple[str | int, ...], list[str]] = {}
    for detail in error.errors():
        loc = tuple(detail["loc"])
        tag = next((i for i, part in enumerate(loc) if _is_union_tag(part)), None)
        if tag is None:
            step, rest = _locate(loc, data)
            problems.append(Problem(source, step, _describe(detail, rest)))
        else:  # a value that fits none of a union's types: one line naming the choices
            alternatives = unions.setdefault(loc[:tag], [])
            word = _UNION_WORDS.get(
                str(loc[tag]), "a list" if str(loc[tag]).startswith("list") else str(loc[tag])
            )
            if word not in alternatives:
                alternatives.append(word)
    for loc, alternatives in unions.items():
        step, rest = _locate(loc, data)
        problems.append(
            Problem(source, step, f"{_words(rest)} should be {' or '.join(alternatives)}")
        )
    return problems


def _item(container: Any, key: str, index: int) -> Any:
    items = container.get(key) if isinstance(container, dict) else None
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None


def _step_label(raw: Any, index: int) -> str:
    step_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(step_id, str) and re.fullmatch(STEP_ID_PATTERN, step_id):
        return step_id
    return f"step #{index + 1}"


def _locate(
    loc: tuple[str | int, ...], data: dict[Any, Any]
) -> tuple[str | None, tuple[str | int, ...]]:
    """The step a pydantic error location points into (by id), and the rest of the path."""
    if len(loc) >= 2 and isinstance(loc[1], int):
        index = loc[1]
        if loc[0] == "steps":
            return _step_label(_item(data, "steps", index), index), loc[2:]
        if loc[0] == "ends":
            end = _item(data, "ends", index)
            end_id = end.get("id") if isinstance(end, dict) else None
            return None, (f"end {end_id if isinstance(end_id, str) else index + 1}", *loc[2:])
        if loc[0] == "followups":
            raw = _item(data, "followups", index)
            followup = _step_label(raw, index).replace("step", "follow-up")
            if len(loc) >= 4 and loc[2] == "steps" and isinstance(loc[3], int):
                label = _step_label(_item(raw, "steps", loc[3]), loc[3])
                return f"{followup}.{label}", loc[4:]
            return followup, loc[2:]
    return None, loc


def _words(loc: Sequence[str | int]) -> str:
    """('next', 0, 'when', 'equals') -> 'next rule 1 > when > equals'."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            continue
        following = loc[i + 1] if i + 1 < len(loc) else None
        if isinstance(following, int):
            parts.append(f"{_SINGULAR.get(part, part)} {following + 1}")
        else:
            parts.append("key" if part == "[key]" else part)
    return " > ".join(parts)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(detail: ErrorDetails, loc: Sequence[str | int]) -> str:
    kind, ctx, field = detail["type"], detail.get("ctx") or {}, _words(loc)
    prefix = f"{field}: " if field else ""
    if kind == "missing":
        return f"{field} is missing"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        hint = _hint(name, _FIELD_NAMES)
        return f"{_words(loc[:-1]) + ': ' if len(loc) > 1 else ''}unknown field '{name}'{hint}"
    if kind == "value_error":
        return prefix + detail["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        rule = _PATTERNS.get(str(ctx.get("pattern")), "has a wrong form")
        return f"{field} {_short(detail['input'])} {rule}"
    if kind == "enum":
        return f"{field} {_short(detail['input'])} is not one of {ctx.get('expected')}"
    if kind in _TYPES:
        return f"{field} {_TYPES[kind]}, not {_short(detail['input'])}"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"{field} should be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in {"less_than_equal", "less_than"}:
        return f"{field} should be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "too_short":
        return f"{field} needs at least {ctx.get('min_length')} entry"
    if kind == "string_too_short":
        return f"{field} should not be empty"
    if kind == "string_too_long":
        return f"{field} is longer than {ctx.get('max_length')} characters"
    return prefix + detail["msg"][:1].lower() + detail["msg"][1:]


# --- checks on a valid flow ---------------------------------------------------------


class _Checker:
    """Collects every problem of one flow; each `_check_*` method is one kind of check."""

    def __init__(self, flow: Flow, source: str) -> None:
        self.flow, self.source = flow, source
        self.problems: list[Problem] = []
        self.main = _first_index(flow.steps)

    def add(self, step: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, step, message))

    def run(self) -> list[Problem]:
        self._check_ids()
        self._check_paths(self.flow.steps, "")
        for followup in self.flow.followups:
            self._check_paths(followup.steps, f"{followup.id}.")
        self._check_conditions()
        self._check_texts()
        self._check_contact()
        self._check_ends()
        self._check_ideas()
        return self.problems

    def _check_ideas(self) -> None:
        """A priorities step offers the ideas of a statements step asked before it;
        statements belong to the consultation's main dialog, not to a follow-up."""
        for followup in self.flow.followups:
            for step in followup.steps:
                if step.kind in (StepKind.STATEMENTS, StepKind.PRIORITIES):
                    self.add(
                        f"{followup.id}.{step.id}",
                        f"a {step.kind.value} step belongs to the main dialog, not a follow-up",
                    )
        for index, step in enumerate(self.flow.steps):
            if step.ideas_from is None:
                continue
            source = self.main.get(step.ideas_from)
            if source is None or self.flow.steps[source].kind is not StepKind.STATEMENTS:
                self.add(
                    step.id,
                    f"ideas_from '{step.ideas_from}' is not a statements step of this dialog"
                    + _hint(step.ideas_from, self.main),
                )
            elif source > index:
                self.add(step.id, f"ideas_from '{step.ideas_from}' comes after this step")

    def _check_ids(self) -> None:
        self._duplicates("step", self.flow.steps, "")
        self._duplicates("follow-up", self.flow.followups, "follow-up ")
        for followup in self.flow.followups:
            self._duplicates("step", followup.steps, f"{followup.id}.")
            if not followup.steps:
                self.add(f"follow-up {followup.id}", "a follow-up needs at least one step")
            for step in followup.steps:
                if step.id in self.main:
                    self.add(
                        f"{followup.id}.{step.id}",
                        f"step id '{step.id}' is also a step of the main dialog; use another id",
                    )

    def _duplicates(self, noun: str, items: Sequence[Step | FollowUp], prefix: str) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.id in seen:
                first = seen[item.id] + 1
                self.add(
                    f"{prefix}{item.id}",
                    f"{noun} id '{item.id}' is used twice (also {noun} #{first})",
                )
            seen.setdefault(item.id, index)

    def _check_paths(self, steps: Sequence[Step], prefix: str) -> None:
        """Every goto lands, every step is reachable, and from every step the end is."""
        ids = _first_index(steps)
        done = len(steps)  # the node standing for "end"
        successors: list[set[int]] = []
        for index, step in enumerate(steps):
            targets: set[int] = set()
            falls_through = True
            for number, rule in enumerate(step.next, 1):
                if not falls_through:
                    self.add(
                        prefix + step.id,
                        f"next rule {number} is never used: a rule above it has no 'when'",
                    )
                    break
                if rule.goto == END:
                    targets.add(done)
                elif rule.goto in ids:
                    targets.add(ids[rule.goto])
                else:
                    self.add(
                        prefix + step.id,
                        f"goto '{rule.goto}' is neither a step of this dialog nor 'end'"
                        + _hint(rule.goto, ids),
                    )
                falls_through = rule.when is not None
            if falls_through:
                targets.add(index + 1)
            successors.append(targets)
        reachable = _reach({0}, lambda i: successors[i] if i < done else set())
        for index, step in enumerate(steps):
            if index not in reachable:
                self.add(prefix + step.id, "no path from the first question leads to this step")
        predecessors: dict[int, set[int]] = {}
        for index, targets in enumerate(successors):
            for target in targets:
                predecessors.setdefault(target, set()).add(index)
        finishing = _reach({done}, lambda i: predecessors.get(i, set()))
        stuck = reachable - finishing
        linked = {i: (successors[i] | predecessors.get(i, set())) & stuck for i in stuck}
        while stuck:  # one report per group of steps that only lead to each other
            first = min(stuck)
            group = _reach({first}, linked.__getitem__)
            names = ", ".join(steps[i].id for i in sorted(group))
            self.add(prefix + steps[first].id, f"endless loop: no way to the end from {names}")
            stuck -= group

    def _check_conditions(self) -> None:
        main = self.flow.steps
        for index, step in enumerate(main):
            readable = _first_index(main[: index + 1])
            for number, rule in enumerate(step.next, 1):
                if rule.when is not None:
                    self._condition(rule.when, step.id, f"next rule {number}", readable)
        everything = self.main
        for number, end in enumerate(self.flow.ends, 1):
            if end.when is not None:
                self._condition(end.when, None, f"end {end.id or number}", everything)
        for followup in self.flow.followups:
            if followup.when is not None:
                self._condition(followup.when, f"follow-up {followup.id}", "when", everything)
            for index, step in enumerate(followup.steps):
                readable = {**everything, **_first_index(followup.steps[: index + 1])}
                for number, rule in enumerate(step.next, 1):
                    if rule.when is not None:
                        label = f"{followup.id}.{step.id}"
                        self._condition(rule.when, label, f"next rule {number}", readable)

    def _condition(
        self, condition: Condition, step: str | None, where: str, readable: dict[str, int]
    ) -> None:
        known = {**self.main, **{s.id: 0 for f in self.flow.followups for s in f.steps}}
        for node in _walk(condition):
            for ref in (node.step, node.answered, node.skipped):
                if ref is None:
                    continue
                if ref not in known:
                    self.add(
                        step,
                        f"{where}: condition reads '{ref}', which is not a step"
                        + _hint(ref, known),
                    )
                elif ref not in readable:
                    self.add(step, f"{where}: condition reads '{ref}', which is asked later")
                elif self._step(ref).kind is StepKind.MESSAGE:
                    self.add(
                        step, f"{where}: condition reads '{ref}', a message step with no answer"
                    )
                elif ref == node.step:
                    self._operands(node, self._step(ref), step, where)

    def _operands(self, node: Condition, target: Step, step: str | None, where: str) -> None:
        if (node.greater is not None or node.less is not None) and target.kind not in NUMERIC_KINDS:
            operator = "greater" if node.greater is not None else "less"
            self.add(
                step,
                f"{where}: '{operator}' needs a number or scale step, "
                f"'{target.id}' is {target.kind.value}",
            )
        values = [node.equals, node.contains, *(node.in_ or [])]
        if target.kind in CHOICE_KINDS:
            keys = [o.key for o in target.options]
            for value in values:
                if value is not None and _as_key(value) not in keys:
                    self.add(
                        step,
                        f"{where}: '{target.id}' has no option '{value}' "
                        f"(options: {', '.join(keys)})",
                    )
        if target.kind is StepKind.YES_NO:
            for value in values:
                if value is not None and str(value).strip().casefold() not in YES_NO_WORDS:
                    self.add(
                        step,
                        f"{where}: '{target.id}' is a yes/no question: compare with true or false",
                    )

    def _step(self, step_id: str) -> Step:
        for step in [*self.flow.steps, *(s for f in self.flow.followups for s in f.steps)]:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def _check_texts(self) -> None:
        languages = self.flow.languages
        for label, text in self.flow.flow_texts():
            step, _, where = label.rpartition(": ")
            versions = text.values() if isinstance(text, dict) else [text]
            for lang in languages:
                if self.flow.text_for(text, lang) is None:
                    self.add(step or None, f"{where} has no '{lang}' version")
            if isinstance(text, dict):
                for lang in text:
                    if lang not in languages:
                        self.add(
                            step or None,
                            f"{where} has a '{lang}' version, but '{lang}' is not in languages",
                        )
            limit, what = (
                (MAX_LABEL, "a button") if where.startswith("option ") else (MAX_TEXT, "a message")
            )
            longest = max(len(version) for version in versions)
            if longest > limit:
                self.add(step or None, f"{where} has {longest} characters; {what} allows {limit}")
            readable = self._placeholder_scope(step)
            for name in dict.fromkeys(n for v in versions for n in placeholders(v)):
                self._placeholder(name, step or None, where, readable)

    def _placeholder_scope(self, step: str) -> dict[str, int]:
        """Steps whose answers a text at `step` may show: those asked before it."""
        if not step:  # title, consent, end messages: only ends come after all questions
            return {}
        followup, _, step_id = step.rpartition(".")
        if not followup:
            return _first_index(self.flow.steps[: self.main.get(step_id, 0)])
        steps = next(f.steps for f in self.flow.followups if f.id == followup)
        return {**self.main, **_first_index(steps[: _first_index(steps).get(step_id, 0)])}

    def _placeholder(
        self, name: str, step: str | None, where: str, readable: dict[str, int]
    ) -> None:
        if where.startswith("end "):
            readable = self.main
        known = {**self.main, **{s.id: 0 for f in self.flow.followups for s in f.steps}}
        if name not in known:
            self.add(
                step, f"{where} shows {{{{{name}}}}}, which is not a step" + _hint(name, known)
            )
        elif name not in readable:
            self.add(step, f"{where} shows {{{{{name}}}}} before that question is asked")
        elif self._step(name).kind is StepKind.MESSAGE:
            self.add(step, f"{where} shows {{{{{name}}}}}, a message step with no answer")

    def _check_contact(self) -> None:
        if not is_region(self.flow.phone_region):
            self.add(None, f"phone_region {self.flow.phone_region!r} is not a country code")
        if self.flow.contact_consent is not None:
            return
        for step in [*self.flow.steps, *(s for f in self.flow.followups for s in f.steps)]:
            if step.kind is StepKind.CONTACT:
                self.add(
                    step.id,
                    "a contact step needs contact_consent in the flow (why we ask, who sees it)",
                )
            elif step.purpose is not None:
                self.add(
                    step.id,
                    "a location with contact_data needs contact_consent in the flow "
                    "(why we ask, who sees it)",
                )

    def _check_ends(self) -> None:
        ends = self.flow.ends
        for number, end in enumerate(ends[:-1], 1):
            if end.when is None:
                self.add(
                    None,
                    f"end {end.id or number} has no 'when', "
                    "so the end messages below it are never shown",
                )
                break
        if ends[-1].when is not None:
            self.add(
                None,
                f"end {ends[-1].id or len(ends)}: the last end message has a 'when'; "
                "add one without 'when' so every citizen gets an end message",
            )


def _as_key(value: object) -> str:
    """An `equals` value as the option key it matches (1.0 in YAML matches key "1")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _first_index(steps: Iterable[Step]) -> dict[str, int]:
    index: dict[str, int] = {}
    for number, step in enumerate(steps):
        index.setdefault(step.id, number)
    return index


def _walk(condition: Condition) -> Iterator[Condition]:
    yield condition
    for child in [*(condition.all or []), *(condition.any or [])]:
        yield from _walk(child)
    if condition.not_ is not None:
        yield from _walk(condition.not_)


def _reach(start: set[int], neighbours: Callable[[int], set[int]]) -> set[int]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in neighbours(todo.pop()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


__all__ = [
    "FlowError",
    "Problem",
    "check_dir",
    "check_flow",
    "check_flow_file",
    "check_flow_text",
    "load_flow",
    "load_flow_text",
    "load_translations",
]
