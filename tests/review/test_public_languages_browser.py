"""Browser story: staff publish the park survey's results, and an anonymous visitor
reads the public pages in Polish and in Arabic (right to left, the interface in
Arabic, the questions in the flow's default language, which has no Arabic) and the
list of reports with every outside address (map tiles included) unreachable."""

from __future__ import annotations

import pytest

from konsulta.bootstrap import App
from konsulta.public_results import snap
from outreach.results import add_outcome
from storage.models import Broadcast, BroadcastStatus
from tests.review.conftest import add_run, password_of
from tests.review.test_dashboard_browser import CHROMIUM, emulator, world
from tests.review.test_public_results import _answers

__all__ = ["emulator", "world"]  # the fixtures, imported to be used here

STAFF = "staff-a@example.org"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Chromium at /usr/bin/chromium"
)


async def _citizens_finish(app: App) -> None:
    for index in range(24):
        await add_run(
            app, "park-survey", 5000 + index, _answers(index), language="pl" if index % 2 else "en"
        )
    for index, place in enumerate([{"lat": 54.464123, "lon": 17.028791}, {"place": "Długa 5"}]):
        await add_run(app, "park-survey", 8000 + index, {"district": "north", "place": place})
    sent, _ = await add_outcome(app, "park-survey", {"en": "New benches", "pl": "Nowe ławki"})
    async with app.uow() as uow:
        broadcast = await uow.get(Broadcast, sent.broadcast_id)
        assert broadcast is not None
        broadcast.status = BroadcastStatus.DONE
        await uow.commit()


async def test_a_visitor_reads_the_public_results_in_polish_and_in_arabic(
    world: tuple[App, str],
) -> None:
    from playwright.async_api import Route, async_playwright

    app, base = world
    await _citizens_finish(app)
    outside: list[str] = []

    async def only_this_server(route: Route) -> None:
        if route.request.url.startswith(base):
            await route.continue_()
        else:  # no internet: tiles, fonts, anything outside fails
            outside.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            staff = await browser.new_page()
            await staff.goto(f"{base}/login")
            await staff.fill("input[name=email]", STAFF)
            await staff.fill("input[name=password]", password_of(STAFF))
            await staff.click("form[action='/login'] button")
            await staff.wait_for_url(f"{base}/consultations")
            await staff.goto(f"{base}/consultations/park-survey")
            form = staff.locator("form[action='/consultations/park-survey/public']")
            await form.locator("input[name=published]").check()
            await form.locator("input[name=map]").check()
            await form.locator("input[name=step][value=district]").check()
            await form.locator("button[type=submit]").click()
            await staff.wait_for_url(f"{base}/consultations/park-survey#public")

            visitor = await browser.new_context()  # no cookie: anonymous
            await visitor.route("**/*", only_this_server)
            page = await visitor.new_page()
            await page.goto(f"{base}/p/park-survey?lang=pl")
            html = page.locator("html")
            assert await html.get_attribute("lang") == "pl"
            assert await html.get_attribute("dir") == "ltr"
            shown = " ".join((await page.locator("main").inner_text()).split())
            assert "Udostępnij te wyniki" in shown and "Powiedzieliście, zrobiliśmy" in shown
            assert "Nowe ławki" in shown
            chart = page.locator("section.public-chart").filter(has_text="Dzielnica?")
            table = " ".join((await chart.locator("table").inner_text()).split())
            assert "Te same liczby w tabeli." in table and "Odpowiedź Osoby Udział" in table
            north = chart.locator("tbody tr").filter(has_text="Północ")
            assert int(await north.locator("td.num").first.inner_text()) >= 14

            await page.click("nav.who a[hreflang=en]")  # the switch: the flow's languages
            assert await page.locator("html").get_attribute("lang") == "en"
            assert "Share these results" in await page.locator("main").inner_text()

            await page.goto(f"{base}/p/park-survey?lang=ar")
            assert await page.locator("html").get_attribute("lang") == "ar"
            assert await page.locator("html").get_attribute("dir") == "rtl"
            shown = " ".join((await page.locator("main").inner_text()).split())
            assert "مشاركة هذه النتائج" in shown and "قلتم، ففعلنا" in shown
            assert "الإجابة الأشخاص النسبة" in shown and "Share these results" not in shown
            assert "Which district do you live in?" in shown  # no Arabic in the flow

            arabic = await browser.new_context(extra_http_headers={"accept-language": "ar"})
            await arabic.route("**/*", only_this_server)
            reports = await arabic.new_page()
            await reports.goto(f"{base}/public/park-survey/map")
            assert await reports.locator("html").get_attribute("dir") == "rtl"
            listed = " ".join((await reports.locator("main").inner_text()).split())
            assert "البلاغات" in listed and "الحالة" in listed and "غير معروض" in listed
            assert "جديد" in listed  # the reports' status, translated
            lat, lon = snap(54.464123, 17.028791)
            assert f"{lat}, {lon}" in listed and "54.464123" not in listed  # about where
        finally:
            await browser.close()
    assert all("/static/" not in url for url in outside)
