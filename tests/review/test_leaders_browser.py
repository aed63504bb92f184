"""Staff start a community and hand its leadership over with a one-time link, in a
real browser (headless Chromium) with the real bot polling the Bot API emulator.

Staff of Org A create "Youth club Ternopilska" speaking Ukrainian and English and
make a one-time leader link; Olena opens it in Telegram (the emulator) and is told,
in Ukrainian, that she leads the club now; the community's page shows her. A second
person opening the same link is told kindly it was used.
"""

from __future__ import annotations

from emulator.server import Emulator
from konsulta.bootstrap import App
from tests.review.conftest import password_of
from tests.review.test_dashboard_browser import (  # noqa: F401  (the fixtures: world, emulator)
    CHROMIUM,
    SCREENSHOTS,
    emulator,
    pytestmark,
    world,
)

STAFF = "staff-a@example.org"
OLENA = 6001
LATE = 6002


async def test_staff_make_a_one_time_leader_link_and_the_person_who_opens_it_leads(
    world: tuple[App, str],  # noqa: F811
    emulator: Emulator,  # noqa: F811
) -> None:
    from playwright.async_api import async_playwright

    app, base = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/login")
            await page.fill("input[name=email]", STAFF)
            await page.fill("input[name=password]", password_of(STAFF))
            await page.click("form[action='/login'] button")
            await page.wait_for_url(f"{base}/consultations")

            await page.click("nav a[href='/communities']")
            await page.fill(
                "form[action='/communities'] input[name=name]", "Youth club Ternopilska"
            )
            await page.check("input[name=languages][value=uk]")
            await page.check("input[name=languages][value=en]")
            await page.click("form[action='/communities'] button")
            await page.wait_for_selector("h1:has-text('Youth club Ternopilska')")
            await page.click("form[action$='/leader-links'] button")
            link = await page.input_value("input[data-leader-link]")
            assert link.startswith("https://t.me/konsulta_test_bot?start=leader-")
            await page.screenshot(path=str(SCREENSHOTS / "leaders-one-time-link.png"))
            community_url = page.url.rsplit("/leader-links", 1)[0]

            payload = link.split("start=", 1)[1]
            emulator.citizens.create(OLENA, "Olena", "uk")
            await emulator.citizens.send_text(OLENA, f"/start {payload}")
            [welcome] = await emulator.wait_for_messages(OLENA, 1, 20)
            assert "Youth club Ternopilska" in (welcome.text or "")
            assert "Ласкаво просимо" in (welcome.text or "")

            emulator.citizens.create(LATE, "Taras", "uk")
            await emulator.citizens.send_text(LATE, f"/start {payload}")
            [kind] = await emulator.wait_for_messages(LATE, 1, 20)
            assert "вже використане" in (kind.text or "")

            await page.goto(community_url)
            leaders = page.locator("#leaders")
            await leaders.wait_for()
            assert str(OLENA) in await leaders.inner_text()
            assert str(LATE) not in await leaders.inner_text()
            assert "used" in await page.inner_text("body")
            await page.screenshot(path=str(SCREENSHOTS / "leaders-community.png"))
        finally:
            await browser.close()
    async with app.uow() as uow:
        assert await uow.leaders.find_active(OLENA) is not None
        assert await uow.leaders.find_active(LATE) is None
