"""The public results page: anyone can read what staff published, and nothing else.

Org A's park survey with 24 finished citizens (12 in Polish, 12 in English) and two
who stopped half-way; k is the default 10. Staff publish some of its questions; an
anonymous visitor reads them, in a page and in the embeddable widget.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from konsulta.bootstrap import App
from konsulta.public_results import snap
from outreach.results import add_outcome
from review.public import CACHE_CONTROL, direction, interface_language
from storage.models import Broadcast, BroadcastStatus
from tests.review.conftest import Browser, add_run, logged_in

SECRET_IDEA = "Bury the gold under the old oak"
PUBLISHED = ["district", "satisfaction", "needs", "idea", "age"]  # not "stairs"


def _answers(index: int) -> dict[str, Any]:
    # district: 14 north, 10 south; stairs: 20 yes, 4 no; satisfaction: 12 x 5, 9 x 4,
    # 3 x 3; needs: benches 22, toilets 11, shade 3.
    return {
        "district": "north" if index < 14 else "south",
        "age": 30 + index,
        "satisfaction": 5 if index < 12 else 4 if index < 21 else 3,
        "needs": [
            *(["benches"] if index < 22 else []),
            *(["toilets"] if index % 2 == 0 and index < 22 else []),
            *(["shade"] if index >= 21 else []),
        ],
        "stairs": index < 20,
        "idea": f"{SECRET_IDEA} #{index}",
    }


@pytest.fixture
async def finished(app: App) -> None:
    for index in range(24):
        await add_run(
            app, "park-survey", 5000 + index, _answers(index), language="pl" if index % 2 else "en"
        )
    for index in range(2):  # stopped half-way: not counted in public
        await add_run(app, "park-survey", 6000 + index, {"district": "south"}, completed=False)


async def publish(browser: Browser, steps: list[str], *, on: bool = True) -> Any:
    data: dict[str, Any] = {"step": steps}
    if on:
        data["published"] = "1"
    return await browser.post("/consultations/park-survey/public", data)


def cells(html: str) -> list[tuple[str, str]]:
    """(answer, people) of every data table row on a public page."""
    rows = re.findall(r"<tr><td>([^<]*)</td><td class=\"num\">(\d+)</td>", html)
    return [(label, n) for label, n in rows]


async def test_a_published_page_is_read_by_anyone_and_shows_no_small_group(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App, finished: None
) -> None:
    assert (await anonymous.get("/public/park-survey")).status_code == 404
    staff = await logged_in(browser_factory, "staff-a@example.org")
    response = await publish(staff, PUBLISHED)
    assert response.status_code == 303

    page = await anonymous.get("/public/park-survey", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == CACHE_CONTROL
    assert "set-cookie" not in page.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert "24 people finished the consultation." in html
    table = cells(html)
    # languages: 12 and 12; district: 14 north and 10 south
    assert ("North", "14") in table and ("South", "10") in table
    assert table.count(("English", "12")) == 1 and ("Polish", "12") in table
    # satisfaction: 12 gave 5; the 9 who gave 4 and the 3 who gave 3 are "other"
    assert ("5", "12") in table and ("Other answers or no answer", "12") in table
    assert ("4", "9") not in table and ("3", "3") not in table
    # needs: benches 22 leaves 2 who did not pick it, shade is 3: only toilets
    assert ("Toilets", "11") in table
    assert "Benches" not in html and "Shade" not in html
    assert all(int(n) >= 10 for _label, n in table)
    assert "Are stairs a problem?" not in html  # not published
    assert SECRET_IDEA not in html and "Your idea" not in html  # free text never
    assert "How old are you?" not in html  # numbers never
    for pid_like in re.findall(r"\bp-[0-9a-f]{6,}", html):
        pytest.fail(f"a participant id on a public page: {pid_like}")
    assert "<svg" in html and 'role="img"' in html and 'aria-label="Which district' in html

    polish = await anonymous.get("/p/park-survey?lang=pl")
    assert polish.status_code == 200
    assert '<html lang="pl" dir="ltr">' in polish.text and "Dzielnica?" in polish.text
    assert ("Północ", "14") in cells(polish.text)

    async with app.uow() as uow:
        entries = await uow.audit.search(organisation_id=None, action="publish_results")
    assert [e.detail for e in entries] == [
        {"published": True, "steps": ["district", "satisfaction", "needs"], "map": False}
    ]
    assert entries[0].email == "staff-a@example.org" and entries[0].target == "park-survey"


async def test_the_widget_can_be_framed_and_has_no_navigation(
    browser_factory: Callable[[], Browser], anonymous: Browser, finished: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, ["district"])
    widget = await anonymous.get("/public/park-survey/embed")
    assert widget.status_code == 200
    assert "frame-ancestors *" in widget.headers["content-security-policy"]
    assert "x-frame-options" not in widget.headers
    assert "<nav" not in widget.text and "<header" not in widget.text
    assert ("North", "14") in cells(widget.text)
    assert (await anonymous.get("/p/park-survey/embed")).status_code == 200
    polish = await anonymous.get("/public/park-survey/embed", headers={"accept-language": "pl"})
    assert ("Północ", "14") in cells(polish.text)
    page = await anonymous.get("/public/park-survey")
    assert page.headers["x-frame-options"] == "DENY"


async def test_unpublished_foreign_and_missing_consultations_are_the_same_404(
    browser_factory: Callable[[], Browser], anonymous: Browser, finished: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, ["district"])
    await publish(staff, ["district"], on=False)
    missing = await anonymous.get("/public/no-such-survey")
    unpublished = await anonymous.get("/public/park-survey")
    foreign = await anonymous.get("/public/harbour-survey/embed")
    assert {r.status_code for r in (missing, unpublished, foreign)} == {404}
    assert missing.text == unpublished.text == foreign.text
    assert unpublished.headers["cache-control"] == "no-store"
    # staff of Org A cannot publish Org B's consultation
    response = await staff.post("/consultations/harbour-survey/public", {"published": "1"})
    assert response.status_code == 404
    assert (await anonymous.get("/public/harbour-survey")).status_code == 404
    # a viewer cannot publish, and a post without the form token is refused
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    assert (await publish(viewer, ["district"])).status_code == 403
    assert (
        await staff.post("/consultations/park-survey/public", {"published": "1"}, csrf=False)
    ).status_code == 403
    assert (await anonymous.get("/public/park-survey")).status_code == 404


async def test_too_few_finished_shows_no_numbers(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    for index in range(9):
        await add_run(app, "park-survey", 7000 + index, _answers(index))
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, PUBLISHED)
    page = await anonymous.get("/public/park-survey")
    assert page.status_code == 200
    assert cells(page.text) == []
    assert "at least 10 people have finished" in page.text
    assert "North" not in page.text


async def test_you_said_we_did_shows_sent_outcomes_with_their_dates(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App, finished: None
) -> None:
    sent, _ = await add_outcome(
        app, "park-survey", {"en": "New benches by the pond", "pl": "Nowe ławki"}
    )
    await add_outcome(app, "park-survey", {"en": "Still a draft"})
    async with app.uow() as uow:
        broadcast = await uow.get(Broadcast, sent.broadcast_id)
        assert broadcast is not None
        broadcast.status = BroadcastStatus.DONE
        await uow.commit()
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, ["district"])
    page = (await anonymous.get("/public/park-survey?lang=en")).text
    assert "You said, we did" in page and "New benches by the pond" in page
    assert sent.created_at.strftime("%Y-%m-%d") in page
    assert "Still a draft" not in page
    assert "Nowe ławki" in (await anonymous.get("/public/park-survey?lang=pl")).text


async def test_a_question_where_only_other_is_left_is_not_shown(
    browser_factory: Callable[[], Browser], anonymous: Browser, finished: None
) -> None:
    # stairs: 20 yes, 4 no; "no" alone would be 4 people, so "yes" would join "other"
    # and the chart would say nothing but the total: the question is left out.
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, ["district", "stairs"])
    html = (await anonymous.get("/public/park-survey")).text
    assert "Which district" in html and "Are stairs a problem?" not in html
    assert ("Yes", "20") not in cells(html) and ("yes", "20") not in cells(html)


async def test_the_list_of_reports_shows_kind_status_day_and_an_approximate_place(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    exact = {"lat": 54.464123, "lon": 17.028791}
    for index, place in enumerate([exact, {"place": "Długa 5, flat 3"}]):
        await add_run(
            app,
            "park-survey",
            8000 + index,
            {"district": "north", "idea": SECRET_IDEA, "place": place, "photo": {"photo": "f"}},
        )
    await add_run(app, "park-survey", 8100, {"district": "south", "place": exact}, completed=False)
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, ["district"])
    assert (await anonymous.get("/public/park-survey/map")).status_code == 404  # not asked
    assert 'name="map" value="1"' in (await staff.get("/consultations/park-survey")).text
    await staff.post(
        "/consultations/park-survey/public", {"published": "1", "step": ["district"], "map": "1"}
    )
    page = await anonymous.get("/p/park-survey/map")
    assert page.status_code == 200 and page.headers["cache-control"] == CACHE_CONTROL
    html = page.text
    lat, lon = snap(exact["lat"], exact["lon"])
    assert f"{lat}, {lon}" in html
    assert "54.464123" not in html and "17.028791" not in html
    assert "Długa" not in html and SECRET_IDEA not in html and "South" not in html
    assert html.count("<tr><td>North</td>") == 2  # the unfinished report is not listed
    assert "not shown" in html  # the typed place
    assert "/map" in (await anonymous.get("/public/park-survey")).text
    await publish(staff, ["district"], on=False)  # the results off: the map goes too
    assert (await anonymous.get("/public/park-survey/map")).status_code == 404
    assert (await anonymous.get("/public/harbour-survey/map")).status_code == 404


def test_a_right_to_left_language_reads_right_to_left() -> None:
    assert direction("ar") == "rtl" and direction("pl") == "ltr" and direction("xx-?") == "ltr"
    assert interface_language("uk") == "uk" and interface_language("pl") == "pl"
    assert interface_language("de") == "en"  # no catalog: English


async def test_a_language_the_flow_lacks_falls_back_to_its_default(
    browser_factory: Callable[[], Browser], anonymous: Browser, finished: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, ["district"])
    page = await anonymous.get("/public/park-survey?lang=de", headers={"accept-language": "de"})
    assert '<html lang="en" dir="ltr">' in page.text and "Which district" in page.text
