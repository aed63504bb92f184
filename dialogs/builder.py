"""The consultation builder's edits, on the flow as data.

The builder on the dashboard never holds anything but the dict a flow YAML file holds:
each edit here takes that dict and returns a changed copy, and `flow_yaml` writes it as
the YAML that stays the source format (checked by the loader like any other file). So
what staff build with menus is exactly what they could have typed, and a flow built
here can be downloaded, edited by hand and published by any other path.

Branching is picked, never typed: a rule is a question, one of `RULE_OPERATORS` and a
value, which `condition` turns into the loader's condition data. Option keys are made
from their labels (`option_key`), so staff never invent identifiers.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from dialogs import engine
from dialogs.events import Event, Translator
from dialogs.schema import END, Flow, StepKind
from dialogs.xlsform import N_, dump_flow

Draft = dict[str, Any]

#: The step kinds that have options (added with one option to fill in).
CHOICE_KINDS = frozenset({StepKind.SINGLE_CHOICE, StepKind.MULTIPLE_CHOICE, StepKind.RANKING})
#: Kinds whose answer is a list of option keys.
LIST_KINDS = frozenset({StepKind.MULTIPLE_CHOICE, StepKind.RANKING})
#: The step kinds whose options the builder edits: the choices, and the statements
#: staff seed on a statements step.
OPTION_KINDS = CHOICE_KINDS | {StepKind.STATEMENTS}
#: Kinds whose answer a rule can compare with a number.
NUMERIC_KINDS = frozenset({StepKind.NUMBER, StepKind.SCALE})

#: The comparisons a branch rule offers, as the builder's menu names them.
RULE_OPERATORS = ("equals", "not_equals", "in", "greater", "less")

#: The consent texts, one per purpose (taking part, being contacted, being named).
CONSENT_FIELDS = ("consent", "contact_consent", "name_consent")

MAX_STEPS = 200


class EditError(ValueError):
    """An edit that cannot be applied (an unknown step, a wrong value); the draft is
    left as it was. `message` is a dashboard msgid (marked with N_), `params` what it
    quotes."""

    def __init__(self, message: str, **params: str) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params)

    def text(self, translate: Callable[[str], str]) -> str:
        return translate(self.message) % self.params


# --- starting points ------------------------------------------------------------------


def blank(organisation: str, language: str, flow_id: str = "new-consultation") -> Draft:
    """A flow with one question and one end message: the smallest that passes the checks
    once its texts are filled in."""
    return {
        "id": flow_id,
        "version": 1,
        "title": "",
        "organisation": organisation,
        "languages": [language],
        "default_language": language,
        "consent": "",
        "steps": [{"id": "q1", "kind": StepKind.TEXT.value, "text": ""}],
        "ends": [{"text": ""}],
    }


def parse(yaml_text: str) -> Draft:
    """A draft from its stored YAML, as it is (dates as ISO text, as the form shows them)."""
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as error:
        raise EditError(N_("not a flow")) from error
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise EditError(N_("not a flow"))
    draft: Draft = data
    for key in ("opens", "closes"):
        if isinstance(draft.get(key), dt.date):
            draft[key] = draft[key].isoformat()
    for step in draft["steps"]:
        for key in ("min_date", "max_date"):
            if isinstance(step.get(key), dt.date):
                step[key] = step[key].isoformat()
    return draft


def from_yaml(
    yaml_text: str, organisation: str, catalogs: Mapping[str, Mapping[str, str]] | None = None
) -> Draft:
    """A new draft from flow YAML (a bundled template, a published version): texts and
    steps as they are, the staff member's organisation, and the translations of its
    catalogs written into the texts (`inline_translations`). Without catalogs, a flow
    whose texts are plain strings keeps only its default language listed."""
    draft = parse(yaml_text)
    draft["organisation"] = organisation
    if catalogs:
        inline_translations(draft, catalogs)
    elif any(not isinstance(v, dict) for v in _texts(draft)):
        draft["languages"] = [str(draft.get("default_language") or "pl")]
    return draft


def _texts(draft: Draft) -> list[object]:
    found: list[object] = [draft.get("title"), draft.get("consent")]
    for step in draft.get("steps", []):
        found.append(step.get("text"))
    for end in draft.get("ends", []):
        found.append(end.get("text"))
    return [t for t in found if t]


def flow_yaml(draft: Mapping[str, Any]) -> str:
    """The draft as flow YAML, keys in the order a person writes them."""
    order = (
        "id",
        "version",
        "title",
        "description",
        "organisation",
        "languages",
        "default_language",
        "opens",
        "closes",
        *CONSENT_FIELDS,
        "phone_region",
        "retention_months",
        "steps",
        "ends",
        "followups",
    )
    ordered = {key: draft[key] for key in order if key in draft}
    ordered.update({k: v for k, v in draft.items() if k not in ordered})
    return dump_flow(ordered)


# --- names ------------------------------------------------------------------------------


def slug(text: str, *, separator: str = "_", limit: int = 16) -> str:
    """ASCII letters, digits and `separator` from any label: accents dropped, Ł and ł
    as l, other scripts left out."""
    folded = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    words = re.sub("[^a-z0-9]+", separator, ascii_text).strip(separator)
    return words[:limit].rstrip(separator)


def option_key(label: str, taken: Sequence[str]) -> str:
    """A key for an option labelled `label`, unique among `taken`: `Street lights` ->
    `street_lights`, a second one `street_lights_2`; `opt_N` when the label has no
    ASCII letters (Ukrainian, Arabic)."""
    base = slug(label, limit=13)
    if not base:
        base, number = "opt", len(taken) + 1
        candidate = f"opt_{number}"
    else:
        candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}_{number}"
    return candidate


def _step_ids(draft: Draft) -> list[str]:
    ids = [str(s.get("id")) for s in draft.get("steps", [])]
    for followup in draft.get("followups", []):
        ids.append(str(followup.get("id")))
        ids.extend(str(s.get("id")) for s in followup.get("steps", []))
    return ids


def _new_id(draft: Draft, prefix: str = "q") -> str:
    taken = set(_step_ids(draft))
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


# --- texts ------------------------------------------------------------------------------


def text_value(draft: Draft, per_language: Mapping[str, str]) -> str | dict[str, str]:
    """What the form's one field per listed language becomes: a plain string when only
    the default language is filled in (others may come from catalogs), otherwise a
    mapping language -> text."""
    languages = list(draft.get("languages") or [])
    filled = {lang: per_language[lang].strip() for lang in languages if per_language.get(lang)}
    filled = {lang: text for lang, text in filled.items() if text}
    default = str(draft.get("default_language") or "")
    if set(filled) <= {default}:
        return filled.get(default, "")
    return filled


def text_in(draft: Mapping[str, Any], text: object, language: str) -> str:
    """A text's words in `language` for the form ('' when it has none)."""
    if isinstance(text, dict):
        return str(text.get(language) or "")
    if isinstance(text, str) and language == draft.get("default_language"):
        return text
    return ""


