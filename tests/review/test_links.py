"""Links to hand out: Org A runs service-feedback and wants a poster at the home-care
provider that opens the consultation with "home care" already chosen. The links page
lists the consultation's own link and, per single-choice question, one link per
option; the bot reads the home-care link back as that very answer."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image

from konsulta.bootstrap import App
from konsulta.deeplinks import LINK_SOURCE, preset_of
from konsulta.publishing import read_flow
from review.links import preset_questions
from tests.review.conftest import Browser, logged_in
from tests.review.test_providers import SERVICE_FEEDBACK, publish_in_org_a

PAGE = "/consultations/service-feedback/links"
BOT = "https://t.me/konsulta_test_bot"


@pytest.fixture
async def service_feedback(app: App) -> None:
    await publish_in_org_a(app, SERVICE_FEEDBACK)


def link_for(page: str, step_id: str, key: str) -> str:
    """The link the page lists for option `key` of question `step_id`."""
    section = re.search(rf'<section class="card" id="preset-{step_id}">(.*?)</section>', page, re.S)
    assert section is not None, step_id
    row = re.search(rf'<tr data-option="{key}">(.*?)</tr>', section.group(1), re.S)
    assert row is not None, key
    found = re.search(r"<code>([^<]*)</code>", row.group(1))
    assert found is not None, key
    return html.unescape(found.group(1))


async def test_staff_find_the_link_that_presets_home_care(
    browser_factory: Callable[[], Browser], service_feedback: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    consultation = await staff.get("/consultations/service-feedback")
    assert f'href="{PAGE}"' in consultation.text

    page = (await staff.get(PAGE)).text
    assert f"{BOT}?start=service-feedback" in page
    assert "Opieka w domu" in page  # the option's label, in the flow's own language
    url = link_for(page, "provider", "home_care")
    assert url == f"{BOT}?start=service-feedback__provider__home_care"

    # The bot, opened through that link, starts with home care chosen.
    flow, _yaml = read_flow(SERVICE_FEEDBACK)
    payload = url.removeprefix(f"{BOT}?start=")
    assert preset_of(LINK_SOURCE + payload, flow) == {"provider": "home_care"}


def test_an_option_whose_link_would_be_too_long_gets_a_note_instead() -> None:
    flow, _yaml = read_flow(SERVICE_FEEDBACK)
    long_slug = "a-consultation-with-a-very-long-identifier-indeed"
    questions = {q.step_id: q for q in preset_questions(flow, long_slug, "bot")}
    provider = {link.key: link for link in questions["provider"].links}
    assert provider["home_care"].url is None
    short = {q.step_id: q for q in preset_questions(flow, "sf", "bot")}
    assert all(link.url for link in short["provider"].links)


@pytest.mark.parametrize(
    "email",
    ["viewer-a@example.org", "staff-a@example.org", "admin-a@example.org", "platform@example.org"],
)
async def test_every_role_of_the_organisation_sees_the_links(
    browser_factory: Callable[[], Browser], service_feedback: None, email: str
) -> None:
    browser = await logged_in(browser_factory, email)
    page = await browser.get(PAGE)
    assert page.status_code == 200
    assert link_for(page.text, "provider", "home_care").endswith("__provider__home_care")


async def test_another_organisation_gets_not_found_and_strangers_log_in_first(
    browser_factory: Callable[[], Browser], anonymous: Browser, service_feedback: None
) -> None:
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(PAGE)).status_code == 404
    assert (await other.get("/consultations/no-such-survey/links")).status_code == 404
    assert (await other.get("/consultations/harbour-survey/links")).status_code == 200
    stranger = await anonymous.get(PAGE)
    assert stranger.status_code == 303
    assert stranger.headers["location"] == f"/login?next={PAGE}"


async def test_the_home_care_poster_carries_the_preset_link_in_the_languages_picked(
    app: App, browser_factory: Callable[[], Browser], service_feedback: None
) -> None:
    """The provider prints an A4 poster for its counter: the QR code is the preset link,
    the heading its own name, the invitation in Polish and Ukrainian."""
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = (await staff.get(f"{PAGE}?languages=pl&languages=uk&languages=xx")).text
    poster = "/consultations/service-feedback/links/provider/home_care/poster"
    assert f'href="{poster}.png?languages=pl,uk"' in page
    png = await staff.get(f"{poster}.png?languages=pl,uk")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == f"{BOT}?start=service-feedback__provider__home_care"
    pdf = await staff.get(f"{poster}.pdf")
    assert pdf.content.startswith(b"%PDF")
    async with app.uow() as uow:
        made = await uow.audit.search(organisation_id=None, action="poster")
    assert sorted(row.target or "" for row in made) == [
        "service-feedback/provider/home_care",
        "service-feedback/provider/home_care",
    ]

    # No poster for an option the question does not have, nor for another organisation.
    missing = "/consultations/service-feedback/links/provider/nobody/poster.png"
    assert (await staff.get(missing)).status_code == 404
    assert (await staff.get(f"{poster}.gif")).status_code == 404
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(f"{poster}.png")).status_code == 404
