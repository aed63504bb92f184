"""Opinion groups on the dashboard (issue 19): /consultations/ID/opinions.

Who votes alike on a consultation's statements, what sets each group apart, what every
group agrees on and what splits them: the report `konsulta opinions` prints
(`konsulta.opinion_report`), with a map of the participants' places, each a dot
coloured by its group and nothing else (no pseudonym, no link, no tooltip), so the map
shows the shape of opinion without pointing at anyone.

Groups smaller than `KONSULTA_PUBLIC_MIN_GROUP` are counted, drawn grey and never
described one by one: a group of three's representative statements say what three
people think. Two CSV downloads: the pseudonymous vote matrix (participant id,
statement id, vote), which is citizens' data and therefore audited as an `export` like
the answers' export, and the group summary (shown groups only), audited the same way.
Opening the page is audited as a `view` (`page=opinions`), as the command is.
Every role of the consultation's organisation reads it; another organisation's is a 404.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from konsulta.opinion_report import OpinionReport, opinion_report
from review.export import neutralise
from review.pages import own_consultation
from review.rendering import csv_download, render
from review.security import VIEW, Staff, audit, dashboard, page

__all__ = ["Dot", "dots", "group_csv", "routes", "votes_csv"]

#: Colours of the shown groups on the map (largest group first); smaller groups grey.
PALETTE = ("#1b6ca8", "#d1495b", "#2e8b57", "#e8a33d", "#7b4fa0")
HIDDEN_COLOUR = "#9a9a9a"
#: The map's size in SVG units and its margin.
SIZE = 300
MARGIN = 12


@dataclass(frozen=True)
class Dot:
    """One participant's place on the map: coordinates and colour, no identity."""

    x: float
    y: float
    colour: str


def dots(report: OpinionReport) -> list[Dot]:
    """The placed participants scaled into the map, in a stable order that says
    nothing about who they are (by position, not by pseudonym)."""
    points = report.grouping.points
    if not points:
        return []
    shown = {g.number for g in report.shown_groups}
    xs, ys = [p.x for p in points], [p.y for p in points]
    low_x, low_y = min(xs), min(ys)
    span = max(max(xs) - low_x, max(ys) - low_y) or 1.0
    scale = (SIZE - 2 * MARGIN) / span
    placed = [
        Dot(
            x=round(MARGIN + (p.x - low_x) * scale, 1),
            y=round(SIZE - MARGIN - (p.y - low_y) * scale, 1),
            colour=PALETTE[p.group % len(PALETTE)] if p.group in shown else HIDDEN_COLOUR,
        )
        for p in points
    ]
    return sorted(placed, key=lambda d: (d.x, d.y, d.colour))


def votes_csv(matrix: dict[str, dict[int, int]]) -> str:
    """The pseudonymous vote matrix, one row per vote: participant, statement, vote."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["participant", "statement", "vote"])
    for participant in sorted(matrix):
        for statement, vote in sorted(matrix[participant].items()):
            writer.writerow([neutralise(participant), statement, vote])
    return out.getvalue()


def group_csv(report: OpinionReport) -> str:
    """The group summary: per shown group its representative statements, then the
    consensus and divisive statements; statement texts neutralised against formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "group", "group_size", "statement", "text", "stance", "share"])
    for group in report.shown_groups:
        for item in group.representative:
            writer.writerow(
                [
                    "representative",
                    group.number + 1,
                    group.size,
                    item.statement,
                    neutralise(report.text(item.statement)),
                    item.stance.value,
                    f"{item.share_in_group:.3f}",
                ]
            )
    for kind, statements in (
        ("consensus", report.grouping.consensus),
        ("divisive", report.grouping.divisive),
    ):
        for statement in statements:
            lowest = min((g.agree for g in statement.by_group), default=0.0)
            share = f"{lowest:.3f}" if kind == "consensus" else ""
            writer.writerow(
                [
                    kind,
                    "",
                    "",
                    statement.statement,
                    neutralise(report.text(statement.statement)),
                    "agree" if kind == "consensus" else "",
                    share,
                ]
            )
    return out.getvalue()


@page(VIEW)
async def opinions(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    board = dashboard(request)
    app = board.app
    async with app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        await audit(uow, staff, "view", slug, page="opinions")
        await uow.commit()

    async def group() -> OpinionReport:
        async with app.uow(read_only=True) as uow:
            return await opinion_report(uow, found.id, min_group=app.settings.public_min_group)

    # The grouping (PCA and k-means off the event loop) is kept like the answer
    # aggregates: recomputed in the background once older than the cache's max age.
    report, _age = await board.stats.get(("opinions", found.id), group)
    hidden = report.hidden_groups
    return render(
        request,
        "opinions.html",
        consultation=found,
        report=report,
        groups=report.shown_groups,
        colours={g.number: PALETTE[g.number % len(PALETTE)] for g in report.shown_groups},
        hidden_groups=len(hidden),
        hidden_people=sum(g.size for g in hidden),
        dots=dots(report) if report.enough_votes else [],
        size=SIZE,
        k=report.min_group,
    )


@page(VIEW)
async def votes_export(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        await audit(uow, staff, "export", slug, format="csv", page="opinions", what="votes")
        await uow.commit()
        matrix = await uow.statements.vote_matrix(found.id)
    return csv_download(votes_csv(matrix), f"{slug}-votes.csv")


@page(VIEW)
async def groups_export(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    app = dashboard(request).app
    async with app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        await audit(uow, staff, "export", slug, format="csv", page="opinions", what="groups")
        await uow.commit()
        report = await opinion_report(uow, found.id, min_group=app.settings.public_min_group)
    return csv_download(group_csv(report), f"{slug}-opinion-groups.csv")


def routes() -> list[BaseRoute]:
    base = "/consultations/{slug}/opinions"
    return [
        Route(base, opinions, methods=["GET"]),
        Route(f"{base}/votes.csv", votes_export, methods=["GET"]),
        Route(f"{base}/groups.csv", groups_export, methods=["GET"]),
    ]
