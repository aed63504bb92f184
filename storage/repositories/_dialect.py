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


#: Each backend's `insert()` with `on_conflict_do_nothing/update`.
_INSERTS: dict[str, Callable[[Any], Upsert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def _insert_of(session: AsyncSession) -> Callable[[Any], Upsert]:
    name = session.get_bind().dialect.name
    if name not in _INSERTS:
        raise NotImplementedError(f"no upsert for database backend {name!r}")
    return _INSERTS[name]


def upsert_insert(session: AsyncSession, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An `insert(entity)` that has `on_conflict_do_nothing/update` for this session's backend."""
    return _insert_of(session)(entity)


class PreparedUpsert:
    """An upsert built once per backend, executed with its values as parameters.

    On the hot path of an update, building `insert(...).values(...)` anew costs more
    CPU than running it (each value coerced, a cache key computed over the values): a
    statement built once over the table (Core, not the ORM's bulk insert) costs only
    its parameters. `build` gets the backend's `insert` of the table.
    """

    def __init__(self, table: Any, build: Callable[[Upsert], Executable]) -> None:
        self._statements = {name: build(insert(table)) for name, insert in _INSERTS.items()}

    def on(self, session: AsyncSession) -> Executable:
        _insert_of(session)  # an unknown backend is refused as `upsert_insert` refuses it
        return self._statements[session.get_bind().dialect.name]
