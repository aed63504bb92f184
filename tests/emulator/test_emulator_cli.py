"""``python -m emulator`` serves a usable Bot API; the spec path is configurable."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from emulator.spec import BUNDLED_SPEC, SPEC_ENV_VAR, default_spec_path

REPO = Path(__file__).resolve().parents[2]


async def test_cli_serves_get_me() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--no-rate-limits",
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        match = re.search(r"(http://\S+) \(token e\.g\. (\S+)\)", line)
        assert match, line
        base_url, token = match.groups()
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/bot{token}/getMe") as r:
            assert (await r.json())["ok"] is True
    finally:
        process.terminate()
        await process.wait()


def test_spec_path_env_override_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SPEC_ENV_VAR, str(tmp_path / "api.json"))
    assert default_spec_path() == tmp_path / "api.json"
    monkeypatch.delenv(SPEC_ENV_VAR)
    assert default_spec_path() == BUNDLED_SPEC
