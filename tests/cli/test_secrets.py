"""An operator who forgets a secret is stopped at the door, told which one and how.

The published defaults (and secrets under 32 bytes) are refused by `konsulta run` and
`konsulta web` with exit status 2; `konsulta secrets generate` makes good ones; the
emulator's sandbox (`run --emulator`) needs none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from konsulta.secrets import MIN_SECRET_BYTES, weak_secrets
from konsulta.settings import Settings


def konsulta(*args: str, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    env["KONSULTA_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    env.update({f"KONSULTA_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def generated(tmp_path: Path) -> dict[str, str]:
    done = konsulta("secrets", "generate", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    return {
        name.removeprefix("KONSULTA_").lower(): value
        for name, value in (line.split("=", 1) for line in lines)
    }


def test_generated_secrets_are_fresh_long_and_accepted(tmp_path: Path) -> None:
    first, second = generated(tmp_path), generated(tmp_path)
    assert set(first) == {"pseudonym_secret", "webhook_secret", "web_session_secret"}
    assert all(len(value.encode()) >= MIN_SECRET_BYTES for value in first.values())
    assert not set(first.values()) & set(second.values())
    assert weak_secrets(Settings(**first), list(first)) == []  # type: ignore[arg-type]


def test_the_bot_refuses_the_published_default_pseudonym_secret(tmp_path: Path) -> None:
    done = konsulta("run", tmp_path=tmp_path, bot_token="123:a-real-looking-token")
    assert done.returncode == 2
    assert "KONSULTA_PSEUDONYM_SECRET is the published default" in done.stderr
    assert "konsulta secrets generate" in done.stderr
    assert not (tmp_path / "k.db").exists(), "it stopped before touching the database"


def test_a_webhook_with_the_default_secret_does_not_start(tmp_path: Path) -> None:
    secrets = generated(tmp_path)
    done = konsulta(
        "run",
        "--webhook",
        tmp_path=tmp_path,
        bot_token="123:a-real-looking-token",
        pseudonym_secret=secrets["pseudonym_secret"],
        webhook_url="https://konsulta.example.org/telegram/webhook",
    )
    assert done.returncode == 2
    assert "KONSULTA_WEBHOOK_SECRET is the published default" in done.stderr
    assert "PSEUDONYM" not in done.stderr


@pytest.mark.parametrize(
    ("mops_secret", "why"),
    [("short", "is shorter than 32 bytes"), ("same", "is the same as another bot's")],
)
def test_another_bots_webhook_secret_must_be_its_own_and_long(
    tmp_path: Path, mops_secret: str, why: str
) -> None:
    secrets = generated(tmp_path)
    if mops_secret == "same":
        mops_secret = secrets["webhook_secret"]
    bots = [
        {"name": "mops", "token": "124:b", "webhook_secret": mops_secret, "organisations": ["mops"]}
    ]
    done = konsulta(
        "run",
        "--webhook",
        tmp_path=tmp_path,
        bot_token="123:a-real-looking-token",
        pseudonym_secret=secrets["pseudonym_secret"],
        webhook_secret=secrets["webhook_secret"],
        bots=json.dumps(bots),
    )
    assert done.returncode == 2
    assert f"KONSULTA_BOTS: bots[mops].webhook_secret {why}" in done.stderr
    assert secrets["webhook_secret"] not in done.stderr


def test_the_default_bot_token_is_refused_outside_the_emulator(tmp_path: Path) -> None:
    done = konsulta("run", tmp_path=tmp_path, pseudonym_secret="x" * 40)
    assert done.returncode == 2
    assert "KONSULTA_BOT_TOKEN" in done.stderr and "@BotFather" in done.stderr


@pytest.mark.parametrize("secret", ["change-me-web-session-secret", "short-but-not-default"])
def test_the_dashboard_refuses_a_default_or_short_session_secret(
    tmp_path: Path, secret: str
) -> None:
    done = konsulta(
        "web",
        "--port",
        "0",
        tmp_path=tmp_path,
        pseudonym_secret="p" * 40,
        web_session_secret=secret,
    )
    assert done.returncode == 2
    assert "KONSULTA_WEB_SESSION_SECRET" in done.stderr
    assert secret not in done.stderr, "a refused secret is named, never printed"
