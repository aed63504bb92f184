"""Build the async engine and session factory from one database URL.

Called once from `main()` (and from tests); never at import time. The URL picks the
backend: `sqlite+aiosqlite:///konsulta.db` (the default) or
`postgresql+asyncpg://user@host/db`. Plain `sqlite:///` and `postgresql://` URLs are
accepted and given their async driver, so the same string works in `.env`, Alembic
and `konsulta db upgrade`.

SQLite needs per-connection settings that PostgreSQL has by default: foreign keys
are off unless asked for, WAL lets the dashboard read while the bot writes, and a
busy timeout makes a writer wait for the lock instead of failing at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

from storage import sqlite_driver

log = logging.getLogger(__name__)

#: The engine and the session factory as the rest of Konsulta holds them: `bootstrap`
#: keeps them in the `App` and hands them back to `storage/`, never using SQL itself.
Engine = AsyncEngine
Sessionmaker = async_sessionmaker[AsyncSession]

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SQLITE_BUSY_TIMEOUT_MS",
    "Engine",
    "Sessionmaker",
    "create_engine",
    "create_sessionmaker",
    "normalise_url",
]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///konsulta.db"
SQLITE_BUSY_TIMEOUT_MS = 5000
#: Checkpoints tried, 50 ms apart, while a reader keeps the write-ahead log from emptying.
CHECKPOINT_TRIES = 40

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def normalise_url(url: str | URL) -> URL:
    """Give a plain `sqlite://` or `postgresql://` URL its async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database backend {parsed.get_backend_name()!r}")
    return parsed


#: Connection execution option of a unit of work that only reads.
READ_ONLY_OPTION = "konsulta_read_only"


def _is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(
    url: str | URL, *, for_migrations: bool = False, echo: bool = False
) -> AsyncEngine:
    """An async engine for `url`, with the SQLite pragmas applied on every connection.

    `for_migrations=True` changes two things on SQLite. Foreign keys are off: batch
    ALTER recreates a table, and with them on, dropping the old copy would
    cascade-delete child rows. And transactions really begin at `BEGIN`, so DDL is
    transactional and a failed migration leaves no half-built schema (the sqlite3
    module otherwise commits around DDL).
    """
    parsed = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        # Under load a worker keeps about fifteen transactions open at once.
        # SQLAlchemy's default pool keeps 5 and closes the rest as they come back, so
        # every busy moment opened new backends (a handshake, every statement prepared
        # again): 15 are kept. At most 20 a worker, so three workers and the dashboard
        # stay inside PostgreSQL's default max_connections (100).
        kwargs.update(pool_pre_ping=True, pool_size=15, max_overflow=5)
    elif _is_memory_sqlite(parsed):
        # One shared connection, or every checkout would see its own empty database.
        kwargs["poolclass"] = StaticPool
    else:
        # Readers of a WAL database run side by side; let enough of them connect.
        kwargs.update(pool_size=20, max_overflow=20)
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite with one thread hop per statement (see storage.sqlite_driver).
        args, params = parsed.get_dialect()().create_connect_args(parsed)
        kwargs["async_creator"] = partial(sqlite_driver.connect, *args, **params)
    engine = _create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine, for_migrations=for_migrations, wal=not _is_memory_sqlite(parsed))
    return engine


def _configure_sqlite(engine: AsyncEngine, *, for_migrations: bool, wal: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys={'OFF' if for_migrations else 'ON'}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # Erased data is overwritten with zeros, not left in free pages (GDPR erasure).
            cursor.execute("PRAGMA secure_delete=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                # Safe with WAL (no corruption on power loss, at most the last commit).
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()
        # Stop the driver's own implicit transaction handling; `_on_begin` takes over.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take SQLite's write lock at BEGIN. A deferred transaction that reads
        # and then writes fails at once with "database is locked" when another writer
        # got there first (SQLite cannot wait without risking a deadlock); IMMEDIATE
        # waits its turn (busy_timeout) instead. Read-only units of work stay deferred
        # so a long export never holds the write lock.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if read_only or for_migrations else "BEGIN IMMEDIATE")


async def fold_in_erasures(engine: AsyncEngine) -> None:
    """After an erasure, leave no copy of the erased rows in SQLite's write-ahead log.

    With `secure_delete` the database file's pages hold zeros where the rows were, but
    the WAL still holds the pages as they were before; a TRUNCATE checkpoint copies the
    new pages into the database and empties the log. If a reader holds the log open the
    checkpoint is partial and the next one finishes it. PostgreSQL reuses dead tuples
    through VACUUM (see docs/security.md); nothing to do here.
    """
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return

    def checkpoint() -> None:
        # A connection of its own, outside any transaction (a checkpoint cannot run in
        # one); it waits for writers as long as the pool's connections do.
        with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)) as db:
            # A reader on an older snapshot makes the checkpoint partial ("busy" 1):
            # try again while it finishes, rather than leave the frames in the log.
            for _ in range(CHECKPOINT_TRIES):
                busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return
                time.sleep(0.05)
            log.warning("the write-ahead log could not be emptied after an erasure yet")

    await asyncio.to_thread(checkpoint)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory a `UnitOfWork` draws from.

    `expire_on_commit=False`: objects stay readable after the unit of work commits, so
    handlers can use what they just saved without a lazy load (impossible under asyncio).
    """
    return async_sessionmaker(engine, expire_on_commit=False)
