"""Open311 GeoReport v2 (read side) over the published lists of reports: the fields the
specification names, in JSON and XML, filtered as it says, anonymised like the list."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from xml.etree import ElementTree

from database_checks import session_of
from sqlalchemy import select

from konsulta.bootstrap import App
from konsulta.public_results import snap
from storage.models import ReportStatus, Run
from storage.types import utcnow
from tests.review.conftest import Browser, add_run, logged_in

SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
}  # fmt: skip
PLACE = {"lat": 54.464123, "lon": 17.028791}


async def seed(app: App, browser_factory: Callable[[], Browser]) -> None:
    await add_run(app, "park-survey", 9001, {"district": "north", "place": PLACE, "idea": "Mine"})
    await add_run(app, "park-survey", 9002, {"district": "south", "place": {"place": "Długa 5"}})
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        first = (
            (
                await session_of(uow).execute(
                    select(Run.id).where(Run.consultation_id == consultation.id).order_by(Run.id)
                )
            )
            .scalars()
            .first()
        )
        uow.add(ReportStatus(run_id=first, status="resolved", updated_at=utcnow()))
        await uow.commit()
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post(
        "/consultations/park-survey/public", {"published": "1", "step": ["district"], "map": "1"}
    )


async def test_open311_lists_services_and_anonymous_requests_in_json_and_xml(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    assert json.loads((await anonymous.get("/open311/v2/requests.json")).text) == []
    await seed(app, browser_factory)

    services = json.loads((await anonymous.get("/open311/v2/services.json")).text)
    assert [s["service_code"] for s in services] == ["park-survey:north", "park-survey:south"]
    assert all(set(s) == SERVICE_FIELDS and s["type"] == "realtime" for s in services)
    assert services[0]["service_name"] == "North" and services[0]["metadata"] is False

    response = await anonymous.get("/open311/v2/requests.json")
    assert response.headers["content-type"].startswith("application/json")
    assert "set-cookie" not in response.headers
    found = json.loads(response.text)
    assert len(found) == 2 and all(set(r) == REQUEST_FIELDS for r in found)
    by_code = {r["service_code"]: r for r in found}
    north, south = by_code["park-survey:north"], by_code["park-survey:south"]
    assert (north["lat"], north["long"]) == snap(PLACE["lat"], PLACE["lon"])
    assert north["status"] == "closed" and south["status"] == "open"
    assert south["lat"] is None and "Długa" not in response.text and "Mine" not in response.text
    assert north["agency_responsible"] and north["description"] == ""
    assert north["requested_datetime"].endswith("T00:00:00Z")
    assert len(north["service_request_id"]) == 16

    closed = json.loads((await anonymous.get("/open311/v2/requests.json?status=closed")).text)
    assert [r["service_request_id"] for r in closed] == [north["service_request_id"]]
    coded = await anonymous.get("/open311/v2/requests.json?service_code=park-survey:south")
    assert [r["service_code"] for r in json.loads(coded.text)] == ["park-survey:south"]
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    later = await anonymous.get(f"/open311/v2/requests.json?start_date={tomorrow}T00:00:00Z")
    assert json.loads(later.text) == []

    one = await anonymous.get(f"/open311/v2/requests/{north['service_request_id']}.json")
    assert json.loads(one.text) == [north]
    missing = await anonymous.get("/open311/v2/requests/0000000000000000.json")
    assert missing.status_code == 404 and json.loads(missing.text)[0]["code"] == 404

    xml = await anonymous.get("/open311/v2/requests.xml?status=open")
    root = ElementTree.fromstring(xml.content)
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert {child.tag for child in request} == REQUEST_FIELDS
    assert request.findtext("service_code") == "park-survey:south"
    services_xml = ElementTree.fromstring((await anonymous.get("/open311/v2/services.xml")).content)
    assert [s.findtext("service_code") for s in services_xml.findall("service")] == [
        "park-survey:north",
        "park-survey:south",
    ]
    assert (await anonymous.get("/open311/v2/services.csv")).status_code == 404

    staff = await logged_in(browser_factory, "staff-a@example.org")  # the list taken down
    await staff.post("/consultations/park-survey/public", {"published": "1", "step": ["district"]})
    assert json.loads((await anonymous.get("/open311/v2/requests.json")).text) == []
    assert json.loads((await anonymous.get("/open311/v2/services.json")).text) == []
