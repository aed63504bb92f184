"""Partner organisations (issue 20): a consultation shared with the NGOs its owner
contracts.

The owner's admin invites another organisation (by its short name, the slug the
platform gave it) to one consultation, as a `partner` (its own people's answers one by
one, figures of groups of at least k for the rest) or a `provider` (figures only), and
names the provider keys it answers for on the consultation's provider question. The
partner's admin accepts; either side's admin ends it, and access ends with it: every
page of the consultation is a 404 to the partner again (`review.pages.
consultation_access` decides, in one place). Each step is written to both
organisations' audit logs.

`/consultations/SLUG/partners` is the owner's list and invitation form;
`/partners` is every organisation's own list: invitations to accept and the
consultations shared with it, each of which it can end.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from konsulta.provider_trends import group_steps
from review import i18n
from review.i18n import N_
from review.pages import current_flow, own_consultation
from review.providers import DEFAULT_GROUP
from review.rendering import flash, language_of, render
from review.security import ADMIN, VIEW, Staff, action, dashboard, page
from storage.models import Consultation, PartnerRole, Partnership
from storage.uow import UnitOfWork

__all__ = ["routes"]

#: What staff read for each role (translated in the template).
ROLE_NAMES = {
    PartnerRole.PARTNER: N_("Partner: its own people's answers, and groups of at least k"),
    PartnerRole.PROVIDER: N_("Provider: groups of at least k only, never one person's answer"),
}


async def _audit_both(
    uow: UnitOfWork,
    staff: Staff,
    action_name: str,
    partnership: Partnership,
    consultation: Consultation,
    **detail: Any,
) -> None:
    """One entry in the owner's audit log and one in the partner's."""
    detail = {"partnership": partnership.id, **detail}
    for organisation_id in (consultation.organisation_id, partnership.organisation_id):
        await uow.audit.add(
            action_name,
            email=staff.email,
            staff_user_id=staff.id,
            organisation_id=organisation_id,
            target=consultation.slug,
            detail=detail,
        )


@page(VIEW)
async def consultation_partners(request: Request, staff: Staff) -> Response:
    """The owner's list of a consultation's partnerships, ended ones too, and (for
    an admin) the invitation form with the provider question's options."""
    slug = request.path_params["slug"]
    i18n.use_language(language_of(request, staff))
    async with dashboard(request).app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        partnerships = await uow.partnerships.of_consultation(found.id)
    steps = group_steps(flow)
    provider = next((s for s in steps if s.id == DEFAULT_GROUP), steps[0] if steps else None)
    language = flow.default_language
    options = (
        [(o.key, flow.localize(o.label, language)) for o in provider.options] if provider else []
    )
    return render(
        request,
        "partners_consultation.html",
        consultation=found,
        partnerships=partnerships,
        provider=provider,
        options=options,
        labels=dict(options),
        roles=ROLE_NAMES,
    )


@action(ADMIN)
async def invite(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    back = RedirectResponse(f"/consultations/{slug}/partners", status_code=303)
    wanted = str(form.get("organisation") or "").strip()
    role = str(form.get("role") or PartnerRole.PARTNER)
    if role not in set(PartnerRole):
        raise HTTPException(400)
    board = dashboard(request)
    async with board.app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        partner = await uow.organisations.get_by_slug(wanted) if wanted else None
        if partner is None or partner.id == found.organisation_id:
            flash(request, N_("No other organisation has that short name."))
            return back
        if await uow.partnerships.current(found.id, partner.id) is not None:
            flash(request, N_("This organisation is already invited or a partner."))
            return back
        step_id = str(form.get("provider_step") or "")
        step = next((s for s in group_steps(flow) if s.id == step_id), None)
        offered = {o.key for o in step.options} if step else set()
        keys = [str(k) for k in form.getlist("provider_keys") if str(k) in offered]
        partnership = await uow.partnerships.invite(
            found.id,
            partner.id,
            role=role,
            provider_step=step.id if step and keys else None,
            provider_keys=sorted(set(keys)),
            by=staff.email,
            now=board.clock(),
        )
        await _audit_both(
            uow,
            staff,
            "partner_invite",
            partnership,
            found,
            organisation=partner.slug,
            role=role,
            provider_keys=partnership.provider_keys,
        )
        await uow.commit()
    flash(request, N_("Invited. The organisation's administrator has to accept."))
    return back


@page(VIEW)
async def partners(request: Request, staff: Staff) -> Response:
    """The organisation's partnerships with others' consultations: invitations to
    accept, and the consultations shared with it."""
    async with dashboard(request).app.uow(read_only=True) as uow:
        shared = await uow.partnerships.of_organisation(staff.organisation_id)
    return render(request, "partners.html", shared=shared, roles=ROLE_NAMES)


async def _partnership(uow: UnitOfWork, partnership_id: int) -> tuple[Partnership, Consultation]:
    partnership = await uow.partnerships.get(partnership_id)
    consultation = await uow.consultations.get(partnership.consultation_id) if partnership else None
    if partnership is None or consultation is None:
        raise HTTPException(404)
    return partnership, consultation


@action(ADMIN)
async def accept(request: Request, staff: Staff, form: FormData) -> Response:
    """The invited organisation's admin accepts; only a waiting invitation to them."""
    board = dashboard(request)
    async with board.app.uow() as uow:
        partnership, consultation = await _partnership(uow, request.path_params["id"])
        if partnership.organisation_id != staff.organisation_id or partnership.ended_at:
            raise HTTPException(404)
        if partnership.accepted_at is None:
            await uow.partnerships.accept(partnership, by=staff.email, now=board.clock())
            await _audit_both(uow, staff, "partner_accept", partnership, consultation)
        await uow.commit()
    flash(request, N_("Accepted: the consultation is in your list."))
    return RedirectResponse("/partners", status_code=303)


@action(ADMIN)
async def end(request: Request, staff: Staff, form: FormData) -> Response:
    """Either side's admin ends a partnership (or withdraws, or declines, an
    invitation): the partner's access ends at once."""
    board = dashboard(request)
    async with board.app.uow() as uow:
        partnership, consultation = await _partnership(uow, request.path_params["id"])
        sides = {partnership.organisation_id, consultation.organisation_id}
        if staff.organisation_id not in sides or partnership.ended_at is not None:
            raise HTTPException(404)
        await uow.partnerships.end(partnership, by=staff.email, now=board.clock())
        await _audit_both(uow, staff, "partner_end", partnership, consultation)
        await uow.commit()
    flash(request, N_("The partnership has ended."))
    if staff.organisation_id == consultation.organisation_id:
        return RedirectResponse(f"/consultations/{consultation.slug}/partners", 303)
    return RedirectResponse("/partners", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/consultations/{slug}/partners", consultation_partners, methods=["GET"]),
        Route("/consultations/{slug}/partners", invite, methods=["POST"]),
        Route("/partners", partners, methods=["GET"]),
        Route("/partners/{id:int}/accept", accept, methods=["POST"]),
        Route("/partners/{id:int}/end", end, methods=["POST"]),
    ]
