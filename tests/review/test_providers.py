"""Ratings per provider and per quarter: Org A runs the service-feedback template
(dialogs/flows/service-feedback.yaml). In the third quarter of 2026 and the fourth,
clients rate home care, the day centre and door-to-door transport; transport has too
few clients to show. Staff see each provider's mean rating, its share of 4s and 5s and
its change from the quarter before, and the providers compared quarter by quarter,
transport never among them; then they group the park survey by district. Three months
after rating the meals service, its clients rate it again in the follow-up
questionnaire, and the page counts those ratings in the quarter they were given."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from konsulta.bootstrap import App
from konsulta.publishing import publish, read_flow
from tests.review.conftest import HERE, Browser, add_followup, add_run, logged_in

SERVICE_FEEDBACK = (
    Path(__file__).resolve().parents[2] / "dialogs" / "flows" / "service-feedback.yaml"
)
PAGE = "/consultations/service-feedback/providers"
Q3 = datetime(2026, 8, 3, 9, tzinfo=UTC)
Q4 = datetime(2026, 11, 2, 9, tzinfo=UTC)


async def publish_in_org_a(app: App, path: Path) -> None:
    flow, yaml_text = read_flow(path)
    async with app.uow() as uow:
        await publish(uow, flow, yaml_text, open_now=True, organisation_as="org-a")
        await uow.commit()


async def rate(app: App, first_id: int, provider: str, ratings: list[int], day: datetime) -> None:
    """One client per rating, each an hour after the one before."""
    for n, overall in enumerate(ratings):
        await add_run(
            app,
            "service-feedback",
            first_id + n,
            {"provider": provider, "overall": overall},
            language="pl",
            started_at=day + timedelta(hours=n),
        )


def cell(page: str, provider: str, quarter: str) -> str:
    """What the table shows for one provider in one quarter, tags stripped."""
    row = re.search(rf'<tr data-group="{provider}">(.*?)</tr>', page, re.S)
    assert row is not None, provider
    found = re.search(
        rf'<td data-quarter="{quarter}" class="([a-z]+)">(.*?)</td>', row.group(1), re.S
    )
    assert found is not None, (provider, quarter)
    return found.group(1) + ": " + " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


def comparison(page: str, quarter: str) -> list[str] | None:
    """The providers compared in a quarter, best first (None: no comparison)."""
    found = re.search(rf'<li data-quarter="{quarter}">(.*?)</li>', page, re.S)
    return re.findall(r'data-group="([a-z_]+)"', found.group(1)) if found else None


@pytest.fixture
async def service_feedback(app: App) -> None:
    await publish_in_org_a(app, SERVICE_FEEDBACK)
    await rate(app, 7000, "home_care", [3] * 5 + [4] * 5, Q3)
    await rate(app, 7100, "day_centre", [5] * 10, Q3)
    await rate(app, 7200, "transport", [1] * 3, Q3)
    # Client 7300 rated home care 1 in October, then again 4 in November: the latest counts.
    await rate(app, 7300, "home_care", [1], Q4 - timedelta(days=30))
    await rate(app, 7300, "home_care", [4] * 5 + [5] * 5, Q4)
    # The first day-centre client picked the provider at 23:59:58 on 30 September and
    # rated it five seconds later, on 1 October: the rating belongs to the fourth quarter.
    await rate(app, 7400, "day_centre", [2] * 10, datetime(2026, 9, 30, 23, 59, 58, tzinfo=UTC))
    await rate(app, 7500, "transport", [5] * 4, Q4)


async def test_staff_follow_each_provider_quarter_by_quarter_small_groups_hidden(
    browser_factory: Callable[[], Browser], service_feedback: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    consultation = await staff.get("/consultations/service-feedback")
    assert f'href="{PAGE}"' in consultation.text

    response = await staff.get(PAGE)
    assert response.status_code == 200
    page = response.text
    # The provider question and the overall rating are picked without asking.
    assert '<option value="provider" selected>' in page
    assert '<option value="overall" selected>' in page
    assert re.findall(r'<th scope="col">(\d{4}-Q\d)</th>', page) == ["2026-Q3", "2026-Q4"]
    assert "Opieka w domu" in page  # the option's label, in the consultation's language

    assert cell(page, "home_care", "2026-Q3") == "shown: 10 people mean 3.5 50% rated 4 or more"
    assert cell(page, "home_care", "2026-Q4") == (
        "shown: 10 people mean 4.5 100% rated 4 or more +1.0 since the quarter before"
    )
    assert cell(page, "day_centre", "2026-Q3") == "shown: 10 people mean 5.0 100% rated 4 or more"
    assert cell(page, "day_centre", "2026-Q4") == (
        "shown: 10 people mean 2.0 0% rated 4 or more -3.0 since the quarter before"
    )
    # Transport had 3 clients, then 4: no figure, not even how many.
    assert cell(page, "transport", "2026-Q3") == "hidden: fewer than 10"
    assert cell(page, "transport", "2026-Q4") == "hidden: fewer than 10"
    assert cell(page, "meals", "2026-Q3") == "empty: —"
    assert "2 groups in a quarter had fewer than 10 people" in page

    # Compared only among providers with at least 10 clients in the quarter.
    assert comparison(page, "2026-Q3") == ["day_centre", "home_care"]
    assert comparison(page, "2026-Q4") == ["home_care", "day_centre"]
    assert "Between the best and the worst: 2.5." in page


async def test_follow_up_ratings_count_for_the_provider_picked_the_first_time(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    """Ten clients rate the meals service 2 in January; in April the three-month
    follow-up (which does not ask the provider again) asks `rating_again` and they
    answer 4: the second quarter shows ten people, mean 4.0, two points up."""
    await publish_in_org_a(app, SERVICE_FEEDBACK)
    january, april = datetime(2027, 1, 11, 9, tzinfo=UTC), datetime(2027, 4, 12, 9, tzinfo=UTC)
    await rate(app, 9000, "meals", [2] * 10, january)
    for n in range(10):
        await add_followup(
            app,
            "service-feedback",
            9000 + n,
            "three_months",
            {"still_used": True, "rating_again": 4, "changed": "better"},
            april + timedelta(hours=n),
        )
    # Client 9000 answers again in May (a later follow-up): still one person, latest 5...
    await add_followup(
        app, "service-feedback", 9000, "six_months", {"rating_again": 5}, april + timedelta(30)
    )
    # ...and client 9010, who rated meals too, says in April the service has stopped:
    # no repeat rating, nothing counted for them in the second quarter.
    await rate(app, 9010, "meals", [3], january)
    await add_followup(app, "service-feedback", 9010, "three_months", {"still_used": False}, april)

    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = (await staff.get(PAGE)).text
    assert re.findall(r'<th scope="col">(\d{4}-Q\d)</th>', page) == ["2027-Q1", "2027-Q2"]
    assert cell(page, "meals", "2027-Q1") == "shown: 11 people mean 2.1 0% rated 4 or more"
    assert cell(page, "meals", "2027-Q2") == (
        "shown: 10 people mean 4.1 100% rated 4 or more +2.0 since the quarter before"
    )


async def test_any_consultation_can_be_grouped_by_its_own_questions(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    """The park survey has no provider question: staff group it by district and rate
    by satisfaction; a flow without a rating question has no such page in its tabs."""
    day = datetime(2027, 1, 10, tzinfo=UTC)
    for n in range(3):
        await add_run(
            app, "park-survey", 8000 + n, {"district": "north", "satisfaction": 4}, started_at=day
        )
    await publish_in_org_a(app, HERE / "flow_c.yaml")
    staff = await logged_in(browser_factory, "staff-a@example.org")
    park = "/consultations/park-survey/providers"
    assert f'href="{park}"' in (await staff.get("/consultations/park-survey")).text
    page = (await staff.get(f"{park}?group=district&rating=satisfaction")).text
    assert '<option value="district" selected>' in page
    assert cell(page, "north", "2027-Q1") == "hidden: fewer than 10"
    assert "No quarter has two groups of at least 10 people yet" in page
    # An unknown question falls back to the defaults instead of failing.
    fallback = (await staff.get(f"{park}?group=nope&rating=nope")).text
    assert '<option value="satisfaction" selected>' in fallback  # the first scale, not age

    street = await staff.get("/consultations/street-survey")
    assert "/consultations/street-survey/providers" not in street.text
    page = (await staff.get("/consultations/street-survey/providers")).text
    assert 'id="no-questions"' in page


async def test_the_page_speaks_polish(
    browser_factory: Callable[[], Browser], service_feedback: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post("/language", {"language": "pl", "back": PAGE})
    page = (await staff.get(PAGE)).text
    assert "mniej niż 10" in page
    assert "Porównania" in page


@pytest.mark.parametrize(
    "email",
    ["viewer-a@example.org", "staff-a@example.org", "admin-a@example.org", "platform@example.org"],
)
async def test_every_role_of_the_organisation_sees_the_providers(
    browser_factory: Callable[[], Browser], service_feedback: None, email: str
) -> None:
    browser = await logged_in(browser_factory, email)
    page = await browser.get(PAGE)
    assert page.status_code == 200
    assert comparison(page.text, "2026-Q3") == ["day_centre", "home_care"]


async def test_another_organisation_gets_not_found_and_strangers_log_in_first(
    browser_factory: Callable[[], Browser], anonymous: Browser, service_feedback: None
) -> None:
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(PAGE)).status_code == 404
    assert (await other.get("/consultations/no-such-survey/providers")).status_code == 404
    assert (await other.get("/consultations/harbour-survey/providers")).status_code == 200
    stranger = await anonymous.get(PAGE)
    assert stranger.status_code == 303
    assert stranger.headers["location"] == f"/login?next={PAGE}"
