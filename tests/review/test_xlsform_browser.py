"""An admin brings a KoBoToolbox form to the dashboard in a real browser (headless
Chromium): a park survey in Polish and Ukrainian whose "is the park too far?" question
is shown only to people who never go there (`relevant`).

The first upload has a row Konsulta cannot play: the page names its sheet and row, in
Polish for a Polish-speaking admin. The corrected form is checked (its flow YAML shown
for a look), then published, and the consultation asks its questions in both languages.
"""

from __future__ import annotations

from typing import Any

from emulator.server import Emulator
from konsulta.bootstrap import App
from tests.dialogs.test_xlsform import CHOICES, SURVEY, with_row, workbook
from tests.review.conftest import password_of
from tests.review.test_dashboard_browser import (  # noqa: F401  (the fixtures: world, emulator)
    ADMIN,
    CHROMIUM,
    SCREENSHOTS,
    emulator,
    pytestmark,
    world,
)

#: The form's settings without an organisation: the admin's own is taken.
SETTINGS: list[list[Any]] = [
    ["form_title", "form_title::Українська (uk)", "form_id", "default_language",
     "consent::Polski (pl)", "consent::Українська (uk)"],
    ["Park miejski", "Міський парк", "city_park", "pl",
     "Zapisujemy odpowiedzi, żeby ulepszyć park. /delete usuwa dane.",
     "Ми зберігаємо відповіді, щоб покращити парк. /delete видаляє дані."],
]  # fmt: skip

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_an_admin_imports_a_polish_and_ukrainian_kobo_form_on_the_dashboard(
    world: tuple[App, str],  # noqa: F811
    emulator: Emulator,  # noqa: F811
) -> None:
    from playwright.async_api import async_playwright

    app, base = world
    with_time = with_row("time", "hour", "O której?", "О котрій?")
    broken = workbook(survey=with_time, choices=CHOICES, settings=SETTINGS)
    good = workbook(survey=SURVEY, choices=CHOICES, settings=SETTINGS)
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
            await page.goto(f"{base}/publish")
            await page.select_option("select[name=language]", "pl")
            await page.wait_for_selector("text=Publikowanie")
            await page.goto(f"{base}/publish")

            # A row Konsulta cannot play: named by sheet and row, in Polish.
            await page.set_input_files(
                "input[name=file]", {"name": "park.xlsx", "mimeType": XLSX, "buffer": broken}
            )
            await page.click("button[name=do][value=check]")
            alert = page.locator("[role=alert]")
            await alert.wait_for()
            text = await alert.inner_text()
            assert "survey, wiersz 13" in text
            assert "typ 'time' nie jest obsługiwany; użyj text lub date" in text
            if SCREENSHOTS.exists():
                await page.screenshot(path=str(SCREENSHOTS / "13-xlsform-problems.png"))

            # The corrected form: no problems, and the flow it became is there to read.
            await page.set_input_files(
                "input[name=file]", {"name": "park.xlsx", "mimeType": XLSX, "buffer": good}
            )
            await page.click("button[name=do][value=check]")
            await page.wait_for_selector("text=park.xlsx nie ma błędów", timeout=15_000)
            flow_yaml = await page.input_value("textarea[name=yaml]")
            assert "id: city-park" in flow_yaml and "uk: Чого бракує?" in flow_yaml
            assert "equals: never" in flow_yaml  # the relevant condition, as a next rule

            # Published from the same file.
            await page.set_input_files(
                "input[name=file]", {"name": "park.xlsx", "mimeType": XLSX, "buffer": good}
            )
            await page.click("button[name=do][value=publish]")
            await page.wait_for_url(f"{base}/consultations/city-park")
        finally:
            await browser.close()

    async with app.uow(read_only=True) as uow:
        consultation = await uow.consultations.get_by_slug("city-park")
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
    flow = app.flows.flow(version)
    assert flow.languages == ["pl", "uk"]
    assert flow.localize(flow.step("why_not").text, "uk") == "Парк задалеко?"
    assert flow.step("visits").next  # "why_not" only for those who never go
