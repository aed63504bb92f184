"""A consultation's translations on the dashboard: coverage per language, the `.pot`
and each language's `.po` to download, a translator's `.po` to upload, and a
side-by-side editor for short texts.

Everyone of the organisation may read and download; only staff who may edit upload or
save, and every upload or save is audited (`translate`). What is accepted becomes the
consultation's next version through `konsulta.flow_translations.publish_translations`,
which stores it with `konsulta.publishing.publish` like the publish page does.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dialogs.loader import FlowError
from dialogs.schema import Flow
from konsulta import flow_translations as ft
from review.i18n import N_
from review.pages import own_consultation
from review.rendering import flash, render
from review.security import EDIT, VIEW, Staff, action, audit, dashboard, page
from storage.models import Consultation, FlowVersion
from storage.repositories import VersionConflict
from storage.uow import UnitOfWork

#: Texts up to this long are edited side by side; longer ones go through a `.po`.
SHORT_TEXT = 300
#: Skipped entries named after an upload (the rest are counted).
MAX_NOTES = 20


async def _current(
    request: Request, uow: UnitOfWork, staff: Staff, slug: str
) -> tuple[Consultation, FlowVersion, Flow]:
    found = await own_consultation(uow, staff, slug)
    version = await uow.consultations.get_version(found)
    if version is None:
        raise HTTPException(404)
    return found, version, dashboard(request).app.flows.flow(version)


def _chosen(flow: Flow, language: str | None) -> str | None:
    return language if language in ft.translatable_languages(flow) else None


def _editor_rows(flow: Flow, language: str) -> tuple[list[dict[str, object]], int]:
    """The short texts with their translation into `language` (and whether the YAML
    writes it itself, then read-only), and how many longer texts were left out."""
    own = ft.own_translations(flow, language)
    rows: list[dict[str, object]] = []
    longer = 0
    for text in ft.source_texts(flow):
        if len(text.msgid) > SHORT_TEXT:
            longer += 1
            continue
        inline = ft.inline_text(flow, text.msgid, language)
        current = inline or own.get(text.msgid, "")
        rows.append(
            {"text": text, "translation": current, "shown": current, "inline": inline is not None}
        )
    return rows, longer


def _page(
    request: Request,
    flow: Flow,
    consultation: Consultation,
    language: str | None,
    *,
    status_code: int = 200,
    problems: list[ft.TranslationProblem] | None = None,
    edits: dict[str, str] | None = None,
) -> Response:
    rows, longer = _editor_rows(flow, language) if language else ([], 0)
    if edits:
        for row in rows:
            text = row["text"]
            assert isinstance(text, ft.SourceText)
            if text.msgid in edits:
                row["translation"] = edits[text.msgid]
    return render(
        request,
        "translations.html",
        status_code=status_code,
        consultation=consultation,
        flow=flow,
        coverage=ft.coverage(flow),
        translatable=ft.translatable_languages(flow),
        chosen=language,
        rows=rows,
        longer=longer,
        problems=problems or [],
        short_text=SHORT_TEXT,
    )


@page(VIEW)
async def translations_page(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow(read_only=True) as uow:
        found, _version, flow = await _current(request, uow, staff, slug)
    return _page(request, flow, found, _chosen(flow, request.query_params.get("language")))


@page(VIEW)
async def language_po(request: Request, staff: Staff) -> Response:
    """One language's catalog of the current version, with its translations so far."""
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow(read_only=True) as uow:
        _found, _version, flow = await _current(request, uow, staff, slug)
    language = _chosen(flow, request.path_params["language"])
    if language is None:
        raise HTTPException(404)
    return Response(
        ft.language_po(flow, language),
        media_type="text/x-gettext-translation",
        headers={"content-disposition": f'attachment; filename="{slug}-{language}.po"'},
    )


