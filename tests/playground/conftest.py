"""A real `konsulta run --emulator` and a real headless Chromium for playground stories.

The bot runs as the newcomer runs it (a subprocess on its own SQLite file, on a free
port), so these tests also cover the command's wiring and the address it prints. The
browser is Debian's Chromium driven by Playwright; without /usr/bin/chromium the
browser stories are skipped.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playground_world import (
    ADDRESS,
    CHROMIUM,
    SCREENSHOTS,
    START_TIMEOUT,
    RunningBot,
    clean_env,
    launch,
    screenshot,
)


@pytest.fixture(scope="module")
def running_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("playground")
    database = folder / "konsulta.db"
    env = clean_env(database)
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


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser stories need Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


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
