"""What the playground's browser stories share: the running bot, the browser, screenshots.

(A module of its own, not conftest.py: several test folders have a conftest, so test
modules import helpers from here.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def clean_env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    env["KONSULTA_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    env["PYTHONUNBUFFERED"] = "1"
    # Outreach looks for due follow-ups and broadcasts every second, and no quiet hours
    # (start = end) hold a follow-up back when CI runs at night.
    env["KONSULTA_OUTREACH_TICK_SECONDS"] = "1"
    env["KONSULTA_QUIET_HOURS_START"] = "00:00"
    env["KONSULTA_QUIET_HOURS_END"] = "00:00"
    return env


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: A pretend microphone that always allows recording (Chromium's fake media device).
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def launch(playwright: Any, *extra_args: str) -> Any:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
    )


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot as a CI artifact (artifacts/ is not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
