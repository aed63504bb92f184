"""Ratings per provider and per quarter: /consultations/ID/providers.

Issue 20's feedback on contracted services: the service-feedback template's first
question picks the provider, and the city wants each provider's ratings quarter by
quarter and side by side, without ever showing what fewer than k people said
(k = KONSULTA_PUBLIC_MIN_GROUP, the public results' rule). The rules live in
`konsulta.provider_trends.trends` (pure, property-tested); this page reads the ratings
through `storage.views.providers.ratings` and shows the result.

Any consultation works: staff pick the grouping question among the flow's
single-choice questions and the rating among its scale and number questions
(`?group=STEP&rating=STEP`); the defaults are a question called `provider` (else the
first single choice) and the first scale (else the first number). Follow-up
questionnaires' repeat ratings count too, with the group picked in the first run
(`followup_ratings`: a follow-up's first step of a kind and scale repeats the flow's
first question of that kind and scale). The page shows figures of groups of at least
k people only, never an answer, so viewing it is not audited, like the consultation
page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Step, StepKind
from konsulta.provider_trends import (
    Rating,
    followup_ratings,
    group_steps,
    rating_steps,
    trends,
)
from review import i18n
from review.pages import current_flow, own_consultation
from review.rendering import language_of, render
from review.security import VIEW, Staff, dashboard, page
from storage.views.providers import ratings

__all__ = ["routes"]

#: The grouping question the service-feedback template asks first.
DEFAULT_GROUP = "provider"


def _pick(steps: list[Step], wanted: str | None, default: str | None) -> Step | None:
    by_id = {s.id: s for s in steps}
    for candidate in (wanted, default):
        if candidate in by_id:
            return by_id[candidate]
    return steps[0] if steps else None


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@page(VIEW)
async def providers(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    i18n.use_language(language_of(request, staff))
    app = dashboard(request).app
    async with app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        groups, scales = group_steps(flow), rating_steps(flow)
        group = _pick(groups, request.query_params.get("group"), DEFAULT_GROUP)
        first_scale = next((s.id for s in scales if s.kind is StepKind.SCALE), None)
        rating = _pick(scales, request.query_params.get("rating"), first_scale)
        rows = (
            await uow.read(ratings, found.id, group.id, rating.id, followup_ratings(flow, rating))
            if group is not None and rating is not None
            else []
        )
    k = app.settings.public_min_group
    language = flow.default_language
    top_from = rating.max - 1 if rating is not None and rating.max is not None else None
    table = trends(
        (Rating(r.citizen_id, r.group, r.value, r.at) for r in rows),
        k,
        groups=[o.key for o in group.options] if group is not None else (),
        top_from=top_from,
    )
    labels = {o.key: flow.localize(o.label, language) for o in group.options} if group else {}
    return render(
        request,
        "providers.html",
        consultation=found,
        group=group,
        rating=rating,
        group_choices=[(s.id, _short(flow.localize(s.text, language))) for s in groups],
        rating_choices=[(s.id, _short(flow.localize(s.text, language))) for s in scales],
        table=table,
        labels=labels,
        top_from=top_from,
        k=k,
    )


def routes() -> list[BaseRoute]:
    return [Route("/consultations/{slug}/providers", providers, methods=["GET"])]
