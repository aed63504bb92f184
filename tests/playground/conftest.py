"""A real `konsulta run --emulator` and a real headless Chromium for playground stories.

The bot runs as the newcomer runs it (a subprocess on its own SQLite file, on a free
port), so these tests also cover the command's wiring and the address it prints. The
browser is Debian's Chromium driven by Playwright; without /usr/bin/chromium the
browser stories are skipped.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
ADDRESS = re.compile(r"Playground: open (http://\S+?)/? ")
#: Generous: the machine running CI is shared; the bot needs ~5 s to start there.
START_TIMEOUT = 60.0


#: The bot answers within a second or two; a loaded CI machine may need more.
expect.set_options(timeout=20_000)


@dataclass
class RunningBot:
    """`konsulta run --emulator` in a subprocess: its address, database and logs."""

    url: str
    database: Path
    env: dict[str, str]
    folder: Path
    log: Path

    def konsulta(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Another `konsulta` command on the same database, as staff would run it."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _clean_env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    env["KONSULTA_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    env["PYTHONUNBUFFERED"] = "1"
    # Outreach looks for due follow-ups and broadcasts every second, and no quiet hours
    # (start = end) hold a follow-up back when CI runs at night.
    env["KONSULTA_OUTREACH_TICK_SECONDS"] = "1"
    env["KONSULTA_QUIET_HOURS_START"] = "00:00"
    env["KONSULTA_QUIET_HOURS_END"] = "00:00"
    return env


@pytest.fixture(scope="module")
def running_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("playground")
    database = folder / "konsulta.db"
    env = _clean_env(database)
    out_path, log_path = folder / "stdout.txt", folder / "stderr.txt"
    with out_path.open("w") as out, log_path.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--emulator", "--port", "0"],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        url = None
        while url is None:
            match = ADDRESS.search(out_path.read_text())
            if match:
                url = match.group(1)
            elif process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"konsulta run --emulator did not start:\n{log_path.read_text()}")
            else:
                time.sleep(0.1)
        yield RunningBot(url, database, env, folder, log_path)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: A pretend microphone that always allows recording (Chromium's fake media device).
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser stories need Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def launch(playwright: Any, *extra_args: str) -> Any:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
    )


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    chromium = launch(playwright)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, running_bot: RunningBot, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        if request.node.stash.get(_FAILED, False):
            # What the page and the bot looked like when the story failed, for CI artifacts.
            screenshot(page, f"failed-{request.node.name}")
            log = SCREENSHOTS / f"failed-{request.node.name}.log"
            log.write_text(running_bot.log.read_text()[-20_000:])
    finally:
        context.close()
    assert not errors, f"the page raised: {errors}"


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot as a CI artifact (artifacts/ is not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
