"""Public results pages: what a consultation found, for anyone, without a login.

`/public/<slug>` (and the short `/p/<slug>`) shows the questions staff published, with
the k-anonymity rules of `konsulta.public_results` applied to every number, and the
outcomes staff sent ("you said, we did"); `/public/<slug>/embed` is the same without
the page around it, for an iframe on the municipality's website. Staff switch it on
and pick the questions on the consultation page (`/consultations/<slug>/public`, a
post with CSRF, audited as `publish_results`).

Three rules keep it from leaking:
- one answer for everything not published: a consultation that does not exist, is not
  published, or has no published version is the same 404 page (`not_found`);
- a public page never touches the session (no cookie is set, so it can be cached by
  proxies: `Cache-Control: public`), and renders with its own function, not the
  dashboard's `render`, which puts a CSRF token in the session;
- the numbers come from `storage.public_views` (finished runs, aggregated) and go
  through the pure rules before a template sees them; free text, places, photos and
  numbers are never among the kinds that can be published.

Cheap to serve: a results page is read through its own cache (`Dashboard.public`, see
`snapshot`), apart from the dashboard's: a view served from it runs no SQL and renders
nothing new; however many readers come, a consultation is recounted at most once per
`KONSULTA_WEB_STATS_MAX_AGE_SECONDS`, in the background, so public traffic cannot slow
the bot or the dashboard (bench/public_page.py measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from babel import Locale, UnknownLocaleError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow, Step, StepKind
from konsulta import open_data, public_numbers, public_results
from konsulta.open_data import OpenFormat
from konsulta.opinion_report import (
    IdeaOutcome,
    PublishedOpinions,
    idea_outcomes,
    published_opinions,
)
from konsulta.public_numbers import Numbers, option_keys
from konsulta.public_results import OTHER, PUBLIC_KINDS, Cell
from review import i18n
from review.i18n import N_
from review.pages import current_flow, own_consultation
from review.rendering import flash
from review.security import EDIT, Staff, action, audit, dashboard
from storage import public_views
from storage.models import Consultation
from storage.uow import UnitOfWork

__all__ = ["CACHE_CONTROL", "EMBED_PATH", "routes"]

#: Public pages may be kept by browsers and proxies, briefly: unpublishing takes
#: effect everywhere within a minute.
CACHE_CONTROL = "public, max-age=60"
#: Paths served by this module (the security middleware keeps their Cache-Control).
PUBLIC_PREFIXES = ("/public/", "/p/", "/open311/")
#: The embeddable widget's path ends so; only it may be framed by other sites.
EMBED_PATH = "/embed"

#: Rendered pages kept per snapshot (languages x page or widget x host names).
MAX_RENDERED = 64

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 150
WIDTH = 460
FONT = 'font-family="system-ui, sans-serif" font-size="13"'
COLOURS = ("#1d4ed8", "#0f766e", "#a21caf", "#c2410c", "#4d7c0f", "#b91c1c")


@dataclass(frozen=True)
class Row:
    """One published number: its label, count and share of the people who finished."""

    label: str
    count: int
    share: int


@dataclass(frozen=True)
class ShownGroup:
    """An opinion group on the public page: its size and statements, in a language."""

    size: int
    agree: list[str]
    disagree: list[str]


@dataclass(frozen=True)
class PublicChart:
    title: str
    rows: list[Row]
    several: bool  # multiple choice: shares do not add up to 100%
    svg: str


# --- the numbers --------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything a published results page shows, read once and kept in the public
    pages' own cache (`Dashboard.public`): a cached view runs no SQL at all. Rendered
    pages are kept on it per (language, widget or page, address), so a refresh of the
    snapshot refreshes them too."""

    consultation: Consultation
    flow: Flow
    organisation: str
    outcomes: list[public_views.PublicOutcome]
    numbers: Numbers
    #: The opinion groups of its statement votes, when any may be shown.
    opinions: PublishedOpinions | None
    #: What became of the ideas staff marked ("you said, we did").
    ideas: list[IdeaOutcome]
    counted: datetime
    pages: dict[tuple[str, bool, str], str] = field(default_factory=dict)
    downloads: dict[OpenFormat, bytes] = field(default_factory=dict)


