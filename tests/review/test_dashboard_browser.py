"""The dashboard in a real browser (headless Chromium through Playwright), with the
real bot (Runtime: polling, inbox, sender) talking to the Bot API emulator in-process.

An admin of Org A logs in, opens the park survey, filters it, tags a free-text
answer, looks at a report with its photo, replies to Anna, and Anna gets the reply in
Telegram (the emulator) and answers back into the thread; the XLSX export opens in
openpyxl. Every page is saved under artifacts/screenshots/ for a look at the layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest
from PIL import Image

from bot.telegram.runtime import Runtime
from emulator import EmulatorConfig, start_emulator
from emulator.server import Emulator
from konsulta.bootstrap import App, build_app
from review.web import create_web_app
from storage.migrate import upgrade
from tests.review.conftest import password_of, seed_answers, seed_organisations, settings_for

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ADMIN = "admin-a@example.org"
ANNA = 1001

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Chromium at /usr/bin/chromium"
)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await start_emulator("127.0.0.1", 0, EmulatorConfig())
    try:
        yield emu
    finally:
        await emu.close()


@pytest.fixture
async def world(tmp_path: Path, emulator: Emulator) -> AsyncIterator[tuple[App, str]]:
    """The app with seeded data, the bot polling the emulator, the dashboard served."""
    import uvicorn

    url = f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"
    await upgrade(url)
    app = await build_app(settings_for(url, api_base_url=emulator.base_url), migrate=False)
    await seed_organisations(app)
    emulator.citizens.create(ANNA, "Anna", "en")
    people = await seed_answers(app)
    await _real_photo_for_anna(app, emulator, people["anna"])

    stop = asyncio.Event()
    bot = asyncio.create_task(Runtime.build(app).run(stop, webhook=False))
    web = create_web_app(app)
    config = uvicorn.Config(
        web,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        ws="none",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        await web.state.dashboard.close()  # the Bot API client that fetched the photo
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await bot
        await app.close()


async def _real_photo_for_anna(app: App, emulator: Emulator, participant: str) -> None:
    image = Image.new("RGB", (160, 120), (34, 139, 34))
    data = io.BytesIO()
    image.save(data, "PNG")
    stored = emulator.state.store_file(
        data.getvalue(), "photos", file_name="bench.png", mime_type="image/png"
    )
    async with app.uow() as uow:
        citizen = await uow.citizens.get_by_participant_id(participant)
        assert citizen is not None
        [run] = await uow.runs.list_for_citizen(citizen.id)
        await uow.answers.upsert(run.id, "photo", {"photo": stored.file_id}, display_text="📷")
        await uow.commit()


async def test_staff_work_through_the_dashboard_in_a_real_browser(
    world: tuple[App, str], emulator: Emulator
) -> None:
    from playwright.async_api import async_playwright

    _app, base = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="en-GB"
            )
            page = await context.new_page()

            async def shot(name: str) -> None:
                await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

            # Log in.
            await page.goto(f"{base}/consultations/park-survey")
            await shot("01-login")
            await page.fill("input[name=email]", ADMIN)
            await page.fill("input[name=password]", password_of(ADMIN))
            await page.click("form[action='/login'] button")
            await page.wait_for_url(f"{base}/consultations/park-survey")
            assert await page.inner_text("[data-count=started]") == "4"
            await shot("03-consultation")

            # Filter: only the north district.
            await page.select_option("select[name=answer]", "district:north")
            await page.click("#filters button[type=submit]")
            await page.wait_for_url(re.compile(r".*answer=district%3Anorth.*"))
            assert await page.inner_text("[data-count=started]") == "2"
            await shot("04-consultation-filtered")

            # Export what is shown, as XLSX, and open it.
            async with page.expect_download() as download_info:
                await page.click("a:text-is('XLSX')")
            download = await download_info.value
            saved = await download.path()
            data = io.BytesIO(Path(saved).read_bytes())
            sheet = openpyxl.load_workbook(data, read_only=True)["answers"]
            header, *rows = list(sheet.iter_rows(values_only=True))
            column = header.index("district")
            assert sorted(row[column] for row in rows) == ["north", "north"]

            await page.goto(f"{base}/consultations")
            await shot("02-consultations")

            # Tag a free-text answer.
            await page.goto(f"{base}/consultations/park-survey/texts")
            await page.fill("input[name=name]", "seating")
            await page.click("text=Add tag")
            card = page.locator("article.answer", has_text="More benches near the pond")
            await card.locator("label.chip", has_text="seating").click()
            await card.locator("label.chip", has_text="need").click()
            await card.locator("button", has_text="Save").click()
            await page.wait_for_selector("text=Saved.")
            card = page.locator("article.answer", has_text="More benches near the pond")
            assert await card.locator("input[name=tags]").is_checked()
            await page.goto(f"{base}/consultations/park-survey/texts?mark=need")
            assert await page.locator("article.answer").count() == 1
            await shot("05-free-text")

            # The report with its photo, fetched from the Bot API.
            await page.goto(f"{base}/consultations/park-survey/reports")
            thumb = page.locator("img.thumb")
            # The page's CSP forbids eval, so poll from here instead of wait_for_function.
            for _ in range(200):
                if await thumb.evaluate("img => img.complete && img.naturalWidth") == 160:
                    break
                await asyncio.sleep(0.05)
            assert await thumb.evaluate("img => img.naturalWidth") == 160
            await shot("06-reports")

            # Reply to Anna; she gets it in Telegram and answers back.
            await page.click(f"a[href^='/citizens/']:text-is('{await _anna(page)}')")
            await page.fill("textarea[name=text]", "Thank you! New benches come in spring.")
            await page.click("text=Send reply")
            await page.wait_for_selector("text=Your reply is on its way.")
            [reply] = await emulator.wait_for_messages(ANNA, count=1, timeout=15)
            assert reply.text == "A message from Org A:\n\nThank you! New benches come in spring."
            await emulator.citizens.send_text(ANNA, "Wonderful, thank you!")
            await emulator.wait_for_messages(ANNA, count=2, timeout=15)
            await page.reload()
            await page.wait_for_selector("text=Wonderful, thank you!")
            await shot("07-thread")

            for name, path in [
                ("08-publish", "/publish"),
                ("08-broadcasts", "/consultations/park-survey/broadcasts"),
                ("09-audit", "/audit"),
                ("10-users", "/admin/users"),
            ]:
                await page.goto(base + path)
                await shot(name)
            await page.goto(f"{base}/audit?action=reply")
            assert await page.locator("td", has_text="reply").count() >= 1

            # The same pages in Polish.
            await page.select_option("select[name=language]", "pl")
            await page.wait_for_selector("text=Dziennik zdarzeń")
            await page.goto(f"{base}/consultations/park-survey")
            await shot("11-consultation-pl")
        finally:
            await browser.close()


async def _anna(page: object) -> str:
    """Anna's pseudonym as the reports page links it."""
    from playwright.async_api import Page

    assert isinstance(page, Page)
    link = page.locator("article.report a[href^='/citizens/']").first
    return (await link.inner_text()).strip()


