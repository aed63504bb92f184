"""Fixtures of the end-to-end stories: emulator, published database, bot process.

See `bot_world` for what they are made of.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bot_world import FLOWS, BotProcess, Konsulta, bot_env, emulator_config, free_port, konsulta

from emulator import Emulator, start_emulator
from storage.engine import create_engine


@pytest.fixture(scope="session")
def published_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the bundled flows published by the real CLI, made once and
    copied per test (the CLI run costs seconds; a copy costs nothing)."""
    folder = tmp_path_factory.mktemp("published")
    path = folder / "konsulta.db"
    env = bot_env("http://127.0.0.1:9", f"sqlite+aiosqlite:///{path}")
    done = konsulta("flows", "publish", str(FLOWS), env=env, cwd=folder)
    assert done.returncode == 0, done.stderr
    return path


async def published_database(db_url: str, workdir: Path, template: Path) -> str:
    if db_url.startswith("sqlite"):
        target = Path(db_url.split(":///", 1)[1])
        shutil.copyfile(template, target)
        return db_url
    env = bot_env("http://127.0.0.1:9", db_url)
    done = await asyncio.to_thread(konsulta, "flows", "publish", str(FLOWS), env=env, cwd=workdir)
    assert done.returncode == 0, done.stderr
    return db_url


@pytest.fixture
def emulator_rate_limits() -> bool:
    """Override with True in a module to keep Telegram's real limits on."""
    return False


@pytest.fixture
async def emulator(emulator_rate_limits: bool) -> AsyncIterator[Emulator]:
    emu = await start_emulator("127.0.0.1", 0, emulator_config(rate_limits=emulator_rate_limits))
    try:
        yield emu
    finally:
        await emu.close()


async def _world(emulator: Emulator, database_url: str, workdir: Path) -> AsyncIterator[Konsulta]:
    bot = BotProcess(workdir, bot_env(emulator.base_url, database_url))
    engine = create_engine(database_url)
    world = Konsulta(emulator, database_url, bot, engine)
    try:
        yield world
    finally:
        if bot.running:
            await bot.stop()
        await engine.dispose()
        print(f"--- the bot's log ({bot.log_path}) ---\n{bot.log()[-8000:]}")  # on failure


@pytest.fixture
async def sqlite_world(
    emulator: Emulator, tmp_path: Path, published_sqlite: Path
) -> AsyncIterator[Konsulta]:
    """Emulator + a published SQLite database + a bot process not yet started."""
    url = await published_database(
        f"sqlite+aiosqlite:///{tmp_path / 'konsulta.db'}", tmp_path, published_sqlite
    )
    async for world in _world(emulator, url, tmp_path):
        yield world


@pytest.fixture
async def world(
    emulator: Emulator, db_url: str, tmp_path: Path, published_sqlite: Path
) -> AsyncIterator[Konsulta]:
    """The same on SQLite and, with KONSULTA_TEST_POSTGRES_URL, on PostgreSQL."""
    url = await published_database(db_url, tmp_path, published_sqlite)
    async for world in _world(emulator, url, tmp_path):
        yield world


@pytest.fixture
def webhook_port() -> Iterator[int]:
    yield free_port()
