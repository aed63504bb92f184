"""A translator's Ukrainian catalog reaches citizens through the dashboard, in a real
browser (headless Chromium): an admin opens the library-hours survey's translations,
sees Ukrainian at 0%, uploads the `.po`, sees the coverage rise, fills one more button
label in the side-by-side editor, and a Ukrainian citizen would now read them."""

from __future__ import annotations

from emulator.server import Emulator
from konsulta.bootstrap import App
from konsulta.publishing import publish, read_flow
from tests.review.conftest import password_of
from tests.review.test_dashboard_browser import (  # noqa: F401  (the fixtures: world, emulator)
    ADMIN,
    CHROMIUM,
    SCREENSHOTS,
    emulator,
    pytestmark,
    world,
)
from tests.review.test_translations_pages import LIBRARY, PAGE, UK_PO


async def test_an_admin_uploads_a_ukrainian_po_and_sees_coverage_rise(
    world: tuple[App, str],  # noqa: F811
    emulator: Emulator,  # noqa: F811
) -> None:
    from playwright.async_api import async_playwright

    app, base = world
    flow, yaml_text = read_flow(LIBRARY, allow_incomplete=True)
    async with app.uow() as uow:
        await publish(uow, flow, yaml_text, open_now=True)
        await uow.commit()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/login")
            await page.fill("input[name=email]", ADMIN)
            await page.fill("input[name=password]", password_of(ADMIN))
            await page.click("form[action='/login'] button")
            await page.wait_for_url(f"{base}/consultations")
            await page.goto(f"{base}{PAGE}")
            uk = page.locator("#coverage tr[data-language=uk] td[data-percent]")
            assert await uk.get_attribute("data-percent") == "0"

            await page.select_option("#upload select[name=language]", "uk")
            await page.set_input_files(
                "#upload input[name=file]",
                {"name": "uk.po", "mimeType": "text/x-gettext-translation", "buffer": UK_PO},
            )
            await page.click("text=Check and publish")
            await page.wait_for_url(f"{base}{PAGE}?language=uk")
            await page.wait_for_selector("text=Published as version 4: uk has 3 of 8 texts.")
            assert await uk.get_attribute("data-percent") == "37"
            if SCREENSHOTS.exists():
                await page.screenshot(path=str(SCREENSHOTS / "14-translations.png"))

            # One more button label, side by side with the Polish.
            await page.fill("textarea[aria-label='Rzadko']", "Рідко")
            await page.click("text=Save and publish")
            await page.wait_for_selector("text=Published as version 5: uk has 4 of 8 texts.")
            assert await uk.get_attribute("data-percent") == "50"
        finally:
            await browser.close()

    async with app.uow(read_only=True) as uow:
        consultation = await uow.consultations.get_by_slug("library-hours")
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
    published = app.flows.flow(version)
    assert published.localize(published.step("visits").options[1].label, "uk") == "Рідко"
    assert published.localize(published.title, "uk") == "Години роботи бібліотеки"
