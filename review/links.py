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

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow, StepKind
from konsulta.deeplinks import preset_payload
from konsulta.leaders.service import deep_link
from review.pages import current_flow, own_consultation
from review.rendering import render
from review.security import VIEW, Staff, dashboard, page

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
    )


def routes() -> list[BaseRoute]:
    return [Route("/consultations/{slug}/links", links, methods=["GET"])]