# --- edits ------------------------------------------------------------------------------


def _copy(draft: Draft) -> Draft:
    return copy.deepcopy(draft)


def _find(draft: Draft, step_id: str) -> tuple[list[dict[str, Any]], int]:
    steps: list[dict[str, Any]] = draft.get("steps", [])
    for index, step in enumerate(steps):
        if step.get("id") == step_id:
            return steps, index
    for followup in draft.get("followups", []):
        for index, step in enumerate(followup.get("steps", [])):
            if step.get("id") == step_id:
                return followup["steps"], index
    raise EditError(N_("no step %(step)s"), step=step_id)


def add_step(draft: Draft, kind: str, followup: str | None = None) -> Draft:
    """A new step of `kind` at the end (of the dialog, or of a follow-up)."""
    try:
        step_kind = StepKind(kind)
    except ValueError as error:
        raise EditError(N_("no step kind %(kind)s"), kind=kind) from error
    new = _copy(draft)
    if len(_step_ids(new)) >= MAX_STEPS:
        raise EditError(N_("too many steps"))
    step: dict[str, Any] = {"id": _new_id(new), "kind": step_kind.value, "text": ""}
    if step_kind in CHOICE_KINDS:
        step["options"] = []
    if step_kind == StepKind.PRIORITIES:
        # It offers the ideas of the statements step before it: the latest one.
        sources = [s["id"] for s in new.get("steps", []) if s.get("kind") == "statements"]
        if followup is not None or not sources:
            raise EditError(N_("a priorities step needs a statements step before it"))
        step["ideas_from"] = sources[-1]
    if step_kind == StepKind.SCALE:
        step.update({"min": 1, "max": 5})
    if followup is None:
        new.setdefault("steps", []).append(step)
    else:
        found = [f for f in new.get("followups", []) if f.get("id") == followup]
        if not found:
            raise EditError(N_("no follow-up %(followup)s"), followup=followup)
        found[0].setdefault("steps", []).append(step)
    return new