async def snapshot(request: Request, slug: str) -> Snapshot | None:
    """The published page's data from the public cache (recounted in the background
    once older than `KONSULTA_WEB_STATS_MAX_AGE_SECONDS`; one recount however many
    readers), or None when nothing is published under `slug` (never kept)."""
    board = dashboard(request)
    k = board.app.settings.public_min_group

    async def load() -> Snapshot | None:
        async with board.app.uow(read_only=True) as uow:
            found = await uow.read(public_views.published_consultation, slug)
            current = None if found is None else await board.app.flows.current(uow, found)
            if found is None or current is None:
                return None
            flow = current[1]
            return Snapshot(
                consultation=found,
                flow=flow,
                organisation=await uow.read(public_views.organisation_name, found.organisation_id),
                outcomes=await uow.read(public_views.public_outcomes, found.id),
                numbers=await public_numbers.count(uow, found, flow, k),
                opinions=await published_opinions(uow, found.id, k=k),
                ideas=await idea_outcomes(uow, found.id),
                counted=board.clock(),
            )

    found, _age = await board.public.get(("results", slug, k), load)
    assert found is None or isinstance(found, Snapshot)
    return found


# --- charts ---------------------------------------------------------------------------


def bars(rows: list[Row], title: str) -> str:
    """Horizontal bars with the count and share; `title` is the text alternative and
    the page prints the same numbers in a table under it."""
    height = max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    track = WIDTH - LABEL_WIDTH - 90
    most = max((row.count for row in rows), default=0) or 1
    parts: list[str] = []
    for index, row in enumerate(rows):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        length = max(round(track * row.count / most), 1)
        label = row.label if len(row.label) <= 22 else row.label[:21] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" {FONT}>'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" rx="3" '
            f'fill="{COLOURS[index % len(COLOURS)]}"><title>{escape(row.label)}: '
            f"{row.count} ({row.share}%)</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 16}" {FONT}>'
            f"{row.count} ({row.share}%)</text>"
        )
    summary = "; ".join(f"{row.label}: {row.count} ({row.share}%)" for row in rows)
    alt = f"{title} — {summary}" if summary else title
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="100%" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(alt)}">'
        f"<title>{escape(alt)}</title>{''.join(parts)}</svg>"
    )


def language_name(code: str, language: str) -> str:
    try:
        return Locale.parse(code).get_display_name(language) or code
    except (ValueError, UnknownLocaleError):
        return code


def labelled(step: Step, flow: Flow, language: str) -> dict[str, str]:
    if step.kind is StepKind.YES_NO:
        return {"true": i18n.gettext("yes"), "false": i18n.gettext("no")}
    if step.kind is StepKind.SCALE:
        return {key: key for key in option_keys(step)}
    return {option.key: flow.localize(option.label, language) for option in step.options}


def chart(
    title: str, cells: list[Cell], labels: dict[str, str], population: int, *, several: bool
) -> PublicChart:
    other = i18n.gettext(N_("Other answers or no answer"))
    rows = [
        Row(
            other if cell.key == OTHER else labels.get(cell.key, cell.key),
            cell.count,
            round(100 * cell.count / population) if population else 0,
        )
        for cell in cells
    ]
    return PublicChart(title, rows, several, bars(rows, title))


# --- pages ------------------------------------------------------------------------------


