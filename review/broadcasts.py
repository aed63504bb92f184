"""Broadcasts and results messages of a consultation, on top of `konsulta.broadcasts`.

Staff write a text per language, build who gets it among the consultation's own
participants from rows of conditions (review/segment_builder.py: an answer, a
language, a community, finished or not, never answered; all or any, each row
negatable), watch the number of recipients and the per-language counts follow the
rows (the count endpoint, read-only, so viewers may count too), see the dry run (the
exact text each language gets), schedule or send, and watch the deliveries. The
segment always starts from this consultation, so an organisation can only ever reach
the citizens who answered it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow
from konsulta import broadcasts as outreach
from review import i18n
from review.i18n import N_
from review.pages import current_flow, own_consultation
from review.rendering import flash, language_of, render
from review.security import EDIT, VIEW, Staff, action, audit, dashboard, page
from review.segment_builder import (
    MAX_ROWS,
    Builder,
    Row,
    builder_choices,
    rows_from_form,
    rows_of,
    segment_of,
)
from storage.models import Broadcast, BroadcastStatus, Consultation

LISTED = 50


def _written(form: FormData | None, flow: Flow) -> dict[str, str]:
    """The texts staff wrote so far, per language of the flow."""
    if form is None:
        return {}
    texts = {code: str(form.get(f"text_{code}") or "").strip() for code in flow.languages}
    return {code: text for code, text in texts.items() if text}


async def _rows(
    request: Request, staff: Staff, found: Consultation, flow: Flow, form: FormData | None
) -> dict[str, Any]:
    """The segment builder's menus, the rows as they stand, their segment, and the
    texts and name written so far."""
    async with dashboard(request).app.uow(read_only=True) as uow:
        communities = await uow.communities.list_all(staff.organisation_id)
    language = language_of(request, staff)
    i18n.use_language(language)
    choices = builder_choices(
        flow,
        language,
        lambda yes: i18n.gettext("Yes") if yes else i18n.gettext("No"),
        [(c.id, c.name) for c in communities],
    )
    builder = rows_from_form(form) if form is not None else Builder()
    posted = {
        key: " ".join(str(form.get(key) or "").split())[:200] if form is not None else ""
        for key in ("name", "kind")
    }
    return {
        "choices": choices,
        # The rows as they stand and one blank row, to add a condition without JavaScript.
        "rows": [*builder.rows, Row()][:MAX_ROWS],
        "max_rows": MAX_ROWS,
        "combinator": builder.combinator,
        "written": _written(form, flow),
        "posted": posted,
        "segment": segment_of(found.slug, builder, choices),
    }


async def _builder(
    request: Request, staff: Staff, found: Consultation, flow: Flow, form: FormData | None
) -> dict[str, Any]:
    """`_rows`, and who they reach now (a dry run: no draft is written)."""
    context = await _rows(request, staff, found, flow, form)
    context["audience"] = await outreach.dry_run(
        dashboard(request).app,
        organisation_id=staff.organisation_id,
        segment=context["segment"],
        written=context["written"],
        default_language=flow.default_language,
    )
    return context


async def _list_page(
    request: Request, staff: Staff, form: FormData | None, status_code: int = 200
) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        items = await uow.broadcasts.of_consultation(found.id, limit=LISTED)
        counts = await uow.broadcasts.delivery_counts([b.id for b in items])
    builder = await _builder(request, staff, found, flow, form)
    return render(
        request,
        "broadcasts.html",
        status_code,
        consultation=found,
        flow=flow,
        items=items,
        counts=counts,
        **builder,
    )


@page(VIEW)
async def broadcast_list(request: Request, staff: Staff) -> Response:
    return await _list_page(request, staff, None)


@action(VIEW)
async def broadcast_count(request: Request, staff: Staff, form: FormData) -> Response:
    """Who the rows reach now: the page again (the form's "Count" button, without
    JavaScript), or, asked for JSON (dashboard.js, as staff change the rows), the
    numbers and the count's HTML. It writes nothing, so viewers may count too."""
    if "application/json" not in request.headers.get("accept", ""):
        return await _list_page(request, staff, form)
    async with dashboard(request).app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, request.path_params["slug"])
        flow = await current_flow(request, uow, found)
    context = await _builder(request, staff, found, flow, form)
    audience: outreach.Audience = context["audience"]
    html = dashboard(request).templates.get_template("_audience.html").render(audience=audience)
    return JSONResponse(
        {
            "total": audience.total,
            "languages": audience.languages,
            "fallbacks": [
                {"language": f.language, "instead": f.instead, "recipients": f.recipients}
                for f in audience.fallbacks
            ],
            "segment": context["segment"],
            "html": html,
        }
    )