def edit_step(
    draft: Draft,
    step_id: str,
    *,
    text: Mapping[str, str],
    help_text: Mapping[str, str] | None = None,
    required: bool = True,
    options: Sequence[Mapping[str, str]] | None = None,
    settings: Mapping[str, str] | None = None,
    more_texts: Mapping[str, Mapping[str, str]] | None = None,
    flags: Mapping[str, bool] | None = None,
) -> Draft:
    """A step's texts, options (labels per language; keys kept for labels that stay,
    made from the default-language label for new ones), its kind's settings, its other
    texts (`MORE_TEXTS`: the hint instead of the standard one, a scale's end labels) and
    its kind's yes/no settings (`FLAGS`); those not given stay as they were."""
    new = _copy(draft)
    steps, index = _find(new, step_id)
    step = steps[index]
    step["text"] = text_value(new, text)
    helped = text_value(new, help_text or {})
    if helped:
        step["help"] = helped
    else:
        step.pop("help", None)
    if step["kind"] == StepKind.MESSAGE.value or required:
        step.pop("required", None)
    else:
        step["required"] = False
    if options is not None and step["kind"] in OPTION_KINDS:
        step["options"] = _options(new, step.get("options", []), options)
    for name, raw in (settings or {}).items():
        _set_setting(step, name, raw)
    for name, per_language in (more_texts or {}).items():
        if name in MORE_TEXTS.get(step["kind"], ()):
            value = text_value(new, per_language)
            if value:
                step[name] = value
            else:
                step.pop(name, None)
    kind_flags = dict(FLAGS.get(step["kind"], ()))
    for name, on in (flags or {}).items():
        if name in kind_flags:
            if on == kind_flags[name]:
                step.pop(name, None)  # the default is not written out
            else:
                step[name] = on
    return new


#: A kind's optional texts besides its question and help.
_ANSWERED_KINDS = [kind.value for kind in StepKind if kind != StepKind.MESSAGE]
MORE_TEXTS: dict[str, tuple[str, ...]] = {kind: ("error",) for kind in _ANSWERED_KINDS}
MORE_TEXTS[StepKind.SCALE.value] = ("error", "min_label", "max_label")

#: A kind's yes/no settings and their defaults (docs/flows.md).
FLAGS: dict[str, tuple[tuple[str, bool], ...]] = {
    StepKind.TEXT.value: (("allow_voice", True), ("allow_media", False)),
    StepKind.NUMBER.value: (("integer", True),),
    StepKind.LOCATION.value: (("allow_typed", True), ("contact_data", False)),
    StepKind.STATEMENTS.value: (("allow_proposals", True),),
}


def _options(
    draft: Draft, before: list[dict[str, Any]], labels: Sequence[Mapping[str, str]]
) -> list[dict[str, Any]]:
    default = str(draft.get("default_language") or "")
    result: list[dict[str, Any]] = []
    taken: list[str] = []
    for per_language in labels:
        label = text_value(draft, per_language)
        if not label:
            continue  # an emptied label deletes its option
        key = per_language.get("key") or ""
        if not key or key in taken:
            words = per_language.get(default) or next(iter(per_language.values()), "")
            key = option_key(words, taken)
        taken.append(key)
        option: dict[str, Any] = {"key": key, "label": label}
        old = [o for o in before if o.get("key") == key]
        if old and old[0].get("emoji"):
            option["emoji"] = old[0]["emoji"]
        result.append(option)
    return result


