"""A backup restored into a fresh database, and every dialog goes on where it was.

The operator's routine from docs/operations.md: `pg_dump --format=custom` (on SQLite,
the online backup that `sqlite3 konsulta.db ".backup copy.db"` makes), then, after a
lost server, `pg_restore` into a new, empty database and the bot started on it. Three
citizens were at different points of the senior-housing consultation; each taps the
next answer on the question already on their screen and is understood, and nothing
they answered before the backup is missing or doubled.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from bot_world import BotProcess, Konsulta, Phone, bot_env
from sqlalchemy import func, select, text

from storage.engine import create_engine, create_sessionmaker, normalise_url
from storage.models import Answer
from storage.uow import UnitOfWork


def libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it."""
    return normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def back_up(database_url: str, into: Path) -> None:
    if database_url.startswith("sqlite"):
        source = sqlite3.connect(database_url.split(":///", 1)[1])
        target = sqlite3.connect(into)
        with target:
            source.backup(target)
        source.close()
        target.close()
        return
    done = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "--format=custom", "--file", str(into), libpq(database_url)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


async def restore(backup: Path, database_url: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            libpq(database_url),
            str(backup),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


async def fresh_database(world: Konsulta, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database beside the world's (a new SQLite file, or a new PostgreSQL
    database on the same server), dropped afterwards."""
    if world.database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    server = normalise_url(world.database_url)
    name = f"konsulta_restored_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def answers(database_url: str) -> dict[int, dict[str, object]]:
    """Answers per Telegram user, read from the database itself."""
    engine = create_engine(database_url)
    try:
        found: dict[int, dict[str, object]] = {}
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            for user in (7801, 7802, 7803):
                citizen = await uow.citizens.find(user)
                if citizen is None:
                    continue
                for run in await uow.runs.list_for_citizen(citizen.id):
                    for answer in await uow.answers.list_for_run(run.id):
                        found.setdefault(user, {})[answer.step_id] = answer.value
        async with engine.connect() as connection:
            total = await connection.scalar(select(func.count()).select_from(Answer))
        assert total == sum(len(a) for a in found.values())  # none doubled
        return found
    finally:
        await engine.dispose()


async def test_a_restored_backup_lets_every_citizen_go_on_where_they_were(
    world: Konsulta, tmp_path: Path
) -> None:
    zofia, jan, olena = (world.phone(7801), world.phone(7802), world.phone(7803, "uk"))
    world.bot.start()
    for phone in (zofia, jan, olena):
        await phone.send("/start senior-housing")
        [consent] = await phone.expect(1)
        await phone.tap(consent, "agree")
        await phone.expect(2)
    await zofia.answer("age", ["85_plus"])
    await zofia.answer("lives_with", ["partner"])
    await jan.answer("age", ["75_84"])
    await world.settled()
    await world.bot.stop()
    before = await answers(world.database_url)
    assert before == {7801: {"age": "85_plus", "lives_with": "partner"}, 7802: {"age": "75_84"}}

    backup = tmp_path / "konsulta.backup"
    await back_up(world.database_url, backup)
    async for restored_url in fresh_database(world, tmp_path):
        if restored_url.startswith("postgresql"):
            await restore(backup, restored_url)
        else:
            Path(restored_url.split(":///", 1)[1]).write_bytes(backup.read_bytes())
        bot = BotProcess(tmp_path, bot_env(world.emu.base_url, restored_url))
        bot.start()
        try:
            await go_on(zofia, "years_here", "12")
            await go_on(jan, "lives_with", "alone")
            await go_on(olena, "age", "65_74")
            await bot.stop()
        finally:
            if bot.running:
                await bot.stop()
        bot.assert_healthy()
        after = await answers(restored_url)
    assert after == {
        7801: {"age": "85_plus", "lives_with": "partner", "years_here": 12},
        7802: {"age": "75_84", "lives_with": "alone"},
        7803: {"age": "65_74"},
    }


async def go_on(phone: Phone, step: str, answer: str) -> None:
    """Answer the question on screen (tap its option, or type a number) and see the
    next one come: the restored bot knew where the citizen was."""
    if answer.isdecimal():
        await phone.send(answer)
        await phone.expect(1)
    else:
        await phone.answer(step, [answer])
