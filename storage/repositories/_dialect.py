"""The one place that knows upserts are spelled differently on each backend.

Both SQLite and PostgreSQL support `INSERT ... ON CONFLICT` and `RETURNING`, but
SQLAlchemy exposes them through dialect-specific `insert()` constructs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def upsert_insert(session: AsyncSession, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An `insert(entity)` that has `on_conflict_do_nothing/update` for this session's backend."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(entity)
    if name == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"no upsert for database backend {name!r}")
