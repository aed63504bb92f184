"""The consultation builder's routes: staff and admins build and publish, a viewer
reads but changes nothing, and another organisation's staff cannot reach a draft."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import httpx

from konsulta.bootstrap import App
from tests.review.conftest import Browser, logged_in


async def started(browser: Browser, template: str = "") -> str:
    response = await browser.post("/builder", {"template": template})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/builder/\d+", location)
    return location


async def edit(browser: Browser, url: str, **fields: str | list[str]) -> httpx.Response:
    response = await browser.post(url, dict(fields))
    assert response.status_code == 303, response.text
    return await browser.get(url)


async def test_staff_build_a_consultation_with_a_branch_and_publish_it(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    url = await started(browser)

    page = await browser.get(url)
    assert page.status_code == 200
    assert "q1" in page.text and 'role="alert"' not in page.text
    assert "title" in page.text  # the empty title is one of the problems listed
    await edit(
        browser,
        url,
        do="settings",
        flow_id="Library hours",
        languages=["en"],
        default_language="en",
        opens="2026-01-01",
        closes="2027-12-31",
        **{"title.en": "Library hours", "consent.en": "We keep your answers."},
    )
    await edit(browser, url, do="delete_step", step="q1")
    await edit(browser, url, do="add_step", kind="single_choice")
    await edit(browser, url, do="add_step", kind="text")
    await edit(
        browser,
        url,
        do="save_step",
        step="q1",
        required="1",
        **{"text.en": "When do you come?", "option.0.en": "Mornings", "option.1.en": "Never"},
    )
    page = await edit(
        browser, url, do="save_step", step="q2", flags="1", **{"text.en": "Why?"}
    )  # no "required" and "flag.allow_voice" ticked: optional, no voice notes
    assert 'name="flag.allow_voice" value="1">' in page.text
    page = await edit(
        browser, url, do="add_rule", step="q1", question="q1", operator="equals",
        value="q1:never", goto="end",
    )  # fmt: skip
    page = await edit(browser, url, do="save_end", end="0", **{"text.en": "Thank you."})
    assert "q1 = never" in page.text
    assert "No problems: ready to publish." in page.text
    assert "<svg" in page.text

    download = await browser.get(f"{url}/flow.yaml")
    assert download.status_code == 200
    assert "goto: end" in download.text and "key: mornings" in download.text
    assert "required: false" in download.text and "allow_voice: false" in download.text

    published = await browser.post(f"{url}/publish", {"open": "1"})
    assert published.status_code == 303, published.text
    assert published.headers["location"] == "/consultations/library-hours"
    async with app.uow(read_only=True) as uow:
        consultation = await uow.consultations.get_by_slug("library-hours")
        assert consultation is not None and consultation.current_version == 1
    again = await browser.post(f"{url}/publish", {"open": "1"})
    assert again.status_code == 303  # the next version
    async with app.uow(read_only=True) as uow:
        consultation = await uow.consultations.get_by_slug("library-hours")
        assert consultation is not None and consultation.current_version == 2
        entries = await uow.audit.search(organisation_id=None, action="publish", limit=10)
    assert [e.target for e in entries].count("library-hours") == 2


async def test_a_template_is_a_starting_point_and_a_broken_edit_is_explained(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "admin-a@example.org")
    url = await started(browser, "youth-ideas")
    page = await browser.get(url)
    assert "after_school" in page.text

    refused = await browser.post(
        url, {"do": "add_rule", "step": "age", "question": "age", "operator": "greater",
              "number": "many", "goto": "end"}
    )  # fmt: skip
    assert refused.status_code == 422
    assert "This change could not be made: a number is needed" in refused.text
    await browser.post("/language", {"language": "pl", "back": url})
    in_polish = await browser.post(url, {"do": "add_followup", "days": "soon"})
    assert "Nie udało się wprowadzić tej zmiany: to nie jest liczba: soon" in in_polish.text
    unknown = await browser.post(url, {"do": "nonsense"})
    assert unknown.status_code == 400


async def test_a_viewer_reads_drafts_but_cannot_change_them(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    url = await started(staff)
    viewer = await logged_in(browser_factory, "viewer-a@example.org")

    assert (await viewer.get("/builder")).status_code == 200
    assert (await viewer.get(url)).status_code == 200
    assert (await viewer.post("/builder", {})).status_code == 403
    assert (await viewer.post(url, {"do": "add_step", "kind": "text"})).status_code == 403
    assert (await viewer.post(f"{url}/publish", {})).status_code == 403
    assert (await viewer.post(f"{url}/delete", {})).status_code == 403


async def test_another_organisation_cannot_reach_a_draft(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    url = await started(staff)
    other = await logged_in(browser_factory, "staff-b@example.org")

    assert (await other.get(url)).status_code == 404
    assert (await other.get(f"{url}/flow.yaml")).status_code == 404
    assert (await other.post(url, {"do": "add_step", "kind": "text"})).status_code == 404
    assert (await other.post(f"{url}/publish", {})).status_code == 404
    assert (await other.post(f"{url}/delete", {})).status_code == 404
    listing = await other.get("/builder")
    assert url not in listing.text
    deleted = await staff.post(f"{url}/delete", {})
    assert deleted.status_code == 303
    assert (await staff.get(url)).status_code == 404


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


async def test_the_preview_chat_plays_the_draft_on_the_engine_and_stores_nothing(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    url = await started(staff, "youth-ideas")
    viewer = await logged_in(browser_factory, "viewer-a@example.org")

    first = await viewer.post(f"{url}/preview", {"language": "pl"})
    assert first.status_code == 200, first.text
    assert "Hej! Ile masz lat?" in first.text
    assert 'name="press" value="age:16_18"' in first.text
    state, log = hidden(first.text, "state"), hidden(first.text, "log")
    second = await viewer.post(
        f"{url}/preview", {"language": "pl", "state": state, "log": log, "press": "age:16_18"}
    )
    assert second.status_code == 200
    assert "Co robisz po szkole lub pracy?" in second.text
    assert '<li class="you">16–18' in second.text
    forged = await viewer.post(
        f"{url}/preview", {"language": "pl", "state": "{]", "log": "[1]", "say": "hi"}
    )
    assert forged.status_code == 200 and "Hej! Ile masz lat?" in forged.text  # afresh
    async with app.uow(read_only=True) as uow:
        assert await uow.consultations.get_by_slug("youth-ideas") is None


async def test_a_published_consultation_is_changed_as_its_next_version(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    listing = await staff.get("/builder")
    assert 'value="park-survey"' in listing.text
    response = await staff.post("/builder", {"consultation": "park-survey"})
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    page = await staff.get(url)
    assert "park-survey" in page.text
    published = await staff.post(f"{url}/publish", {})
    assert published.status_code == 303, published.text
    async with app.uow(read_only=True) as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None and consultation.current_version == 2

    other = await logged_in(browser_factory, "staff-b@example.org")
    assert 'value="park-survey"' not in (await other.get("/builder")).text
    refused = await other.post("/builder", {"consultation": "park-survey"})
    assert refused.status_code == 404
