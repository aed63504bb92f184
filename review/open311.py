"""Open311 GeoReport v2, the read side: the published lists of reports for other tools.

`/open311/v2/services.json` (or `.xml`) lists a service per kind of problem of every
consultation whose list of reports staff published (`review.public`); `requests.json`
lists the reports, filtered by `service_request_id`, `service_code`, `status`
(`open`, `closed`), `start_date` and `end_date` (ISO 8601; without both, the last 90
days, as the specification suggests); `requests/<id>.json` is one report.

The same anonymisation as the public list, from the same function
(`review.public.placed_reports`): a place snapped to about 100 m or none, the day
only (as midnight UTC), no description, no address, no photo. A report's id is a keyed
hash of its run (`KONSULTA_PSEUDONYM_SECRET`, in a domain of its own), so ids neither
count the runs nor tie to anything else. Writing (POST requests) is not offered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from review.public import CACHE_CONTROL, PlacedReport, labelled, placed_reports, report_steps
from review.security import dashboard
from storage import public_views
from storage.models import ReportState

__all__ = ["routes"]

DEFAULT_DAYS = 90
MAX_REQUESTS = 1000


def _request_id(secret: bytes, run_id: int) -> str:
    return hmac.new(secret, f"open311:{run_id}".encode(), hashlib.sha256).hexdigest()[:16]


def _when(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def _parse(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _respond(request: Request, root: str, item: str, rows: Sequence[dict[str, Any]]) -> Response:
    fmt = request.path_params["fmt"]
    headers = {"cache-control": CACHE_CONTROL, "access-control-allow-origin": "*"}
    if fmt == "json":
        return Response(
            json.dumps(list(rows), ensure_ascii=False),
            media_type="application/json",
            headers=headers,
        )
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for key, value in row.items():
            child = ElementTree.SubElement(element, key)
            if isinstance(value, bool):
                child.text = "true" if value else "false"
            elif value is not None:
                child.text = str(value)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(top, "utf-8")
    return Response(body, media_type="text/xml; charset=utf-8", headers=headers)


def _error(request: Request, code: int, description: str) -> Response:
    fmt = request.path_params.get("fmt", "json")
    if fmt == "xml":
        top = ElementTree.Element("errors")
        error = ElementTree.SubElement(top, "error")
        ElementTree.SubElement(error, "code").text = str(code)
        ElementTree.SubElement(error, "description").text = description
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(top, "utf-8")
        return Response(body, status_code=code, media_type="text/xml; charset=utf-8")
    return Response(
        json.dumps([{"code": code, "description": description}]),
        status_code=code,
        media_type="application/json",
    )


async def _published(
    request: Request,
) -> list[tuple[str, str, str, dict[str, str], list[PlacedReport]]]:
    """(slug, consultation title, organisation, {option key: label}, reports) of every
    published list, in the deployment's default language."""
    board = dashboard(request)
    language = board.app.settings.default_language
    found = []
    async with board.app.uow(read_only=True) as uow:
        for consultation in await uow.read(public_views.published_maps):
            current = await board.app.flows.current(uow, consultation)
            if current is None:
                continue
            flow = current[1]
            place_step, category_step = report_steps(flow)
            if place_step is None:
                continue
            labels = labelled(category_step, flow, language) if category_step else {}
            reports = await placed_reports(uow, consultation, flow, language)
            organisation = await uow.read(
                public_views.organisation_name, consultation.organisation_id
            )
            title = flow.localize(flow.title, language)
            found.append((consultation.slug, title, organisation, labels, reports))
    return found


def _code(slug: str, key: str | None) -> str:
    return f"{slug}:{key or 'other'}"


async def services(request: Request) -> Response:
    rows = []
    for slug, title, _organisation, labels, _reports in await _published(request):
        # A flow without a kind-of-problem question has one service: the consultation.
        for key, label in labels.items() or [("other", "")]:
            rows.append(
                {
                    "service_code": _code(slug, key),
                    "service_name": label or title,
                    "description": title,
                    "metadata": False,
                    "type": "realtime",
                    "keywords": slug,
                    "group": title,
                }
            )
    return _respond(request, "services", "service", rows)


async def requests(request: Request) -> Response:
    params = request.query_params
    wanted_ids = {i for i in (params.get("service_request_id") or "").split(",") if i}
    codes = {c for c in (params.get("service_code") or "").split(",") if c}
    statuses = {s for s in (params.get("status") or "").split(",") if s}
    start, end = _parse(params.get("start_date")), _parse(params.get("end_date"))
    if start is None and end is None and not wanted_ids:
        start = dashboard(request).clock().date() - timedelta(days=DEFAULT_DAYS)
    rows = await _rows(request)
    chosen = [
        row
        for row in rows
        if (not wanted_ids or row["service_request_id"] in wanted_ids)
        and (not codes or row["service_code"] in codes)
        and (not statuses or row["status"] in statuses)
        and (start is None or (row["_day"] is not None and row["_day"] >= start))
        and (end is None or (row["_day"] is not None and row["_day"] <= end))
    ]
    return _respond(
        request, "service_requests", "request", [_public(r) for r in chosen][:MAX_REQUESTS]
    )


async def one_request(request: Request) -> Response:
    wanted = request.path_params["request_id"]
    rows = [row for row in await _rows(request) if row["service_request_id"] == wanted]
    if not rows:
        return _error(request, 404, "no such service request")
    return _respond(request, "service_requests", "request", [_public(rows[0])])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if not key.startswith("_")}


async def _rows(request: Request) -> list[dict[str, Any]]:
    secret = dashboard(request).app.settings.pseudonym_secret.get_secret_value().encode()
    rows = []
    for slug, title, organisation, labels, reports in await _published(request):
        for report in reports:
            rows.append(
                {
                    "service_request_id": _request_id(secret, report.run_id),
                    "status": "closed" if report.status == ReportState.RESOLVED else "open",
                    "status_notes": report.status,
                    "service_name": labels.get(report.category_key or "", "") or title,
                    "service_code": _code(slug, report.category_key),
                    "description": "",
                    "agency_responsible": organisation,
                    "service_notice": "",
                    "requested_datetime": _when(report.day),
                    "updated_datetime": _when(report.day),
                    "expected_datetime": None,
                    "address": "",
                    "address_id": "",
                    "zipcode": "",
                    "lat": report.point[0] if report.point else None,
                    "long": report.point[1] if report.point else None,
                    "media_url": "",
                    "_day": report.day,
                }
            )
    return rows


async def unknown_format(request: Request) -> Response:
    return _error(request, 404, "use .json or .xml")


def _fmt(request: Request) -> bool:
    return request.path_params.get("fmt") in {"json", "xml"}


def routes() -> list[BaseRoute]:
    async def guarded_services(request: Request) -> Response:
        return await services(request) if _fmt(request) else await unknown_format(request)

    async def guarded_requests(request: Request) -> Response:
        return await requests(request) if _fmt(request) else await unknown_format(request)

    async def guarded_one(request: Request) -> Response:
        return await one_request(request) if _fmt(request) else await unknown_format(request)

    return [
        Route("/open311/v2/services.{fmt}", guarded_services, methods=["GET"]),
        Route("/open311/v2/requests.{fmt}", guarded_requests, methods=["GET"]),
        Route("/open311/v2/requests/{request_id}.{fmt}", guarded_one, methods=["GET"]),
    ]
