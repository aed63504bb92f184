"""Broadcasts and results messages of a consultation, on top of `konsulta.broadcasts`.

Staff write a text per language, choose who gets it among the consultation's own
participants (everyone, or those who finished, optionally only some languages), see
the dry run (how many, the exact text each language gets), schedule or send, and
watch the deliveries. The segment always starts from this consultation, so an
organisation can only ever reach the citizens who answered it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from konsulta import broadcasts as outreach
from review.i18n import N_
from review.pages import current_flow, own_consultation
from review.rendering import flash, render
from review.security import EDIT, VIEW, Staff, action, audit, dashboard, page
from storage.models import Broadcast, BroadcastStatus

LISTED = 50


def segment_for(slug: str, who: str, languages: list[str]) -> dict[str, Any]:
    """Who gets it, always within this consultation's participants."""
    base: dict[str, Any] = {"consultation": slug}
    if who == "completed":
        base["completed"] = True
    if languages:
        return {"all": [base, {"language": languages}]}
    return base


@page(VIEW)
async def broadcast_list(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        items = await uow.broadcasts.of_consultation(found.id, limit=LISTED)
        counts = await uow.broadcasts.delivery_counts([b.id for b in items])
    return render(
        request, "broadcasts.html", consultation=found, flow=flow, items=items, counts=counts
    )


@action(EDIT)
async def broadcast_create(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    app = dashboard(request).app
    async with app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
    texts = {
        language: str(form.get(f"text_{language}") or "").strip()
        for language in flow.languages
        if str(form.get(f"text_{language}") or "").strip()
    }
    chosen = [str(v) for v in form.getlist("languages") if str(v) in flow.languages]
    kind = "result" if form.get("kind") == "result" else "broadcast"
    name = " ".join(str(form.get("name") or "").split())[:200] or kind
    try:
        created = await outreach.create(
            app,
            name=name,
            organisation_id=staff.organisation_id,
            segment=segment_for(slug, str(form.get("who") or "all"), chosen),
            texts=texts,
            default_language=flow.default_language,
            kind=kind,
            consultation_id=found.id,
        )
    except (outreach.BroadcastError, ValueError) as error:
        flash(request, N_("Not created: %(reason)s"), reason=str(error))
        return RedirectResponse(f"/consultations/{slug}/broadcasts", status_code=303)
    async with app.uow() as uow:
        await audit(uow, staff, "broadcast", slug, action="create", broadcast=created.id)
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
    return render(
        request,
        "broadcast.html",
        consultation=found,
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
        Route(base + "/{broadcast_id:int}", broadcast_detail),
        Route(base + "/{broadcast_id:int}/schedule", broadcast_schedule, methods=["POST"]),
        Route(base + "/{broadcast_id:int}/cancel", broadcast_cancel, methods=["POST"]),
    ]
