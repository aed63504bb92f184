"""An admin builds a consultation in the dashboard's builder in a real browser (headless
Chromium), with menus only: six questions of six kinds, a branch that sends those who
never come to the library straight to the last question, an end message; the checks
and the diagram follow every edit, and the preview chat plays it on the engine.
Published, it is played by a citizen in Telegram (the Bot API emulator, the real bot)
and her answers show on the consultation's page.
"""

from __future__ import annotations

from typing import Any

from emulator.server import Emulator
from konsulta.bootstrap import App
from tests.in_process import settled, tap_label
from tests.review.conftest import password_of
from tests.review.test_dashboard_browser import (  # noqa: F401  (the fixtures: world, emulator)
    ADMIN,
    CHROMIUM,
    SCREENSHOTS,
    emulator,
    pytestmark,
    world,
)

MARTA = 2002

#: (kind, question, options) of the six questions, in order.
QUESTIONS: list[tuple[str, str, list[str]]] = [
    ("single_choice", "How often do you come to the library?", ["Every week", "Never"]),
    ("yes_no", "Do you borrow books?", []),
    ("scale", "How happy are you with the opening hours?", []),
    ("multiple_choice", "What would you like more of?", ["Books", "Events", "Quiet rooms"]),
    ("number", "How many minutes is your way to the library?", []),
    ("text", "What would bring you to the library?", []),
]


async def test_an_admin_builds_a_six_question_consultation_with_a_branch_and_a_citizen_answers(
    world: tuple[App, str],  # noqa: F811
    emulator: Emulator,  # noqa: F811
) -> None:
    from playwright.async_api import async_playwright

    app, base = world
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            await page.goto(f"{base}/login")
            await page.fill("input[name=email]", ADMIN)
            await page.fill("input[name=password]", password_of(ADMIN))
            await page.click("form[action='/login'] button")
            await page.wait_for_url(f"{base}/consultations")

            await page.click("nav a[href='/builder']")
            await page.select_option("#start select[name=template]", "")
            await page.click("#start button")
            await page.wait_for_url(f"{base}/builder/*")
            draft_url = page.url.split("#")[0]
            assert await page.locator("#checks .problems").count() == 1  # empty texts

            async def submit(form: Any, do: str) -> None:
                async with page.expect_navigation():
                    await form.locator(f"button[name=do][value={do}]").click()

            settings = page.locator("#settings form")
            await settings.locator("input[name=flow_id]").fill("Library for everyone")
            await settings.locator("input[name=opens]").fill("2026-01-01")
            await settings.locator("input[name=closes]").fill("2027-12-31")
            await settings.locator("input[name='title.en']").fill("Library for everyone")
            await settings.locator("textarea[name='consent.en']").fill(
                "We keep your answers to plan the library's hours. /delete erases them."
            )
            await submit(settings, "settings")

            await submit(page.locator("section[data-step=q1] form").nth(1), "delete_step")
            for kind, _text, _options in QUESTIONS:
                adding = page.locator("form.add-step").first
                await adding.locator("select[name=kind]").select_option(kind)
                await submit(adding, "add_step")
            for number, (_kind, text, options) in enumerate(QUESTIONS, start=1):
                form = page.locator(f"section[data-step=q{number}] form.step-form")
                await form.locator("textarea[name='text.en']").fill(text)
                for option in options:  # one new option per save
                    await form.locator(".new-option input").fill(option)
                    await submit(form, "save_step")
                    form = page.locator(f"section[data-step=q{number}] form.step-form")
                if not options:
                    await submit(form, "save_step")
            keys = page.locator("section[data-step=q1] .option[data-key]")
            assert await keys.evaluate_all("(els) => els.map((e) => e.dataset.key)") == [
                "every_week",
                "never",
            ]

            # The branch, from the menus: if q1 is "never", go to q6.
            rule = page.locator("section[data-step=q1] form.rule-form")
            await rule.locator("select[name=question]").select_option("q1")
            await rule.locator("select[name=operator]").select_option("equals")
            await rule.locator("select[name=value]").select_option("q1:never")
            await rule.locator("select[name=goto]").select_option("q6")
            await submit(rule, "add_rule")
            assert "q1 = never → q6" in await page.inner_text("section[data-step=q1] .rules")

            ending = page.locator("#ends .end form").first
            await ending.locator("textarea[name='text.en']").fill("Thank you, {{q6}} noted.")
            await submit(ending, "save_end")

            await page.wait_for_selector("text=No problems: ready to publish.")
            assert await page.locator(".diagram svg").count() == 1
            if SCREENSHOTS.exists():
                await page.screenshot(path=str(SCREENSHOTS / "14-builder.png"), full_page=True)
            # The preview chat plays the draft on the engine: "Never" skips to q6.
            async with page.expect_navigation():
                await page.click("#preview-start button")
            async with page.expect_navigation():
                await page.click("#preview button[value='q1:never']")
            last = page.locator("#preview .chat li.bot").last
            assert "What would bring you to the library?" in await last.inner_text()
            await page.fill("#preview-say input[name=say]", "Longer hours")
            async with page.expect_navigation():
                await page.click("#preview-say button:not([name])")
            assert "Thank you, Longer hours noted." in await page.inner_text("#preview .chat")

            async with page.expect_download() as downloading:
                await page.click("a[href$='/flow.yaml']")
            download = await downloading.value
            flow_yaml = (await download.path()).read_text(encoding="utf-8")
            assert "id: library-for-everyone" in flow_yaml and "goto: q6" in flow_yaml

            await submit(page.locator("#checks form"), "publish")
            await page.wait_for_url(f"{base}/consultations/library-for-everyone")
            assert draft_url.startswith(f"{base}/builder/")

            # A citizen answers in Telegram: she never comes, so the branch skips to q6.
            emulator.citizens.create(MARTA, "Marta", "en")
            await emulator.citizens.send_text(MARTA, "/start library-for-everyone")
            await settled(app, emulator)
            await tap_label(emulator, MARTA, "Yes, I agree")
            await settled(app, emulator)
            await tap_label(emulator, MARTA, "Never")
            await settled(app, emulator)
            asked = emulator.bot_messages(MARTA)[-1].text or ""
            assert "What would bring you to the library?" in asked
            await emulator.citizens.send_text(MARTA, "Evening opening")
            await settled(app, emulator)
            assert "Thank you, Evening opening noted." in (
                emulator.bot_messages(MARTA)[-1].text or ""
            )

            await page.goto(f"{base}/consultations/library-for-everyone")
            assert await page.inner_text("[data-count=completed]") == "1"
            await page.goto(f"{base}/consultations/library-for-everyone/texts?step=q6")
            assert "Evening opening" in await page.content()
        finally:
            await browser.close()