#: A kind's settings the builder shows, and how their form text is read.
SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {
    StepKind.MULTIPLE_CHOICE.value: (("min_picks", "int"), ("max_picks", "int")),
    StepKind.RANKING.value: (("rank_up_to", "int"),),
    StepKind.TEXT.value: (("max_length", "int"),),
    StepKind.NUMBER.value: (("min", "number"), ("max", "number")),
    StepKind.SCALE.value: (("min", "int"), ("max", "int")),
    StepKind.DATE.value: (("min_date", "date"), ("max_date", "date")),
    StepKind.STATEMENTS.value: (("max_statements", "int"),),
    StepKind.PRIORITIES.value: (("rank_up_to", "int"), ("max_statements", "int")),
}


def _set_setting(step: dict[str, Any], name: str, raw: str) -> None:
    kinds = dict(SETTINGS.get(step["kind"], ()))
    if name not in kinds:
        return
    raw = raw.strip()
    if not raw:
        step.pop(name, None)
        return
    try:
        if kinds[name] == "int":
            step[name] = int(raw)
        elif kinds[name] == "number":
            number = float(raw.replace(",", "."))
            step[name] = int(number) if number.is_integer() else number
        else:
            step[name] = dt.date.fromisoformat(raw).isoformat()
    except ValueError as error:
        raise EditError(
            N_("%(setting)s: not a valid value: %(value)s"), setting=name, value=raw
        ) from error


def move_step(draft: Draft, step_id: str, by: int) -> Draft:
    """One place up (`by` = -1) or down (+1); nothing at either end."""
    new = _copy(draft)
    steps, index = _find(new, step_id)
    target = index + by
    if 0 <= target < len(steps):
        steps[index], steps[target] = steps[target], steps[index]
    return new


def delete_step(draft: Draft, step_id: str) -> Draft:
    """The step goes; rules elsewhere that name it stay, and the checks point at them."""
    new = _copy(draft)
    steps, index = _find(new, step_id)
    del steps[index]
    return new


def condition(draft: Draft, question: str, operator: str, values: Sequence[str]) -> dict[str, Any]:
    """The loader's condition data for "if <question> <operator> <values>"."""
    steps, index = _find(draft, question)
    kind = steps[index]["kind"]
    picked = [v for v in values if v != ""]
    if operator not in RULE_OPERATORS or not picked:
        raise EditError(N_("pick a comparison and a value"))
    typed: list[Any] = [_typed(kind, v) for v in picked]
    if operator in ("greater", "less"):
        if not isinstance(typed[0], int | float) or isinstance(typed[0], bool):
            raise EditError(N_("a number is needed"))
        return {"step": question, operator: typed[0]}
    if kind in LIST_KINDS:
        # A list answer "is" an option when it includes it (picked among others).
        if operator == "in":
            return {"any": [{"step": question, "contains": value} for value in typed]}
        includes = {"step": question, "contains": typed[0]}
        return {"not": includes} if operator == "not_equals" else includes
    if operator == "in":
        return {"step": question, "in": typed}
    equals = {"step": question, "equals": typed[0]}
    return {"not": equals} if operator == "not_equals" else equals


def _typed(kind: str, value: str) -> Any:
    if kind == StepKind.YES_NO.value:
        return value in ("true", "yes")
    if kind in NUMERIC_KINDS:
        try:
            number = float(value.replace(",", "."))
        except ValueError as error:
            raise EditError(N_("a number is needed")) from error
        return int(number) if number.is_integer() else number
    return value


def add_rule(
    draft: Draft, step_id: str, question: str, operator: str, values: Sequence[str], goto: str
) -> Draft:
    """After `step_id`: if the rule's condition holds, go to `goto` (a step or `end`)."""
    new = _copy(draft)
    steps, index = _find(new, step_id)
    if goto != END and goto not in _step_ids(new):
        raise EditError(N_("no step %(step)s"), step=goto)
    rule = {"when": condition(new, question, operator, values), "goto": goto}
    steps[index].setdefault("next", []).append(rule)
    return new