async def _publish(
    request: Request,
    uow: UnitOfWork,
    staff: Staff,
    flow: Flow,
    version: FlowVersion,
    checked: ft.Checked,
    source: str,
) -> list[ft.TranslationProblem]:
    """Publish what `checked` accepted as the next version (problems if it cannot
    be); audited and committed; the notes go to the next page."""
    translations = ft.merged(flow, checked)
    unchanged = translations == ft.merged(flow, ft.Checked(checked.language))
    if unchanged:
        flash(request, N_("Nothing changed: these translations are already published."))
        return []
    try:
        done = await ft.publish_translations(
            uow, flow, version.yaml_text, translations, organisation=staff.organisation_slug
        )
    except FlowError as error:
        wrong = "; ".join(str(p) for p in error.problems)
        return [
            ft.TranslationProblem(
                N_("The consultation cannot be published with these translations: %(problems)s"),
                {"problems": wrong},
            )
        ]
    except VersionConflict:
        return [
            ft.TranslationProblem(
                N_("Someone published a new version meanwhile: reload the page and try again.")
            )
        ]
    await audit(
        uow,
        staff,
        "translate",
        flow.id,
        language=checked.language,
        source=source,
        version=done.version,
        texts=len(checked.accepted),
    )
    await uow.commit()
    share = next(c for c in ft.coverage(done.flow) if c.language == checked.language)
    flash(
        request,
        N_("Published as version %(version)s: %(language)s has %(translated)s of %(total)s texts."),
        version=str(done.version),
        language=checked.language,
        translated=str(share.translated),
        total=str(share.total),
    )
    for note in checked.skipped[:MAX_NOTES]:
        flash(request, note.message, **note.params)
    if len(checked.skipped) > MAX_NOTES:
        flash(
            request,
            N_("%(count)s more entries were passed over."),
            count=str(len(checked.skipped) - MAX_NOTES),
        )
    return []


def _back(slug: str, language: str) -> RedirectResponse:
    return RedirectResponse(
        f"/consultations/{slug}/translations?language={language}", status_code=303
    )


@action(EDIT)
async def upload(request: Request, staff: Staff, form: FormData) -> Response:
    """A translator's `.po` for one language: checked, then the next version."""
    slug = request.path_params["slug"]
    file = form.get("file")
    language = str(form.get("language") or "") or None
    data, name = b"", "translations.po"
    if isinstance(file, UploadFile) and file.filename:
        data, name = await file.read(ft.MAX_PO_BYTES + 1), file.filename
    async with dashboard(request).app.uow() as uow:
        found, version, flow = await _current(request, uow, staff, slug)
        if not data:
            problems = [ft.TranslationProblem(N_("Choose a .po file to upload."))]
        else:
            checked = ft.check_po(flow, data, name, language)
            problems = checked.problems or await _publish(
                request, uow, staff, flow, version, checked, name
            )
            if not problems:
                return _back(slug, checked.language)
    return _page(request, flow, found, _chosen(flow, language), status_code=422, problems=problems)


@action(EDIT)
async def save_edits(request: Request, staff: Staff, form: FormData) -> Response:
    """The side-by-side editor: each source text (`msgid`) with its translation
    (`msgstr`) and the translation the page showed (`shown`), in the same order; the
    changed ones are checked like an upload."""
    slug = request.path_params["slug"]
    language = request.path_params["language"]
    sources = [str(v) for v in form.getlist("msgid")]
    texts = [str(v) for v in form.getlist("msgstr")]
    # A form without `shown` (a script, an old page) means every field as sent.
    shown: list[str | None] = [str(v) for v in form.getlist("shown")] or [None] * len(texts)
    if not len(sources) == len(texts) == len(shown):
        raise HTTPException(400)
    # Only the fields the translator changed: the rest were shown from the version the
    # page was loaded with, and must not undo what someone published since.
    edits = [
        (msgid, text)
        for msgid, text, before in zip(sources, texts, shown, strict=True)
        if before is None or text.strip() != before.strip()
    ]
    async with dashboard(request).app.uow() as uow:
        found, version, flow = await _current(request, uow, staff, slug)
        if _chosen(flow, language) is None:
            raise HTTPException(404)
        checked = ft.check_edits(flow, language, edits)
        problems = checked.problems or await _publish(
            request, uow, staff, flow, version, checked, "editor"
        )
        if not problems:
            return _back(slug, language)
    return _page(
        request, flow, found, language, status_code=422, problems=problems, edits=dict(edits)
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/consultations/{slug}/translations", translations_page, methods=["GET"]),
        Route("/consultations/{slug}/translations", upload, methods=["POST"]),
        Route("/consultations/{slug}/translations/{language}.po", language_po),
        Route("/consultations/{slug}/translations/{language}", save_edits, methods=["POST"]),
    ]
