"""No browser or proxy keeps a page with personal data; HTTPS is sticky; the access
log never names a participant."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from bot.commands.web import HidePseudonyms
from konsulta.bootstrap import App
from review.web import create_web_app
from tests.review.conftest import Browser, Clock, logged_in


async def test_pages_exports_and_threads_are_never_stored_but_static_files_may_be(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    for url in (
        "/consultations",
        f"/citizens/{people['anna']}",
        "/consultations/park-survey/export.csv",
    ):
        response = await browser.get(url)
        assert response.status_code == 200, url
        assert response.headers.get("cache-control") == "no-store", url
    login = await browser_factory().get("/login")
    assert login.headers.get("cache-control") == "no-store"
    static = await browser.get("/static/dashboard.js")
    assert static.status_code == 200
    assert static.headers.get("cache-control") != "no-store"


async def test_https_deployments_tell_browsers_to_stay_on_https(app: App, clock: Clock) -> None:
    app.settings = app.settings.model_copy(update={"web_secure_cookies": True})
    web = create_web_app(app, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="https://testserver"
    ) as client:
        page = await client.get("/login")
    await web.state.dashboard.close()
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_access_log_masks_participant_ids_in_paths() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/citizens/p-mfrggzdfmztwq2lk?x=a-abcdefghijklmnop", "1.1", 200),
        None,
    )
    assert HidePseudonyms().filter(record)
    line = record.getMessage()
    assert "mfrggzdfmztwq2lk" not in line and "abcdefghijklmnop" not in line
    assert "/citizens/p-…" in line
