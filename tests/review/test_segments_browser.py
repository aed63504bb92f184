"""Staff build a broadcast's segment from rows in a real browser (headless Chromium)
and watch the number of recipients follow as they pick each condition.

The park survey's participants: Anna and Celina (north, English), Bogdan (south,
Polish), Dawid (south, English, did not finish). Staff pick "answer to: Which
district … is North" (2), add "language is one of Polish" and switch to "any" (3,
with a warning that Bogdan has no Polish text yet, gone once they write one), then
create the broadcast: its preview counts the same 3.
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


async def test_staff_build_a_segment_and_see_the_count_follow_each_row(
    world: tuple[App, str],  # noqa: F811
    emulator: Emulator,  # noqa: F811
) -> None:
    from playwright.async_api import async_playwright, expect

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

            await page.goto(f"{base}/consultations/park-survey/broadcasts")
            audience = page.locator("#audience")
            await expect(audience).to_contain_text("4 citizens would get it now.")

            await page.select_option("select[name=row-0-kind]", "answer")
            await expect(page.locator("select[name=row-1-kind]")).to_be_visible()  # a new row
            await page.select_option("select[name=row-0-step]", "district")
            await page.select_option("select[name=row-0-value]", "district:north")
            await expect(audience).to_contain_text("2 citizens would get it now.")
            # Only the district's options are offered for this row.
            assert not await page.locator("optgroup[data-step=district]").first.is_hidden()
            assert await page.locator("optgroup[data-step=stairs]").first.is_hidden()

            await page.select_option("select[name=row-1-kind]", "language")
            await page.check("input[name=row-1-language][value=pl]")
            await expect(audience).to_contain_text("0 citizens would get it now.")  # north AND pl
            await page.select_option("select[name=match]", "any")
            await expect(audience).to_contain_text("3 citizens would get it now.")
            await expect(audience).to_contain_text("1 recipient reads pl and will get the en text")
            await page.screenshot(path=str(SCREENSHOTS / "broadcast-segment-builder.png"))

            await page.fill("textarea[name=text_pl]", "Nowe ławki na północy.")
            await expect(audience).not_to_contain_text("will get the en text")
            await expect(audience.locator("[data-language=pl]")).to_have_text("1")

            await page.fill("input[name=name]", "North benches")
            await page.select_option("select[name=kind]", "broadcast")
            await page.fill("textarea[name=text_en]", "New benches in the north.")
            await page.click("button:has-text('Create and preview')")
            await page.wait_for_selector("h1:has-text('North benches')")
            assert "3 citizens would get it now." in await page.inner_text("body")
        finally:
            await browser.close()
    async with app.uow() as uow:
        [entry] = await uow.audit.search(organisation_id=None, action="broadcast")
    assert entry.detail["segment"]["all"][1]["any"] == [
        {"answer": {"consultation": "park-survey", "step": "district", "equals": "north"}},
        {"language": ["pl"]},
    ]