def public_language(request: Request, flow: Flow | None = None) -> str:
    """The page's language: ?lang= first, then Accept-Language, then the flow's (or the
    deployment's) default; any language of the flow (its questions are translated),
    or of the public pages (their texts are; questions a flow lacks in it read in the
    flow's default language)."""
    offered = [*i18n.PUBLIC_LANGUAGES, *(flow.languages if flow is not None else [])]
    chosen = request.query_params.get("lang", "")
    if chosen in offered:
        return chosen
    for part in (request.headers.get("accept-language") or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in offered:
            return code
    default = flow.default_language if flow is not None else ""
    if default not in offered:
        default = dashboard(request).app.settings.default_language
    return default if default in offered else i18n.LANGUAGES[0]


def interface_language(language: str) -> str:
    """The public pages speak all twelve languages; anything else reads English."""
    return language if language in i18n.PUBLIC_LANGUAGES else "en"


def use_public_language(language: str) -> None:
    i18n.use_language(interface_language(language), i18n.PUBLIC_LANGUAGES)


def direction(language: str) -> str:
    try:
        rtl = Locale.parse(language).character_order == "right-to-left"
    except (ValueError, UnknownLocaleError):
        rtl = False
    return "rtl" if rtl else "ltr"


def _render(
    request: Request,
    template: str,
    language: str,
    offered: Sequence[str] = i18n.LANGUAGES,
    **context: Any,
) -> str:
    """A public page's HTML: translated, never touching the session."""
    use_public_language(language)
    return (
        dashboard(request)
        .templates.get_template(template)
        .render(
            language=language,
            direction=direction(language),
            languages=list(dict.fromkeys(offered)),
            path=request.url.path,
            **context,
        )
    )


def _html(
    request: Request,
    template: str,
    language: str,
    status: int,
    offered: Sequence[str] = i18n.LANGUAGES,
    **context: Any,
) -> Response:
    """A public page: translated, never touching the session (no cookie, cacheable)."""
    html = _render(request, template, language, offered, **context)
    cache = CACHE_CONTROL if status == 200 else "no-store"
    return HTMLResponse(
        html, status_code=status, headers={"cache-control": cache, "vary": "Accept-Language"}
    )


def not_found(request: Request) -> Response:
    """The one answer for anything not published (or not there at all)."""
    return _html(request, "public_missing.html", public_language(request), 404)


async def results_page(request: Request) -> Response:
    embed = request.url.path.endswith(EMBED_PATH)
    found = await snapshot(request, request.path_params["slug"])
    if found is None:
        return not_found(request)
    flow = found.flow
    language = public_language(request, flow)
    base = f"{request.url.scheme}://{request.url.netloc}"
    key = (language, embed, base)
    html = found.pages.get(key)
    if html is None:
        html = render_results(request, found, language, embed, base)
        if len(found.pages) < MAX_RENDERED:  # the Host header is the reader's to choose
            found.pages[key] = html
    return HTMLResponse(html, headers={"cache-control": CACHE_CONTROL, "vary": "Accept-Language"})


def render_results(request: Request, found: Snapshot, language: str, embed: bool, base: str) -> str:
    flow, numbers, consultation = found.flow, found.numbers, found.consultation
    use_public_language(language)
    k = dashboard(request).app.settings.public_min_group
    steps = {s.id: s for s in flow.questions}
    charts = [
        chart(
            flow.localize(steps[step_id].text, language),
            cells,
            labelled(steps[step_id], flow, language),
            numbers.population,
            several=steps[step_id].kind is StepKind.MULTIPLE_CHOICE,
        )
        for step_id, cells in numbers.questions
    ]
    languages = None
    if numbers.languages is not None:
        languages = chart(
            i18n.gettext(N_("People who finished, by language")),
            numbers.languages,
            {cell.key: language_name(cell.key, language) for cell in numbers.languages},
            numbers.population,
            several=False,
        )
    opinion_groups: list[ShownGroup] = []
    consensus: list[str] = []
    if found.opinions is not None:
        published = found.opinions

        def texts(statements: Sequence[str]) -> list[str]:
            return [published.text(statement, language) for statement in statements]

        opinion_groups = [
            ShownGroup(group.size, texts(group.agree), texts(group.disagree))
            for group in published.opinions.groups
        ]
        consensus = texts(published.opinions.consensus)
    outcome_texts = [
        (outcome.created_at, _in_language(outcome.texts, language, flow.default_language))
        for outcome in found.outcomes
    ]
    return _render(
        request,
        "public_embed.html" if embed else "public_results.html",
        language,
        [*i18n.LANGUAGES, *flow.languages],
        title=flow.localize(flow.title, language),
        organisation=found.organisation,
        slug=consultation.slug,
        k=k,
        enough=numbers.population >= k,
        population=numbers.population,
        languages_chart=languages,
        charts=charts,
        outcomes=outcome_texts,
        ideas=[(idea.status, idea.text_in(language), idea.reason) for idea in found.ideas],
        opinion_groups=opinion_groups,
        consensus=consensus,
        has_map=consultation.public_map_since is not None,
        downloads=[
            (fmt.value, f"/public/{consultation.slug}/{fmt.value}.zip") for fmt in OpenFormat
        ],
        share_url=f"{base}/p/{consultation.slug}",
        embed_url=f"{base}/public/{consultation.slug}/embed",
    )


async def download(request: Request) -> Response:
    """The open-data package of the published results (`konsulta.open_data`) as a ZIP:
    the same numbers as the page, from the same snapshot."""
    try:
        fmt = OpenFormat(request.path_params["format"])
    except ValueError:
        return not_found(request)
    found = await snapshot(request, request.path_params["slug"])
    if found is None:
        return not_found(request)
    slug = found.consultation.slug
    content = found.downloads.get(fmt)
    if content is None:
        settings = dashboard(request).app.settings
        catalogue = open_data.catalogue_of(
            found.consultation,
            found.flow,
            found.organisation,
            licence=settings.open_data_licence,
            k=settings.public_min_group,
            counted=found.counted,
            landing_page=f"{request.url.scheme}://{request.url.netloc}/p/{slug}",
        )
        package = open_data.build(fmt, found.numbers, found.flow, catalogue)
        content = found.downloads[fmt] = open_data.zipped(package, f"{slug}-{fmt.value}")
    return Response(
        content,
        media_type="application/zip",
        headers={
            "cache-control": CACHE_CONTROL,
            "content-disposition": f'attachment; filename="{slug}-{fmt.value}.zip"',
        },
    )


@dataclass(frozen=True)
class PlacedReport:
    """A report as public pages show it: labels in a language, the place snapped."""

    run_id: int  # for Open311's keyed id only; never shown
    category_key: str | None
    category: str
    status: str
    day: date | None
    point: tuple[float, float] | None


def report_steps(flow: Flow) -> tuple[Step | None, Step | None]:
    """(the place question, the kind-of-problem question: the first single choice)."""
    place = next((s for s in flow.questions if s.kind is StepKind.LOCATION), None)
    category = next((s for s in flow.questions if s.kind is StepKind.SINGLE_CHOICE), None)
    return place, category


async def placed_reports(
    uow: UnitOfWork, consultation: Consultation, flow: Flow, language: str
) -> list[PlacedReport]:
    """The finished reports of a consultation whose list staff published, anonymised
    (`konsulta.public_results.snap`; a typed place is dropped)."""
    place_step, category_step = report_steps(flow)
    if place_step is None:
        return []
    reports = await uow.read(
        public_views.public_reports,
        consultation.id,
        place_step.id,
        category_step.id if category_step else None,
    )
    categories = labelled(category_step, flow, language) if category_step else {}
    placed = []
    for report in reports:
        lat, lon = report.place.get("lat"), report.place.get("lon")
        point = None
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            point = public_results.snap(float(lat), float(lon))
        placed.append(
            PlacedReport(
                run_id=report.run_id,
                category_key=report.category if report.category in categories else None,
                category=categories.get(report.category or "", ""),
                status=report.status,
                day=report.day,
                point=point,
            )
        )
    return placed


async def map_page(request: Request) -> Response:
    """The public list of service-need reports: category, status, day and a place
    snapped to a grid of about 100 m (typed places and photos are never shown)."""
    slug = request.path_params["slug"]
    board = dashboard(request)
    async with board.app.uow(read_only=True) as uow:
        found = await uow.read(public_views.published_map, slug)
        current = None if found is None else await board.app.flows.current(uow, found)
        if found is None or current is None:
            return not_found(request)
        flow = current[1]
        place_step, category_step = report_steps(flow)
        if place_step is None:
            return not_found(request)
        language = public_language(request, flow)
        use_public_language(language)
        organisation = await uow.read(public_views.organisation_name, found.organisation_id)
        reports = await placed_reports(uow, found, flow, language)
    return _html(
        request,
        "public_map.html",
        language,
        200,
        [*i18n.LANGUAGES, *flow.languages],
        title=flow.localize(flow.title, language),
        organisation=organisation,
        slug=found.slug,
        category_title=flow.localize(category_step.text, language) if category_step else "",
        reports=reports,
    )


def _in_language(texts: dict[str, str], language: str, default: str) -> str:
    return texts.get(language) or texts.get(default) or next(iter(texts.values()), "")


# --- staff: publish, unpublish, pick questions ------------------------------------------


@action(EDIT)
async def set_public(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    board = dashboard(request)
    async with board.app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        allowed = [s.id for s in flow.questions if s.kind.value in PUBLIC_KINDS]
        picked = {str(value) for value in form.getlist("step")}
        steps = [step_id for step_id in allowed if step_id in picked]
        published = form.get("published") == "1"
        if published and found.public_since is None:
            found.public_since = board.clock()
        elif not published:
            found.public_since = None
        found.public_steps = steps
        has_places = any(s.kind is StepKind.LOCATION for s in flow.questions)
        mapped = published and has_places and form.get("map") == "1"
        if mapped and found.public_map_since is None:
            found.public_map_since = board.clock()
        elif not mapped:
            found.public_map_since = None
        await audit(
            uow, staff, "publish_results", slug, published=published, steps=steps, map=mapped
        )
        await uow.commit()
    board.public.clear()  # this process shows the change at once; others within max age
    on, off = N_("The public results page is on."), N_("The public results page is off.")
    flash(request, on if published else off)
    return RedirectResponse(f"/consultations/{slug}#public", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/consultations/{slug}/public", set_public, methods=["POST"]),
        Route("/public/{slug}", results_page, methods=["GET"]),
        Route("/public/{slug}/embed", results_page, methods=["GET"]),
        Route("/p/{slug}", results_page, methods=["GET"]),
        Route("/p/{slug}/embed", results_page, methods=["GET"]),
        Route("/public/{slug}/map", map_page, methods=["GET"]),
        Route("/public/{slug}/{format}.zip", download, methods=["GET"]),
        Route("/p/{slug}/map", map_page, methods=["GET"]),
    ]
