"""The consultation builder's pages: a flow built with forms and menus, checked and
drawn after every edit, published as a new version.

The web layer only reads forms: each post names one edit (`do`), which
`dialogs.builder` applies to the draft's flow data; the draft is stored as the flow
YAML it becomes (storage's builder_drafts, one organisation's), so what is checked,
drawn, downloaded and published is always that YAML, by the same checks and the same
publishing path as the publish page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dialogs import builder
from dialogs.builder import CONSENT_FIELDS, RULE_OPERATORS, Draft, EditError
from dialogs.events import ButtonPress, CommandInput, Event, TextInput
from dialogs.loader import Problem, load_translations
from dialogs.schema import END, Condition, StepKind
from konsulta.catalogs import LANGUAGES as CITIZEN_LANGUAGES
from review.admin import (
    MAX_FLOW_BYTES,
    ProblemText,
    checked_off_the_loop,
    problems_by_step,
    publish_own,
    refusal,
)
from review.diagram import condition_text
from review.i18n import N_, translations
from review.pages import own_consultation
from review.rendering import flash, language_of, render
from review.security import EDIT, VIEW, Staff, action, dashboard, page
from storage.models import BuilderDraft

TEMPLATES = Path(__file__).resolve().parents[1] / "dialogs" / "flows"

#: The menu's words for `dialogs.builder.RULE_OPERATORS`.
OPERATOR_WORDS = {
    "equals": N_("is"),
    "not_equals": N_("is not"),
    "in": N_("is one of"),
    "greater": N_("is more than"),
    "less": N_("is less than"),
}


#: The dashboard's words for `dialogs.builder.empty_texts`.
EMPTY_WORDS = {
    builder.EMPTY_TITLE: N_("The title is empty."),
    builder.EMPTY_CONSENT: N_("The consent to take part is empty."),
    builder.EMPTY_TEXT: N_("The question's text is empty."),
    builder.EMPTY_END: N_("An end message is empty."),
}


def all_problems(
    draft: Draft, problems: list[Problem]
) -> list[tuple[str | None, list[ProblemText]]]:
    """The loader's problems and the builder's empty texts, by step (the latter the
    dashboard's own msgids, translated when shown)."""
    grouped = dict(problems_by_step(problems))
    for where, what in builder.empty_texts(draft):
        grouped.setdefault(where, []).append((EMPTY_WORDS[what], True))
    return list(grouped.items())


def templates() -> list[str]:
    return sorted(path.stem for path in TEMPLATES.glob("*.yaml"))


def _draft_of(row: BuilderDraft) -> Draft:
    try:
        return builder.parse(row.yaml_text)
    except EditError as error:
        raise HTTPException(409, "the draft is not a flow") from error


async def _own_draft(request: Request, staff: Staff) -> BuilderDraft:
    draft_id = int(request.path_params["draft_id"])
    async with dashboard(request).app.uow(read_only=True) as uow:
        found = await uow.drafts.get(staff.organisation_id, draft_id)
    if found is None:
        raise HTTPException(404)
    return found


# --- pages ------------------------------------------------------------------------------


@page(VIEW)
async def drafts(request: Request, staff: Staff) -> Response:
    async with dashboard(request).app.uow(read_only=True) as uow:
        found = await uow.drafts.list_for(staff.organisation_id)
        organisation = await uow.organisations.get(staff.organisation_id)
        published = (  # never every organisation's
            await uow.consultations.list_all(organisation=organisation) if organisation else []
        )
    listed = [(row, _draft_of(row)) for row in found]
    return render(
        request,
        "builder_list.html",
        drafts=listed,
        templates=templates(),
        consultations=published,
    )


@action(EDIT)
async def start(request: Request, staff: Staff, form: FormData) -> Response:
    """A new draft: blank, one of the bundled templates (with its catalogs'
    translations), or the current version of one of the organisation's consultations
    (with the translations published with it), to publish as its next version."""
    chosen = str(form.get("template") or "")
    slug = str(form.get("consultation") or "")
    if chosen and chosen not in templates():
        raise HTTPException(400)
    if slug:
        async with dashboard(request).app.uow(read_only=True) as uow:
            found = await own_consultation(uow, staff, slug)
            version = await uow.consultations.get_version(found)
        if version is None:
            raise HTTPException(404)
        draft = builder.from_yaml(version.yaml_text, staff.organisation_name, version.translations)
    elif chosen:
        path = TEMPLATES / f"{chosen}.yaml"
        catalogs, _problems = load_translations(path)
        draft = builder.from_yaml(
            path.read_text(encoding="utf-8"), staff.organisation_name, catalogs
        )
    else:
        draft = builder.blank(staff.organisation_name, staff.language)
    board = dashboard(request)
    async with board.app.uow() as uow:
        row = await uow.drafts.create(
            staff.organisation_id, builder.flow_yaml(draft), staff.email, board.clock()
        )
        await uow.commit()
    return RedirectResponse(f"/builder/{row.id}", status_code=303)


async def _render_draft(
    request: Request,
    row: BuilderDraft,
    draft: Draft,
    *,
    refused: str | None = None,
    edit_error: str | None = None,
    preview: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    yaml_text = builder.flow_yaml(draft)
    flow, problems, diagram = await checked_off_the_loop(yaml_text, f"{draft.get('id')}.yaml")
    return render(
        request,
        "builder.html",
        status_code=status_code,
        row=row,
        draft=draft,
        yaml_text=yaml_text,
        flow=flow,
        problems=all_problems(draft, problems),
        refused=refused,
        edit_error=edit_error,
        preview=preview,
        diagram=diagram,
        text_in=lambda text, language: builder.text_in(draft, text, language),
        kinds=[kind.value for kind in StepKind],
        settings=builder.SETTINGS,
        more_texts=builder.MORE_TEXTS,
        flags=builder.FLAGS,
        choice_kinds={kind.value for kind in builder.OPTION_KINDS},
        operators=[(op, OPERATOR_WORDS[op]) for op in RULE_OPERATORS],
        questions_before=lambda step_id: builder.questions_before(draft, step_id),
        values_of=builder.values_of,
        end=END,
        when_words=when_words,
        rule_words=lambda rule: f"{when_words(rule.get('when'))} → {rule.get('goto')}",
        consent_fields=CONSENT_FIELDS,
        citizen_languages=CITIZEN_LANGUAGES,
    )


def when_words(when: object) -> str:
    """A rule's condition in words, as the diagram writes it (`q1 = never`)."""
    if when is None:
        return ""
    try:
        return condition_text(Condition.model_validate(when))
    except ValueError:
        return str(when)


@page(VIEW)
async def draft_page(request: Request, staff: Staff) -> Response:
    row = await _own_draft(request, staff)
    return await _render_draft(request, row, _draft_of(row))


@page(VIEW)
async def download(request: Request, staff: Staff) -> Response:
    row = await _own_draft(request, staff)
    name = str(_draft_of(row).get("id") or "flow")
    return Response(
        row.yaml_text,
        media_type="application/yaml; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.yaml"'},
    )


# --- edits ------------------------------------------------------------------------------


def _per_language(form: FormData, prefix: str) -> dict[str, str]:
    """`prefix.<language>` fields as language -> text."""
    found: dict[str, str] = {}
    for name, value in form.multi_items():
        if name.startswith(f"{prefix}.") and isinstance(value, str):
            found[name.removeprefix(f"{prefix}.")] = value
    return found


def _options(form: FormData) -> list[dict[str, str]]:
    """`option.<n>.key` and `option.<n>.<language>` fields, in their number's order."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.multi_items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "option" and parts[1].isdecimal():
            rows.setdefault(int(parts[1]), {})[parts[2]] = str(value)
    return [rows[n] for n in sorted(rows)]


def _rule_values(form: FormData) -> tuple[str, str, list[str]]:
    """The question, comparison and values of a rule picked from the menus: the values
    menu lists `<question>:<value>` for every question, and a number may be typed."""
    question = str(form.get("question") or "")
    operator = str(form.get("operator") or "")
    values = [
        str(v).split(":", 1)[1] for v in form.getlist("value") if str(v).startswith(f"{question}:")
    ]
    number = str(form.get("number") or "").strip()
    if operator in ("greater", "less") or (number and not values):
        values = [number]
    return question, operator, values


def _field(form: FormData, name: str) -> str:
    return str(form.get(name) or "")


def _step_edit(form: FormData, draft: Draft) -> Draft:
    step_id = _field(form, "step")
    settings = {
        name.removeprefix("setting."): str(value)
        for name, value in form.multi_items()
        if name.startswith("setting.")
    }
    return builder.edit_step(
        draft,
        step_id,
        text=_per_language(form, "text"),
        help_text=_per_language(form, "help"),
        required=form.get("required") == "1",
        options=_options(form),
        settings=settings,
        more_texts={
            name: _per_language(form, name)
            for names in builder.MORE_TEXTS.values()
            for name in names
            if any(field.startswith(f"{name}.") for field in form)
        },
        flags=(
            {name: form.get(f"flag.{name}") == "1" for name in _flag_names()}
            if form.get("flags") == "1"
            else None
        ),
    )


def _flag_names() -> set[str]:
    return {name for flags in builder.FLAGS.values() for name, _default in flags}


def _settings_edit(form: FormData, draft: Draft) -> Draft:
    return builder.set_settings(
        draft,
        flow_id=_field(form, "flow_id"),
        languages=[str(v) for v in form.getlist("languages") if str(v) in CITIZEN_LANGUAGES],
        default_language=_field(form, "default_language") or str(draft["default_language"]),
        opens=_field(form, "opens"),
        closes=_field(form, "closes"),
        title=_per_language(form, "title"),
        consents={purpose: _per_language(form, purpose) for purpose in CONSENT_FIELDS},
    )


def _number(form: FormData, name: str) -> int:
    raw = _field(form, name)
    if not raw.lstrip("-").isdecimal():
        raise EditError(N_("not a number: %(value)s"), value=raw)
    return int(raw)


#: One edit per post, by the `do` the button sends.
EDITS: dict[str, Callable[[FormData, Draft], Draft]] = {
    "settings": _settings_edit,
    "add_step": lambda form, draft: builder.add_step(
        draft, _field(form, "kind"), _field(form, "followup") or None
    ),
    "save_step": _step_edit,
    "up": lambda form, draft: builder.move_step(draft, _field(form, "step"), -1),
    "down": lambda form, draft: builder.move_step(draft, _field(form, "step"), 1),
    "delete_step": lambda form, draft: builder.delete_step(draft, _field(form, "step")),
    "add_rule": lambda form, draft: builder.add_rule(
        draft, _field(form, "step"), *_rule_values(form), _field(form, "goto")
    ),
    "delete_rule": lambda form, draft: builder.delete_rule(
        draft, _field(form, "step"), _number(form, "rule")
    ),
    "save_end": lambda form, draft: builder.set_end(
        draft, _number(form, "end"), _per_language(form, "text")
    ),
    "add_end": lambda form, draft: builder.add_end(
        draft, _per_language(form, "text"), *_rule_values(form)
    ),
    "delete_end": lambda form, draft: builder.delete_end(draft, _number(form, "end")),
    "add_followup": lambda form, draft: builder.add_followup(draft, _number(form, "days")),
    "delete_followup": lambda form, draft: builder.delete_followup(draft, _field(form, "followup")),
}


@action(EDIT)
async def edit(request: Request, staff: Staff, form: FormData) -> Response:
    """Apply one edit to the draft as stored now, save it and show it again (checked
    and drawn). Read, edit and save are one unit of work (a writer's turn), so two
    staff members editing one draft each keep the other's edits."""
    apply = EDITS.get(_field(form, "do"))
    if apply is None:
        raise HTTPException(400)
    board = dashboard(request)
    async with board.app.uow() as uow:
        row = await uow.drafts.get(staff.organisation_id, int(request.path_params["draft_id"]))
        if row is None:
            raise HTTPException(404)
        draft = _draft_of(row)
        try:
            changed = apply(form, draft)
            changed_yaml = builder.flow_yaml(changed)
            if len(changed_yaml.encode()) > MAX_FLOW_BYTES:  # as a pasted flow may be
                raise EditError(N_("the flow would be too large"))
        except EditError as error:
            failed: str | None = error.text(translations(language_of(request, staff)).gettext)
        else:
            failed = None
            await uow.drafts.save(row, changed_yaml, staff.email, board.clock())
            await uow.commit()
    if failed is not None:
        return await _render_draft(request, row, draft, edit_error=failed, status_code=422)
    anchor = _field(form, "step") or _field(form, "do")
    return RedirectResponse(f"/builder/{row.id}#{anchor}", status_code=303)


@action(EDIT)
async def publish_draft(request: Request, staff: Staff, form: FormData) -> Response:
    """Publish the draft as the consultation's next version (its first, if new)."""
    row = await _own_draft(request, staff)
    draft = _draft_of(row)
    board = dashboard(request)
    async with board.app.uow() as uow:
        existing = await uow.consultations.get_by_slug(str(draft.get("id")))
        if existing is not None and existing.organisation_id == staff.organisation_id:
            draft["version"] = max(
                int(draft.get("version") or 1), (existing.current_version or 0) + 1
            )
        yaml_text = builder.flow_yaml(draft)
        flow, problems, _diagram = await checked_off_the_loop(yaml_text, f"{draft['id']}.yaml")
        reason: str | None = None
        if flow is not None and not problems and not builder.empty_texts(draft):
            reason = await refusal(uow, staff, flow)
            if reason is None:
                stored = await uow.drafts.get(staff.organisation_id, row.id)
                if stored is not None:
                    await uow.drafts.save(stored, yaml_text, staff.email, board.clock())
                published = await publish_own(
                    request, uow, staff, flow, yaml_text, open_now=form.get("open") == "1"
                )
                if isinstance(published, Response):
                    return published
                reason = published
    return await _render_draft(
        request, row, draft, refused=reason or N_("Fix the problems first."), status_code=422
    )


def _preview_log(raw: str) -> list[builder.PreviewLine]:
    """The chat so far, as the page sent it back; anything unexpected starts afresh."""
    try:
        data = json.loads(raw or "[]")
        lines = [
            (str(who), str(text), [(str(s), str(k), str(label)) for s, k, label in buttons])
            for who, text, buttons in data
        ]
    except (ValueError, TypeError):
        return []
    return lines[-builder.MAX_PREVIEW_LINES :]


def _preview_event(form: FormData, last: builder.PreviewLine | None) -> tuple[Event | None, str]:
    """The citizen's input from the preview form, and how the chat shows it."""
    pressed = _field(form, "press")
    if pressed and last is not None:
        for step_id, key, label in last[2]:
            if f"{step_id}:{key}" == pressed:
                return ButtonPress(step_id, key), label
    command = _field(form, "command")
    if command == "back":
        return CommandInput("back"), "/back"
    if command == "skip":
        return CommandInput("skip"), "/skip"
    said = _field(form, "say").strip()
    if said:
        return TextInput(said[:4000]), said[:4000]
    return None, ""


@action(VIEW)
async def try_draft(request: Request, staff: Staff, form: FormData) -> Response:
    """The preview chat: the draft played on the real engine, nothing stored (the
    state and the chat so far travel in the page's form)."""
    row = await _own_draft(request, staff)
    draft = _draft_of(row)
    flow, problems, _diagram = await checked_off_the_loop(
        builder.flow_yaml(draft), f"{draft.get('id')}.yaml"
    )
    if flow is None or problems:
        return await _render_draft(
            request, row, draft, refused=N_("Fix the problems first."), status_code=422
        )
    language = _field(form, "language")
    if language not in flow.languages:
        language = flow.default_language
    log = _preview_log(_field(form, "log"))
    try:
        state = json.loads(_field(form, "state") or "null")
    except ValueError:
        state = None
    event, shown = _preview_event(form, log[-1] if log else None)
    if event is None or not isinstance(state, dict):
        state, log = None, []
    texts = dashboard(request).app.texts(language)
    new_state, said = builder.preview(flow, state, event, texts=texts, language=language)
    if shown and state is not None:
        log.append(("you", shown, []))
    log = [(who, text, []) for who, text, _buttons in log] + said
    return await _render_draft(
        request,
        row,
        draft,
        preview={
            "language": language,
            "state": json.dumps(new_state, ensure_ascii=False),
            "log": log[-builder.MAX_PREVIEW_LINES :],
            "log_json": json.dumps(log[-builder.MAX_PREVIEW_LINES :], ensure_ascii=False),
        },
    )


@action(EDIT)
async def discard(request: Request, staff: Staff, form: FormData) -> Response:
    row = await _own_draft(request, staff)
    async with dashboard(request).app.uow() as uow:
        stored = await uow.drafts.get(staff.organisation_id, row.id)
        if stored is not None:
            await uow.drafts.delete(stored)
            await uow.commit()
    flash(request, N_("Draft deleted."))
    return RedirectResponse("/builder", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/builder", drafts, methods=["GET"]),
        Route("/builder", start, methods=["POST"]),
        Route("/builder/{draft_id:int}", draft_page, methods=["GET"]),
        Route("/builder/{draft_id:int}", edit, methods=["POST"]),
        Route("/builder/{draft_id:int}/publish", publish_draft, methods=["POST"]),
        Route("/builder/{draft_id:int}/delete", discard, methods=["POST"]),
        Route("/builder/{draft_id:int}/preview", try_draft, methods=["POST"]),
        Route("/builder/{draft_id:int}/flow.yaml", download),
    ]
