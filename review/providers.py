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

A partner organisation of the consultation sees both pages too (only figures of
groups of at least k). `/consultations/ID/providers/KEY` is one provider's page shared
by the municipality and the partner that provides it (its partnership names KEY on the
provider question): that provider per quarter beside all providers together
(`benchmarks`: shown cells only), compared only where both have at least k people.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow, Step, StepKind
from konsulta.provider_trends import (
    Rating,
    Trends,
    benchmarks,
    followup_ratings,
    group_steps,
    rating_steps,
    trends,
)
from review import i18n
from review.pages import Access, consultation_access, current_flow
from review.rendering import language_of, render
from review.security import VIEW, Staff, dashboard, page
from storage.models import Consultation
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


@dataclass(frozen=True)
class _Table:
    consultation: Consultation
    access: Access
    flow: Flow
    group: Step | None
    rating: Step | None
    groups: list[Step]
    scales: list[Step]
    table: Trends
    labels: dict[str, str]
    top_from: float | None
    language: str


async def _table(request: Request, staff: Staff, group_wanted: str | None) -> _Table:
    """Who may see the consultation (`consultation_access`: its owner, or a partner),
    the questions picked and every group's ratings per quarter, small cells hidden."""
    slug = request.path_params["slug"]
    app = dashboard(request).app
    async with app.uow(read_only=True) as uow:
        access = await consultation_access(uow, staff, slug)
        found = access.consultation
        flow = await current_flow(request, uow, found)
        groups, scales = group_steps(flow), rating_steps(flow)
        group = _pick(groups, group_wanted, DEFAULT_GROUP)
        first_scale = next((s.id for s in scales if s.kind is StepKind.SCALE), None)
        rating = _pick(scales, request.query_params.get("rating"), first_scale)
        rows = (
            await uow.read(ratings, found.id, group.id, rating.id, followup_ratings(flow, rating))
            if group is not None and rating is not None
            else []
        )
    language = flow.default_language
    top_from = rating.max - 1 if rating is not None and rating.max is not None else None
    table = trends(
        (Rating(r.citizen_id, r.group, r.value, r.at) for r in rows),
        app.settings.public_min_group,
        groups=[o.key for o in group.options] if group is not None else (),
        top_from=top_from,
    )
    labels = {o.key: flow.localize(o.label, language) for o in group.options} if group else {}
    return _Table(
        found, access, flow, group, rating, groups, scales, table, labels, top_from, language
    )


def _shared_keys(found: _Table) -> list[str]:
    """The providers whose shared page the staff member may open from here: every one
    for the owner, the partnership's own for a partner (on its provider question)."""
    if found.group is None:
        return []
    keys = [o.key for o in found.group.options]
    partnership = found.access.partnership
    if partnership is None:
        return keys
    if partnership.provider_step != found.group.id:
        return []
    return [key for key in keys if key in partnership.provider_keys]


@page(VIEW)
async def providers(request: Request, staff: Staff) -> Response:
    i18n.use_language(language_of(request, staff))
    found = await _table(request, staff, request.query_params.get("group"))
    return render(
        request,
        "providers.html",
        consultation=found.consultation,
        group=found.group,
        rating=found.rating,
        group_choices=found_choices(found, found.groups),
        rating_choices=found_choices(found, found.scales),
        table=found.table,
        labels=found.labels,
        top_from=found.top_from,
        k=found.table.k,
        shared_keys=_shared_keys(found),
        partner=found.access.partnership is not None,
    )


def found_choices(found: _Table, steps: list[Step]) -> list[tuple[str, str]]:
    """(step id, question in the consultation's language) for a select."""
    return [(s.id, _short(found.flow.localize(s.text, found.language))) for s in steps]


@page(VIEW)
async def provider(request: Request, staff: Staff) -> Response:
    """One provider's page, shared by the municipality and that provider's partner
    organisation: its ratings quarter by quarter beside all providers together
    (`konsulta.provider_trends.benchmarks`: only cells of at least k people pooled),
    compared only where both have at least k people. The grouping question is the
    partnership's provider question for a partner, `?group=` (or the default) for the
    owner; a provider not its own is a 404 to a partner, like an unknown one."""
    key = request.path_params["key"]
    i18n.use_language(language_of(request, staff))
    partner_step: str | None = None
    async with dashboard(request).app.uow(read_only=True) as uow:
        access = await consultation_access(uow, staff, request.path_params["slug"])
        if access.partnership is not None:
            partner_step = access.partnership.provider_step
    found = await _table(
        request, staff, partner_step if partner_step else request.query_params.get("group")
    )
    if key not in _shared_keys(found) or found.rating is None:
        raise HTTPException(404)
    marks = benchmarks(found.table)
    rows = [
        {
            "quarter": quarter,
            "cell": found.table.cell(key, quarter),
            "all": marks.get(quarter),
        }
        for quarter in found.table.quarters
    ]
    return render(
        request,
        "provider.html",
        consultation=found.consultation,
        group=found.group,
        rating=found.rating,
        rating_text=found.flow.localize(found.rating.text, found.language),
        key=key,
        label=found.labels.get(key, key),
        rows=rows,
        top_from=found.top_from,
        k=found.table.k,
        partner=found.access.partnership is not None,
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/consultations/{slug}/providers", providers, methods=["GET"]),
        Route("/consultations/{slug}/providers/{key}", provider, methods=["GET"]),
    ]
