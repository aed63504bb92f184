"""The one place that knows upserts are spelled differently on each backend.

Both SQLite and PostgreSQL support `INSERT ... ON CONFLICT` and `RETURNING`, but
SQLAlchemy exposes them through dialect-specific `insert()` constructs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

Upsert = postgresql.Insert | sqlite.Insert


def upsert_insert(session: AsyncSession, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An `insert(entity)` that has `on_conflict_do_nothing/update` for this session's backend."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(entity)
    if name == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"no upsert for database backend {name!r}")


class PreparedUpsert:
    """An upsert built once per backend, executed with its values as parameters.

    On the hot path of an update, building `insert(...).values(...)` anew costs more
    CPU than running it (each value coerced, a cache key computed over the values): a
    statement built once over the table (Core, not the ORM's bulk insert) costs only
    its parameters. `build` gets the backend's `insert` of the table.
    """

    def __init__(self, table: Any, build: Callable[[Upsert], Executable]) -> None:
        self._statements = {
            "postgresql": build(postgresql.insert(table)),
            "sqlite": build(sqlite.insert(table)),
        }

    def on(self, session: AsyncSession) -> Executable:
        name = session.get_bind().dialect.name
        if name not in self._statements:
            raise NotImplementedError(f"no upsert for database backend {name!r}")
        return self._statements[name]