@action(EDIT)
async def broadcast_create(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    app = dashboard(request).app
    async with app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
    context = await _rows(request, staff, found, flow, form)
    kind = "result" if form.get("kind") == "result" else "broadcast"
    name = context["posted"]["name"] or kind
    try:
        created = await outreach.create(
            app,
            name=name,
            organisation_id=staff.organisation_id,
            segment=context["segment"],
            texts=context["written"],
            default_language=flow.default_language,
            kind=kind,
            consultation_id=found.id,
        )
    except (outreach.BroadcastError, ValueError) as error:
        # The page again with the rows and texts as they were, and the reason.
        flash(request, N_("Not created: %(reason)s"), reason=str(error))
        return await _list_page(request, staff, form, status_code=400)
    async with app.uow() as uow:
        await audit(
            uow, staff, "broadcast", slug, action="create", broadcast=created.id,
            segment=context["segment"],
        )  # fmt: skip
        await uow.commit()
    return RedirectResponse(f"/consultations/{slug}/broadcasts/{created.id}", status_code=303)


async def _own_broadcast(request: Request, staff: Staff) -> tuple[Any, Broadcast]:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        broadcast = await uow.broadcasts.get(int(request.path_params["broadcast_id"]))
    if broadcast is None or broadcast.consultation_id != found.id:
        raise HTTPException(404)
    return found, broadcast


@page(VIEW)
async def broadcast_detail(request: Request, staff: Staff) -> Response:
    found, broadcast = await _own_broadcast(request, staff)
    app = dashboard(request).app
    preview = await outreach.preview(app, broadcast.id)
    progress = await outreach.progress(app, broadcast.id)
    async with app.uow(read_only=True) as uow:
        flow = await current_flow(request, uow, found)
    context = await _rows(request, staff, found, flow, None)
    return render(
        request,
        "broadcast.html",
        consultation=found,
        choices=context["choices"],
        # Who it is for, as the builder's rows (None: a segment rows cannot say).
        to=rows_of(broadcast.segment, found.slug, context["choices"]),
        broadcast=progress.broadcast,
        preview=preview,
        progress=progress,
        editable=broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED),
        cancellable=broadcast.status not in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED),
        timezone=app.settings.default_timezone,
    )


@action(EDIT)
async def broadcast_schedule(request: Request, staff: Staff, form: FormData) -> Response:
    found, broadcast = await _own_broadcast(request, staff)
    app = dashboard(request).app
    when = str(form.get("at") or "").strip()
    at = None
    if when:
        try:
            local = datetime.fromisoformat(when)
        except ValueError as error:
            raise HTTPException(400, "not a date and time") from error
        at = local.replace(tzinfo=ZoneInfo(app.settings.default_timezone))
    try:
        await outreach.schedule(app, broadcast.id, at)
    except outreach.BroadcastError as error:
        flash(request, N_("Not scheduled: %(reason)s"), reason=str(error))
    else:
        async with app.uow() as uow:
            await audit(
                uow, staff, "broadcast", found.slug, action="schedule",
                broadcast=broadcast.id, at=at.isoformat() if at else "now",
            )  # fmt: skip
            await uow.commit()
        flash(request, N_("Scheduled."))
    return RedirectResponse(
        f"/consultations/{found.slug}/broadcasts/{broadcast.id}", status_code=303
    )


@action(EDIT)
async def broadcast_cancel(request: Request, staff: Staff, form: FormData) -> Response:
    found, broadcast = await _own_broadcast(request, staff)
    app = dashboard(request).app
    try:
        await outreach.cancel(app, broadcast.id)
    except outreach.BroadcastError as error:
        flash(request, N_("Not cancelled: %(reason)s"), reason=str(error))
    else:
        async with app.uow() as uow:
            await audit(
                uow, staff, "broadcast", found.slug, action="cancel", broadcast=broadcast.id
            )
            await uow.commit()
    return RedirectResponse(
        f"/consultations/{found.slug}/broadcasts/{broadcast.id}", status_code=303
    )


def routes() -> list[BaseRoute]:
    base = "/consultations/{slug}/broadcasts"
    return [
        Route(base, broadcast_list, methods=["GET"]),
        Route(base, broadcast_create, methods=["POST"]),
        Route(base + "/count", broadcast_count, methods=["POST"]),
        Route(base + "/{broadcast_id:int}", broadcast_detail),
        Route(base + "/{broadcast_id:int}/schedule", broadcast_schedule, methods=["POST"]),
        Route(base + "/{broadcast_id:int}/cancel", broadcast_cancel, methods=["POST"]),
    ]