def delete_rule(draft: Draft, step_id: str, number: int) -> Draft:
    new = _copy(draft)
    steps, index = _find(new, step_id)
    rules = steps[index].get("next", [])
    if 0 <= number < len(rules):
        del rules[number]
    if not rules:
        steps[index].pop("next", None)
    return new


def set_end(draft: Draft, number: int, text: Mapping[str, str]) -> Draft:
    new = _copy(draft)
    ends = new.setdefault("ends", [])
    if not 0 <= number < len(ends):
        raise EditError(N_("no such end message"))
    ends[number]["text"] = text_value(new, text)
    return new


def add_end(
    draft: Draft, text: Mapping[str, str], question: str, operator: str, values: Sequence[str]
) -> Draft:
    """An end message shown when its condition holds, placed before the default one
    (the last, which has no condition)."""
    new = _copy(draft)
    end = {"when": condition(new, question, operator, values), "text": text_value(new, text)}
    ends = new.setdefault("ends", [])
    ends.insert(max(len(ends) - 1, 0), end)
    return new


def delete_end(draft: Draft, number: int) -> Draft:
    new = _copy(draft)
    ends = new.get("ends", [])
    if 0 <= number < len(ends) - 1:  # the default end message stays
        del ends[number]
    return new


def add_followup(draft: Draft, after_days: int) -> Draft:
    """A follow-up `after_days` after the end, with one question to fill in."""
    if not 0 <= after_days <= 3650:
        raise EditError(N_("days between 0 and 3650"))
    new = _copy(draft)
    followup_id = _new_id(new, "followup")
    new.setdefault("followups", []).append(
        {"id": followup_id, "after_days": after_days, "steps": []}
    )
    return add_step(new, StepKind.TEXT.value, followup=followup_id)


def delete_followup(draft: Draft, followup_id: str) -> Draft:
    new = _copy(draft)
    new["followups"] = [f for f in new.get("followups", []) if f.get("id") != followup_id]
    if not new["followups"]:
        del new["followups"]
    return new


def set_settings(
    draft: Draft,
    *,
    flow_id: str,
    languages: Sequence[str],
    default_language: str,
    opens: str,
    closes: str,
    title: Mapping[str, str],
    consents: Mapping[str, Mapping[str, str]],
) -> Draft:
    """The flow's id, languages, dates, title and consent texts per purpose."""
    new = _copy(draft)
    new["id"] = slug(flow_id, separator="-", limit=60) or new.get("id", "")
    listed = [lang for lang in dict.fromkeys(languages) if re.fullmatch("[a-z]{2,3}", lang)]
    if default_language not in listed:
        listed.insert(0, default_language)
    # Texts written so far stay in the language they were written in.
    before = str(new.get("default_language") or default_language)
    if before != default_language:
        _rekey_plain_texts(new, before)
    dropped = set(new.get("languages") or []) - set(listed)
    if dropped:  # a language taken off takes its texts along (the checks refuse them)

        def without(text: object) -> object:
            if isinstance(text, dict):
                return {lang: words for lang, words in text.items() if lang not in dropped}
            return text

        _each_text(new, without)
    new["languages"] = listed
    new["default_language"] = default_language
    for key, raw in (("opens", opens), ("closes", closes)):
        if raw.strip():
            try:
                new[key] = dt.date.fromisoformat(raw.strip()).isoformat()
            except ValueError as error:
                raise EditError(N_("not a date: %(value)s"), value=raw) from error
        else:
            new.pop(key, None)
    new["title"] = text_value(new, title)
    for purpose in CONSENT_FIELDS:
        value = text_value(new, consents.get(purpose, {}))
        if value or purpose == "consent":
            new[purpose] = value
        else:
            new.pop(purpose, None)
    return new


def _each_text(draft: Draft, change: Callable[[object], object]) -> None:
    """Every citizen-visible text of the draft replaced by `change(text)`."""

    def fix(holder: dict[str, Any], key: str) -> None:
        if holder.get(key):
            holder[key] = change(holder[key])

    for key in ("title", "description", *CONSENT_FIELDS):
        fix(draft, key)
    steps = list(draft.get("steps", []))
    for followup in draft.get("followups", []):
        steps.extend(followup.get("steps", []))
    for step in steps:
        for key in ("text", "help", "error", "min_label", "max_label"):
            fix(step, key)
        for option in step.get("options", []):
            fix(option, "label")
    for end in draft.get("ends", []):
        fix(end, "text")


