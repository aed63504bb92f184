"""Communities, their leaders, invite links and posters, one-time "become a leader"
links, and the approval of leader broadcasts, on top of `konsulta.leaders`.

What the CLI did alone until now, for staff: viewers see, editors and admins act.
Everything is the organisation's own: a community, a leader, a link or a broadcast of
another organisation answers 404 as if it did not exist, and a consultation offered
for an invite link is only ever one of the organisation's (`consultation_choices`).
Every action goes through the leaders' service, which writes the audit line (named
by the staff member's e-mail), so the CLI, the bot and the dashboard share one rule.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from konsulta.leaders import broadcasts as leader_broadcasts
from konsulta.leaders.service import (
    LeaderError,
    add_community,
    consultation_choices,
    deep_link,
    invite_link,
    lead,
    make_leader_link,
    open_consultation,
    poster,
    revoke_leader_link,
    revoke_link,
    step_down,
)
from review.i18n import N_
from review.rendering import flash, render
from review.security import EDIT, VIEW, Staff, action, dashboard, page
from storage.models import Community, InviteLink
from storage.uow import UnitOfWork

#: A community's name fits its column.
MAX_NAME = 200


async def own_community(uow: UnitOfWork, staff: Staff, community_id: int) -> Community:
    """The organisation's community, or 404 (another organisation's does not exist)."""
    community = await uow.communities.get(community_id)
    if community is None or community.organisation_id != staff.organisation_id:
        raise HTTPException(404)
    return community


async def _own_link(uow: UnitOfWork, community: Community, link_id: int) -> InviteLink:
    link = await uow.invites.get(link_id)
    if link is None or link.community_id != community.id:
        raise HTTPException(404)
    return link


def _back(community: Community) -> RedirectResponse:
    return RedirectResponse(f"/communities/{community.id}", status_code=303)


# --- communities -----------------------------------------------------------------------


@page(VIEW)
async def community_list(request: Request, staff: Staff) -> Response:
    app = dashboard(request).app
    async with app.uow(read_only=True) as uow:
        communities = await uow.communities.list_all(staff.organisation_id)
        counts = await uow.leaders.counts(staff.organisation_id)
        waiting = len(await uow.leader_broadcasts.awaiting(staff.organisation_id))
    return render(
        request,
        "communities.html",
        communities=communities,
        counts=counts,
        waiting=waiting,
        bot_languages=sorted(app.i18n.available_locales),
    )


@action(EDIT)
async def community_create(request: Request, staff: Staff, form: FormData) -> Response:
    app = dashboard(request).app
    name = " ".join(str(form.get("name") or "").split())[:MAX_NAME]
    known = set(app.i18n.available_locales)
    languages = [str(v) for v in form.getlist("languages") if str(v) in known]
    try:
        async with app.uow() as uow:
            community = await add_community(
                uow, staff.organisation_slug, name, languages, by=staff.email
            )
            await uow.commit()
    except LeaderError as error:
        flash(request, N_("Not created: %(reason)s"), reason=str(error))
        return RedirectResponse("/communities", status_code=303)
    return _back(community)


async def _community_page(
    request: Request, staff: Staff, community_id: int, **extra: Any
) -> Response:
    board = dashboard(request)
    app = board.app
    async with app.uow(read_only=True) as uow:
        community = await own_community(uow, staff, community_id)
        leaders = await uow.leaders.of_community(community.id)
        links = await uow.invites.of_community(community.id)
        choices = await consultation_choices(app, uow, staff.language, community.organisation_id)
        one_time = await uow.leader_links.of_community(community.id)
        owners = {link.consultation_id: await _owner_slug(uow, link) for link in links}
    titles = dict(choices)
    invites = [
        (
            link,
            titles.get(link.consultation_id),
            deep_link(await board.bot_username(owners[link.consultation_id]), link.payload),
        )
        for link in links
        if link.consultation_id in titles
    ]
    return render(
        request,
        "community.html",
        community=community,
        leaders=leaders,
        invites=invites,
        without_link=[
            (key, title)
            for key, title in choices
            if key not in {i[0].consultation_id for i in invites}
        ],
        one_time=one_time,
        now=board.clock(),
        **extra,
    )


@page(VIEW)
async def community_detail(request: Request, staff: Staff) -> Response:
    return await _community_page(request, staff, int(request.path_params["community_id"]))


# --- leaders ---------------------------------------------------------------------------


@page(VIEW)
async def leader_list(request: Request, staff: Staff) -> Response:
    async with dashboard(request).app.uow(read_only=True) as uow:
        leaders = await uow.leaders.list_all(staff.organisation_id)
    return render(request, "leaders.html", leaders=leaders)


@action(EDIT)
async def leader_add(request: Request, staff: Staff, form: FormData) -> Response:
    app = dashboard(request).app
    raw = str(form.get("telegram_id") or "").strip()
    async with app.uow() as uow:
        community = await own_community(uow, staff, int(request.path_params["community_id"]))
        if not raw.isdecimal():
            flash(request, N_("A Telegram id is a number, like 123456789."))
            return _back(community)
        try:
            await lead(app, uow, int(raw), community, by=staff.email)
        except LeaderError as error:
            flash(request, N_("Not added: %(reason)s"), reason=str(error))
            return _back(community)
        await uow.commit()
    flash(request, N_("Added. Their Telegram menu now has the leader's commands."))
    return _back(community)


@action(EDIT)
async def leader_remove(request: Request, staff: Staff, form: FormData) -> Response:
    app = dashboard(request).app
    async with app.uow() as uow:
        community = await own_community(uow, staff, int(request.path_params["community_id"]))
        leader = await uow.leaders.get(int(request.path_params["leader_id"]))
        if leader is None or community not in await uow.leaders.communities(leader):
            raise HTTPException(404)
        await step_down(app, uow, leader, community, by=staff.email)
        await uow.commit()
    flash(request, N_("Removed from this community. Its invite links keep working."))
    return _back(community)


@action(EDIT)
async def leader_link_create(request: Request, staff: Staff, form: FormData) -> Response:
    """A one-time link, shown on the page this once (only its hash is kept)."""
    board = dashboard(request)
    community_id = int(request.path_params["community_id"])
    async with board.app.uow() as uow:
        community = await own_community(uow, staff, community_id)
        made = await make_leader_link(uow, community, by=staff.email, now=board.clock())
        await uow.commit()
    url = deep_link(await board.bot_username(staff.organisation_slug), made.payload)
    return await _community_page(request, staff, community_id, new_leader_link=url)


@action(EDIT)
async def leader_link_revoke(request: Request, staff: Staff, form: FormData) -> Response:
    board = dashboard(request)
    async with board.app.uow() as uow:
        community = await own_community(uow, staff, int(request.path_params["community_id"]))
        link = await uow.leader_links.get(int(request.path_params["link_id"]))
        if link is None or link.community_id != community.id:
            raise HTTPException(404)
        await revoke_leader_link(uow, link, by=staff.email, now=board.clock())
        await uow.commit()
    return _back(community)


# --- invite links and posters ------------------------------------------------------------


@action(EDIT)
async def invite_create(request: Request, staff: Staff, form: FormData) -> Response:
    app = dashboard(request).app
    async with app.uow() as uow:
        community = await own_community(uow, staff, int(request.path_params["community_id"]))
        consultation = await open_consultation(
            uow, str(form.get("consultation") or ""), community.organisation_id
        )
        if consultation is None:
            raise HTTPException(404)
        link = await invite_link(uow, consultation, community, None)
        await uow.leaders.audit(
            staff.email, community.organisation_id, "link.add", f"link:{link.id}",
            consultation=consultation.slug, community=community.name,
        )  # fmt: skip
        await uow.commit()
    return _back(community)


@action(EDIT)
async def invite_revoke(request: Request, staff: Staff, form: FormData) -> Response:
    app = dashboard(request).app
    async with app.uow() as uow:
        community = await own_community(uow, staff, int(request.path_params["community_id"]))
        link = await _own_link(uow, community, int(request.path_params["link_id"]))
        await revoke_link(uow, link.payload, staff.email)
        await uow.commit()
    flash(request, N_("The link no longer works; posters with it lead nowhere now."))
    return _back(community)


async def _owner_slug(uow: UnitOfWork, link: InviteLink) -> str:
    """The organisation whose consultation the link opens: its bot serves the link,
    also on a partner's poster for a consultation shared with it (issue 20)."""
    consultation = await uow.consultations.get(link.consultation_id)
    owner = await uow.organisations.get(consultation.organisation_id) if consultation else None
    if owner is None:
        raise HTTPException(404)
    return owner.slug