async def test_staff_play_a_citizens_voice_note_in_a_real_browser(
    world: tuple[App, str], emulator: Emulator
) -> None:
    """The free-text page has a player for a voice note: it loads the note (200) and
    knows how long it plays."""
    from playwright.async_api import async_playwright

    from tests.review.conftest import add_run
    from tests.review.test_dashboard_voice import spoken_note

    app, base = world
    stored = emulator.state.store_file(
        spoken_note(2.0), "voice", file_name=None, mime_type="audio/ogg"
    )
    await add_run(
        app,
        "park-survey",
        2002,
        {"idea": {"voice": stored.file_id, "duration": 2}},
        display={"idea": "Voice note"},
    )
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
            await page.goto(f"{base}/consultations/park-survey/texts")
            player = page.locator("article.answer audio.voice-note")
            assert await player.count() == 1
            async with page.expect_response(lambda r: r.url.endswith("/voice")) as loading:
                await player.evaluate("audio => audio.load()")
            response = await loading.value
            assert response.status == 200
            assert response.headers["cache-control"] == "no-store"
            duration = 0.0
            for _ in range(200):  # the page's CSP forbids eval: poll from here
                duration = await player.evaluate("audio => audio.duration || 0")
                if duration:
                    break
                await asyncio.sleep(0.05)
            assert 1.5 < duration < 2.5
            if SCREENSHOTS.exists():
                await page.screenshot(path=str(SCREENSHOTS / "12-voice-note.png"), full_page=True)
        finally:
            await browser.close()


async def test_a_clerk_reads_the_ranking_charts_numbers_in_a_real_browser(
    world: tuple[App, str],
) -> None:
    """Three people ranked benches, trees and ramps: the chart in the browser counts
    first places (benches 2, trees 1, ramps 0) and the table gives the average place."""
    from playwright.async_api import async_playwright

    from tests.review.conftest import add_run
    from tests.review.test_dashboard_results import CLERK, _street_survey

    app, base = world
    await _street_survey(app)
    orders = (
        ["benches", "trees", "ramps"],
        ["benches", "ramps", "trees"],
        ["trees", "benches", "ramps"],
    )
    for n, order in enumerate(orders):
        await add_run(app, "street-survey", 3101 + n, {"first": order}, language="pl")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/login")
            await page.fill("input[name=email]", CLERK)
            await page.fill("input[name=password]", password_of(CLERK))
            await page.click("form[action='/login'] button")
            await page.wait_for_url(f"{base}/consultations")
            await page.goto(f"{base}/consultations/street-survey")
            shown = " ".join((await page.locator("main").inner_text()).split())
            assert "Ławki 2 (67%)" in shown and "Drzewa 1 (33%)" in shown
            assert "Podjazdy 0 (0%)" in shown
            table = page.locator("details").filter(has_text="Podjazdy")
            await table.locator("summary").click()  # the chart's data table, folded
            rows = " ".join((await table.inner_text()).split())
            assert "Ławki 2 67% 1.3" in rows and "Podjazdy 0 0% 2.7" in rows
            if SCREENSHOTS.exists():
                await page.screenshot(path=str(SCREENSHOTS / "15-ranking.png"), full_page=True)
        finally:
            await browser.close()