def _rekey_plain_texts(draft: Draft, language: str) -> None:
    """Plain strings (the old default language's) become `{language: text}`."""
    _each_text(draft, lambda text: {language: text} if isinstance(text, str) else text)


def inline_translations(draft: Draft, catalogs: Mapping[str, Mapping[str, str]]) -> None:
    """Texts written once in the default language, with their translations from the
    flow's catalogs (language -> {source: translation}) written beside them: the draft
    then carries every language itself, as the builder shows and edits them."""
    default = str(draft.get("default_language") or "")

    def inline(text: object) -> object:
        if not isinstance(text, str):
            return text
        found = {default: text}
        for language in draft.get("languages", []):
            translated = catalogs.get(language, {}).get(text)
            if translated and language != default:
                found[language] = translated
        return found if len(found) > 1 else text

    _each_text(draft, inline)


def questions_before(draft: Draft, step_id: str) -> list[dict[str, Any]]:
    """The questions a rule after `step_id` may read: it and those above it."""
    found: list[dict[str, Any]] = []
    for step in draft.get("steps", []):
        if step.get("kind") != StepKind.MESSAGE.value:
            found.append(step)
        if step.get("id") == step_id:
            break
    return found


def values_of(step: Mapping[str, Any]) -> list[str]:
    """The values a rule on `step` picks from a menu ([] for a typed number)."""
    if step.get("kind") == StepKind.YES_NO.value:
        return ["true", "false"]
    return [str(o.get("key")) for o in step.get("options", [])]


#: What `empty_texts` names: the flow's title, its consent to take part, a step's text,
#: an end message.
EMPTY_TITLE = "title"
EMPTY_CONSENT = "consent"
EMPTY_TEXT = "text"
EMPTY_END = "end"


def _blank(text: object) -> bool:
    if isinstance(text, dict):
        return not any(str(v).strip() for v in text.values())
    return not str(text or "").strip()


def empty_texts(draft: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """Texts a citizen would see empty, as (step id or None, which of `EMPTY_*`): the
    loader takes an empty string as a text, and a new draft starts with them, so the
    builder lists them beside the loader's problems and does not publish until filled."""
    found: list[tuple[str | None, str]] = []
    if _blank(draft.get("title")):
        found.append((None, EMPTY_TITLE))
    if _blank(draft.get("consent")):
        found.append((None, EMPTY_CONSENT))
    steps = list(draft.get("steps", []))
    for followup in draft.get("followups", []):
        steps.extend(followup.get("steps", []))
    found.extend((str(s.get("id")), EMPTY_TEXT) for s in steps if _blank(s.get("text")))
    found.extend((None, EMPTY_END) for e in draft.get("ends", []) if _blank(e.get("text")))
    return found


# --- preview ----------------------------------------------------------------------------

#: A preview chat's lines: ("bot" or "you", text, buttons as (step id, key, label)).
PreviewLine = tuple[str, str, list[tuple[str, str, str]]]
MAX_PREVIEW_LINES = 60


def preview(
    flow: Flow,
    state: Mapping[str, Any] | None,
    event: Event | None,
    *,
    texts: Translator,
    language: str,
) -> tuple[dict[str, Any], list[PreviewLine]]:
    """One step of the preview chat on the real engine: the dialog started (no `state`
    or no `event`) or advanced by `event`; the new state and what the bot said. Nothing
    is stored: the preview is the staff member's, not a citizen's."""
    if state is None or event is None:
        turn = engine.start(flow, language, texts=texts)
        said: list[PreviewLine] = [("bot", flow.localize(flow.consent, language), [])]
    else:
        turn = engine.advance(flow, state, event, texts=texts)
        said = []
    for message in turn.outputs:
        buttons = [(message.step_id or "", b.key, b.label) for b in message.buttons]
        said.append(("bot", message.text, buttons))
    return turn.state, said
