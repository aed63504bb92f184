"""The bot's short statements run in the event loop's thread (`run_inline`), but a
writer that has to wait for SQLite's write lock waits in the connection's thread: the
event loop, and every other citizen's update, goes on meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from storage.migrate import upgrade
from storage.sqlite_driver import run_inline


async def test_a_writer_waiting_for_another_process_does_not_stop_the_event_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "konsulta.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
    async with running_app(Settings(database_url=url), migrate=False) as app:

        async def write() -> bool:
            run_inline()
            async with app.uow() as uow:
                found = await uow.citizens.find(42)  # BEGIN IMMEDIATE waits here
                await uow.commit()
            return found is None

        writer = asyncio.create_task(write())
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(10):
            await asyncio.sleep(0.02)
        assert loop.time() - started < 1.0  # the loop kept turning
        assert not writer.done()  # the writer is still waiting for the lock
        other_process.execute("ROLLBACK")
        assert await writer
    other_process.close()


async def test_inline_reads_and_writes_see_each_other(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'konsulta.db'}"
    await upgrade(url)
    run_inline()
    async with running_app(Settings(database_url=url), migrate=False) as app:
        async with app.uow() as uow:
            citizen = await uow.citizens.get_or_create(7, 7, secret="s" * 32)
            await uow.commit()
        async with app.uow(read_only=True) as uow:
            found = await uow.citizens.find(7)
        assert found is not None and found.id == citizen.id
