"""The schema comes from the Alembic migrations, and they match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.migrate import current_revision, head_revision, upgrade, upgrade_blocking
from storage.models import Base


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migration_upgrades_an_empty_database_and_the_models_match_it(
    db_url: str,
) -> None:
    assert await current_revision(db_url) is None
    await upgrade(db_url)
    assert await current_revision(db_url) == head_revision()
    await upgrade(db_url)  # a second run is a no-op

    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= set(tables)


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(
    engine: AsyncEngine, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000


def test_the_cli_can_upgrade_without_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_blocking(url)
    assert (tmp_path / "cli.db").exists()


async def test_upgrade_blocking_refuses_to_run_inside_a_loop(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="await upgrade"):
        upgrade_blocking(f"sqlite:///{tmp_path / 'x.db'}")


async def test_a_failed_migration_step_leaves_no_half_built_schema(db_url: str) -> None:
    engine = create_engine(db_url, for_migrations=True)
    try:
        with pytest.raises(RuntimeError):
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE half_built (id INTEGER)"))
                raise RuntimeError("the next migration step fails")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert "half_built" not in tables