@page(VIEW)
async def invite_poster(request: Request, staff: Staff) -> Response:
    board = dashboard(request)
    kind = request.path_params["kind"]
    if kind not in ("pdf", "png"):
        raise HTTPException(404)
    async with board.app.uow() as uow:
        community = await own_community(uow, staff, int(request.path_params["community_id"]))
        link = await _own_link(uow, community, int(request.path_params["link_id"]))
        consultation = await uow.consultations.get(link.consultation_id)
        if link.revoked_at is not None or consultation is None:
            raise HTTPException(404)
        url = deep_link(await board.bot_username(await _owner_slug(uow, link)), link.payload)
        try:
            made = await poster(board.app, uow, consultation, community, url)
        except LeaderError as error:
            raise HTTPException(404) from error
        await uow.leaders.audit(
            staff.email, community.organisation_id, "link.poster", f"link:{link.id}",
            consultation=consultation.slug, community=community.name, kind=kind,
        )  # fmt: skip
        await uow.commit()
    content = made.pdf if kind == "pdf" else made.png
    media = "application/pdf" if kind == "pdf" else "image/png"
    name = f"poster-{consultation.slug}-{link.id}.{kind}"
    return Response(
        content, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


# --- approval of leader broadcasts -------------------------------------------------------


@page(VIEW)
async def approval_list(request: Request, staff: Staff) -> Response:
    async with dashboard(request).app.uow(read_only=True) as uow:
        waiting = await uow.leader_broadcasts.awaiting(staff.organisation_id)
        communities = {c.id: c.name for c in await uow.communities.list_all(staff.organisation_id)}
        consultations = {
            c.id: c.title
            for c in await uow.consultations.list_all(organisation_id=staff.organisation_id)
        }
    return render(
        request,
        "leader_broadcasts.html",
        waiting=waiting,
        communities=communities,
        consultations=consultations,
    )


@action(EDIT)
async def approval_decide(request: Request, staff: Staff, form: FormData) -> Response:
    app = dashboard(request).app
    verdict = request.path_params["verdict"]
    if verdict not in ("approve", "reject"):
        raise HTTPException(404)
    async with app.uow() as uow:
        broadcast = await uow.leader_broadcasts.get(int(request.path_params["broadcast_id"]))
        if broadcast is None or broadcast.organisation_id != staff.organisation_id:
            raise HTTPException(404)
        decision = await leader_broadcasts.decide(
            app, uow, broadcast.id, verdict == "approve", by=staff.email
        )
        await uow.commit()
    if decision.outcome == "sent":
        flash(request, N_("Approved and sent. Recipients: %(count)s."), count=decision.recipients)
    elif decision.outcome == "rejected":
        flash(request, N_("Rejected. The leader has been told."))
    else:
        flash(request, N_("This was already decided."))
    return RedirectResponse("/leader-broadcasts", status_code=303)


def routes() -> list[BaseRoute]:
    one = "/communities/{community_id:int}"
    return [
        Route("/communities", community_list, methods=["GET"]),
        Route("/communities", community_create, methods=["POST"]),
        Route(one, community_detail, methods=["GET"]),
        Route(one + "/leaders", leader_add, methods=["POST"]),
        Route(one + "/leaders/{leader_id:int}/remove", leader_remove, methods=["POST"]),
        Route(one + "/leader-links", leader_link_create, methods=["POST"]),
        Route(one + "/leader-links/{link_id:int}/revoke", leader_link_revoke, methods=["POST"]),
        Route(one + "/links", invite_create, methods=["POST"]),
        Route(one + "/links/{link_id:int}/revoke", invite_revoke, methods=["POST"]),
        Route(one + "/links/{link_id:int}/poster.{kind}", invite_poster, methods=["GET"]),
        Route("/leaders", leader_list, methods=["GET"]),
        Route("/leader-broadcasts", approval_list, methods=["GET"]),
        Route("/leader-broadcasts/{broadcast_id:int}/{verdict}", approval_decide, methods=["POST"]),
    ]
