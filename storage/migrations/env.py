"""Alembic environment for Konsulta, async-aware.

Two ways in: `storage.migrate.upgrade` hands over an open connection in
`config.attributes["connection"]` (the normal path, inside the app's event loop);
the Alembic CLI has none, so this file builds an async engine from `-x url=...` or
`sqlalchemy.url` and runs the migrations under `asyncio.run`.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from storage.engine import DEFAULT_DATABASE_URL, create_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url, for_migrations=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or DEFAULT_DATABASE_URL
    )


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        if config.config_file_name is not None:
            fileConfig(config.config_file_name)
        asyncio.run(_run_with_own_engine(_url()))
