"""The bot's short statements run in the event loop's thread (`run_inline`), but a
writer that has to wait for SQLite's write lock waits in the connection's thread: the
event loop, and every other citizen's update, goes on meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from storage import sqlite_driver
from storage.engine import SQLITE_BUSY_TIMEOUT_MS
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


async def test_a_writer_takes_a_free_write_lock_without_a_hop_and_keeps_its_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hop for BEGIN IMMEDIATE let the other tasks' work in while the lock was held;
    a free lock is taken inline, and the wait for a held one still has its timeout."""
    path = tmp_path / "konsulta.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    hops: list[object] = []
    real_hop = sqlite_driver.Connection._execute

    async def counted(
        self: sqlite_driver.Connection, function: object, *args: object, **kwargs: object
    ) -> object:
        hops.append(function)
        return await real_hop(self, function, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(sqlite_driver.Connection, "_execute", counted)
    async with running_app(Settings(database_url=url), migrate=False) as app:

        async def write(user: int) -> int:
            run_inline()
            async with app.uow() as uow:
                citizen = await uow.citizens.get_or_create(user, user, secret="s" * 32)
                await uow.commit()
            async with app.engine.connect() as connection:
                raw = await connection.get_raw_connection()
                timeout = raw.driver_connection.sqlite.execute("PRAGMA busy_timeout")
                assert timeout.fetchone()[0] == SQLITE_BUSY_TIMEOUT_MS
            return citizen.id

        await write(1)  # the pool's first connection is made in the thread
        hops.clear()
        await write(2)
        assert hops == []

        other_process = sqlite3.connect(path, isolation_level=None)
        other_process.execute("BEGIN IMMEDIATE")
        writer = asyncio.create_task(write(3))
        await asyncio.sleep(0.1)
        assert not writer.done() and hops  # waiting for the lock, in the thread
        other_process.execute("ROLLBACK")
        await writer
        other_process.close()
