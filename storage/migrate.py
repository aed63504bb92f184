"""Bring any database to the newest schema with the bundled Alembic migrations.

The migrations ship inside the package (no alembic.ini lookup in the working
directory), so `konsulta db upgrade` works from an installed wheel. `upgrade` is
async because the application is; the CLI, which has no event loop, calls
`upgrade_blocking`. Developers can still use the Alembic CLI:
`alembic -c storage/alembic.ini -x url=sqlite:///konsulta.db upgrade head`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from storage.engine import create_engine, normalise_url

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
    "upgrade_blocking",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic Config pointing at the bundled migrations, built without a file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalise_url(url).render_as_string(hide_password=False)
        # ConfigParser interpolation: a '%' in a password must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest revision the bundled migrations know."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at (None for an empty database)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest)."""
    parsed = normalise_url(url)
    config = alembic_config(parsed)
    # Foreign keys off while migrating SQLite: batch ALTERs recreate tables.
    engine = create_engine(parsed, for_migrations=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, config, revision)
            if parsed.get_backend_name() == "sqlite":
                problems = (await connection.execute(text("PRAGMA foreign_key_check"))).all()
                if problems:
                    raise RuntimeError(f"migration left dangling foreign keys: {problems[:5]}")
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    # env.py sees this connection and migrates on it instead of opening its own.
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def upgrade_blocking(url: str | URL, revision: str = "head") -> None:
    """`upgrade` for synchronous callers such as the CLI; not for use inside a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(upgrade(url, revision))
        return
    raise RuntimeError("upgrade_blocking() called from a running event loop; await upgrade()")
