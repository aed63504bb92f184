"""The python-telegram-bot adapter's world: the same emulator, published SQLite file and
bot process as the aiogram stories (tests/bot/bot_world.py), started with
`konsulta run --framework ptb`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bot"))

from bot_world import FLOWS, BotProcess, Konsulta, bot_env, emulator_config, konsulta

from emulator import start_emulator
from storage.engine import create_engine


@pytest.fixture
async def ptb_world(tmp_path: Path) -> AsyncIterator[Konsulta]:
    """Emulator + a SQLite database with the bundled flow published by the CLI + a bot
    process not yet started (start it with `world.bot.start("--framework", "ptb")`)."""
    emu = await start_emulator("127.0.0.1", 0, emulator_config())
    url = f"sqlite+aiosqlite:///{tmp_path / 'konsulta.db'}"
    env = bot_env(emu.base_url, url)
    done = konsulta("flows", "publish", str(FLOWS), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    world = Konsulta(emu, url, BotProcess(tmp_path, env), engine)
    try:
        yield world
    finally:
        if world.bot.running:
            await world.bot.stop()
        await engine.dispose()
        await emu.close()
        print(f"--- the bot's log ({world.bot.log_path}) ---\n{world.bot.log()[-8000:]}")
