"""Shared database fixtures: every storage test runs on SQLite and on PostgreSQL.

`db_url` is an empty database: a fresh SQLite file per test, or a fresh, uniquely
named PostgreSQL database per test when KONSULTA_TEST_POSTGRES_URL points at a server
(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test); without it the PostgreSQL
variant is skipped. Unique names mean concurrent test runs never share a database.

`engine`, `sessionmaker` and `uow_factory` sit on a database migrated with the real
Alembic migrations (not `create_all`), so every test also exercises the migrations.
"""

from __future__ import annotations

import gc
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import create_engine, create_sessionmaker, normalise_url
from storage.migrate import upgrade
from storage.uow import UnitOfWork

POSTGRES_ENV = "KONSULTA_TEST_POSTGRES_URL"
TEST_PSEUDONYM_SECRET = "test-pseudonym-secret"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database that exists for this test only."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'konsulta-test.db'}"
        return
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+asyncpg://...)")
    server = normalise_url(server_url)
    name = f"konsulta_t_{secrets.token_hex(6)}"
    # CREATE/DROP DATABASE cannot run in a transaction: AUTOCOMMIT on the maintenance db.
    admin = create_engine(server.set(database="postgres"))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
def backend(db_url: str) -> str:
    """'sqlite' or 'postgresql', for tests that check backend-specific behaviour."""
    return make_url(db_url).get_backend_name()


@pytest.fixture
async def migrated_url(db_url: str) -> str:
    """`db_url` brought to the newest schema by the Alembic migrations."""
    await upgrade(db_url)
    return db_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def uow_factory(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Callable[[], UnitOfWork]:
    """Call it for a new `UnitOfWork`: `async with uow_factory() as uow: ...`."""
    return lambda: UnitOfWork(sessionmaker)


@pytest.fixture
def pseudonym_secret() -> str:
    return TEST_PSEUDONYM_SECRET


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost takes about 0.3 s to hash and as long to verify;
    the in-process dashboard tests seed five accounts and log in several times each,
    hundreds of times over. Here the same argon2 code runs with its cheapest
    parameters (a hash records its own, so verifying one is cheap too). CLI commands
    run as subprocesses keep the production cost."""
    from argon2 import PasswordHasher

    import review.security

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(review.security, "_hasher", cheap)
        patch.setattr(review.security, "_DUMMY_HASH", cheap.hash("not a real password"))
        yield


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """An unclosed aiohttp session is only reported when the garbage collector finds it,
    which is at some later test's whim. Collecting after every test puts the warning
    (an error under -W error) on the test that leaked, not on an innocent one.

    What survives the collection is then frozen (moved out of the collector's sight):
    a full collection walks every tracked object, and with the imports and caches of a
    long run that took 0.6 s after every test, 40% of the suite's time. Frozen, the
    next collection walks only what the next test made, which is all it has to find."""
    yield
    gc.collect()
    gc.freeze()
