"""Staff build who gets a broadcast from rows of conditions and see the count follow.

The park survey (Org A): Anna (en, north, finished, through the Seniors' club),
Bogdan (pl, south, finished), Celina (en, north, finished), Dawid (en, south, did not
finish); Ewa answered Org B's harbour survey. The count endpoint is a dry run (no
draft is written), viewers may count but not create, another organisation's staff
get 404, and creating a segment broadcast is audited with its segment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from konsulta.bootstrap import App
from tests.review.conftest import Browser, add_run, logged_in

COUNT = "/consultations/park-survey/broadcasts/count"
JSON = {"accept": "application/json"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _count(browser: Browser, fields: dict[str, Any]) -> dict[str, Any]:
    response = await browser.post(COUNT, fields, headers=JSON)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_the_count_follows_the_rows_as_staff_build_them(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    page = _text((await browser.get("/consultations/park-survey/broadcasts")).text)
    assert "4 citizens would get it now." in page  # everyone who took part, Ewa not
    assert "answer to" in page and "took part through community" not in page  # none yet

    everyone = await _count(browser, {})
    assert everyone["total"] == 4
    assert everyone["segment"] == {"all": [{"consultation": "park-survey"}]}

    north = {"row-0-kind": "answer", "row-0-step": "district", "row-0-op": "is",
             "row-0-value": "district:north"}  # fmt: skip
    assert (await _count(browser, north))["total"] == 2  # Anna, Celina

    south_unfinished = {
        "row-0-kind": "answer", "row-0-step": "district", "row-0-op": "is_not",
        "row-0-value": "district:north", "row-1-kind": "finished", "row-1-not": "1",
    }  # fmt: skip
    assert (await _count(browser, south_unfinished))["total"] == 1  # Dawid

    either = {**south_unfinished, "match": "any"}
    assert (await _count(browser, either))["total"] == 2  # Bogdan (south), Dawid

    polish = {"row-0-kind": "language", "row-0-language": "pl"}
    counted = await _count(browser, polish)
    assert counted["total"] == 1 and counted["languages"] == {"en": 1}
    # Bogdan reads Polish; with no Polish text yet he would get the English one.
    assert counted["fallbacks"] == [{"language": "pl", "instead": "en", "recipients": 1}]
    assert "1 recipient reads pl and will get the en text" in _text(counted["html"])
    written = await _count(browser, {**polish, "text_pl": "Dzień dobry"})
    assert written["languages"] == {"en": 0, "pl": 1} and written["fallbacks"] == []

    async with app.uow() as uow:
        assert await uow.broadcasts.of_consultation(1, limit=5) == []  # a dry run only


async def test_a_community_row_and_the_count_button_without_javascript(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    async with app.uow() as uow:
        org_a = await uow.organisations.get_by_slug("org-a")
        assert org_a is not None
        club = await uow.communities.create(org_a.id, "Seniors' club", ["pl", "en"])
        await uow.commit()
    await add_run(app, "park-survey", 1005, {"district": "north"}, community=club.id)
    browser = await logged_in(browser_factory, "staff-a@example.org")
    fields = {"name": "Club news", "row-0-kind": "community", "row-0-community": str(club.id)}
    page = await browser.post(COUNT, fields)  # the "Count" submit button: the page again
    assert page.status_code == 200
    text = _text(page.text)
    assert "1 citizen would get it now." in text
    assert 'value="Club news"' in page.text  # what staff wrote stays
    assert f'<option value="{club.id}" selected>' in page.text
    assert 'name="row-1-kind"' in page.text  # and a blank row to add a condition


async def test_staff_create_a_segment_broadcast_and_it_is_audited(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    created = await browser.post(
        "/consultations/park-survey/broadcasts",
        {
            "name": "Stairs",
            "kind": "broadcast",
            "row-0-kind": "answer",
            "row-0-step": "stairs",
            "row-0-op": "is",
            "row-0-value": "stairs:yes",
            "text_en": "The new ramp opens on Monday.",
        },
    )
    assert created.status_code == 303
    detail = _text((await browser.get(created.headers["location"])).text)
    assert "1 citizens would get it now." in detail  # Anna
    assert "To: those who took part in this consultation and match all of these" in detail
    assert "answer to “Are stairs a problem?” is Yes" in detail
    async with app.uow() as uow:
        [entry] = await uow.audit.search(organisation_id=None, action="broadcast")
    assert entry.detail["action"] == "create"
    assert entry.detail["segment"] == {
        "all": [
            {"consultation": "park-survey"},
            {"answer": {"consultation": "park-survey", "step": "stairs", "equals": True}},
        ]
    }

    refused = await browser.post(
        "/consultations/park-survey/broadcasts",
        {"name": "No English", "row-0-kind": "never_answered", "text_pl": "Dzień dobry"},
    )
    assert refused.status_code == 400
    assert "Not created: no text in the default language" in _text(refused.text)
    assert '<option value="never_answered" selected>' in refused.text  # rows kept
    assert "Dzień dobry</textarea>" in refused.text  # and texts


async def test_viewers_count_but_cannot_create_and_other_organisations_get_404(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    page = await viewer.get("/consultations/park-survey/broadcasts")
    assert "Who would get a message" in page.text and "Create and preview" not in page.text
    assert (await _count(viewer, {"row-0-kind": "finished"}))["total"] == 3
    create = {"name": "x", "row-0-kind": "finished", "text_en": "Hello"}
    assert (await viewer.post("/consultations/park-survey/broadcasts", create)).status_code == 403

    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.post(COUNT, {}, headers=JSON)).status_code == 404
    assert (await other.post(COUNT, {})).status_code == 404
    assert (await other.post("/consultations/park-survey/broadcasts", create)).status_code == 404

    anonymous = browser_factory()
    assert (await anonymous.post(COUNT, {}, csrf=False)).status_code == 403
    staff = await logged_in(browser_factory, "staff-a@example.org")
    assert (await staff.post(COUNT, {}, csrf=False, headers=JSON)).status_code == 403
    async with app.uow() as uow:
        assert await uow.audit.search(organisation_id=None, action="broadcast") == []
