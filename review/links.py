"""The links staff hand out for a consultation: its own, and one per preset answer.

A service point (a day centre, a home-care provider) puts a link or a poster on its
counter that opens the consultation with its own name already chosen, so the citizen
is not asked which service they used (`konsulta.deeplinks`, docs/flows.md "Links that
preset an answer"). Staff should not have to assemble `<slug>__<step>__<key>` by hand
and count to 64: this page lists, for each single-choice question of the current
flow, one link per option, and says which options cannot be preset because Telegram
would refuse the payload. It shows no one's answers, so viewing it is not audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow, StepKind
from konsulta.deeplinks import preset_payload
from konsulta.leaders.poster import poster_pdf, poster_png
from konsulta.leaders.service import deep_link, flow_poster_text
from review.pages import current_flow, own_consultation
from review.rendering import render
from review.security import VIEW, Staff, audit, dashboard, page

__all__ = ["PresetLink", "PresetQuestion", "preset_questions", "routes"]


@dataclass(frozen=True)
class PresetLink:
    """One option of a question: its label and the link that chooses it (None when
    the payload would not fit Telegram's limits)."""

    key: str
    label: str
    url: str | None


@dataclass(frozen=True)
class PresetQuestion:
    """A single-choice question and the links that answer it, one per option."""

    step_id: str
    text: str
    links: list[PresetLink]


def preset_questions(flow: Flow, slug: str, bot_username: str) -> list[PresetQuestion]:
    """Every single-choice question of `flow` with a preset link per option, labels in
    the flow's default language (the language the staff wrote it in)."""
    language = flow.default_language
    found: list[PresetQuestion] = []
    for step in flow.questions:
        if step.kind is not StepKind.SINGLE_CHOICE:
            continue
        links = []
        for option in step.options:
            payload = preset_payload(slug, step.id, option.key)
            url = deep_link(bot_username, payload) if payload is not None else None
            links.append(PresetLink(option.key, flow.localize(option.label, language), url))
        found.append(PresetQuestion(step.id, flow.localize(step.text, language), links))
    return found


@page(VIEW)
async def links(request: Request, staff: Staff) -> Response:
    board = dashboard(request)
    async with board.app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, request.path_params["slug"])
        flow = await current_flow(request, uow, found)
    username = await board.bot_username(staff.organisation_slug)
    return render(
        request,
        "links.html",
        consultation=found,
        own_link=deep_link(username, found.slug),
        questions=preset_questions(flow, found.slug, username),
        flow_languages=flow.languages,
        poster_languages=poster_languages(request, flow),
    )


def poster_languages(request: Request, flow: Flow) -> list[str]:
    """The languages a poster speaks: those picked on the links page (`?languages=pl,uk`)
    that the consultation speaks, in the flow's order; its default language alone when
    none is picked."""
    picked = {p for v in request.query_params.getlist("languages") for p in v.split(",")}
    return [language for language in flow.languages if language in picked] or [
        flow.default_language
    ]


@page(VIEW)
async def preset_poster(request: Request, staff: Staff) -> Response:
    """An A4 poster (PDF or PNG) with the QR code of one preset link, headed by the
    option it chooses: the service point's name on its counter. Made on request from
    the current flow, so a poster never names an option the consultation lost; the
    download is audited like a leader's poster."""
    board = dashboard(request)
    slug, step_id, key = (request.path_params[name] for name in ("slug", "step", "key"))
    kind = request.path_params["kind"]
    if kind not in ("pdf", "png"):
        raise HTTPException(404)
    async with board.app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        username = await board.bot_username(staff.organisation_slug)
        chosen = [
            link
            for question in preset_questions(flow, found.slug, username)
            if question.step_id == step_id
            for link in question.links
            if link.key == key and link.url is not None
        ]
        if not chosen or chosen[0].url is None:
            raise HTTPException(404)
        languages = poster_languages(request, flow)
        await audit(uow, staff, "poster", f"{slug}/{step_id}/{key}", kind=kind, languages=languages)
        await uow.commit()
    text = flow_poster_text(board.app, flow, languages, chosen[0].label, chosen[0].url)
    content = poster_pdf(text) if kind == "pdf" else poster_png(text)
    media = "application/pdf" if kind == "pdf" else "image/png"
    name = f"poster-{slug}-{step_id}-{key}.{kind}"
    return Response(
        content, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/consultations/{slug}/links", links, methods=["GET"]),
        Route(
            "/consultations/{slug}/links/{step}/{key}/poster.{kind}",
            preset_poster,
            methods=["GET"],
        ),
    ]
