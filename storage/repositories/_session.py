"""Let repository methods accept objects loaded by an earlier unit of work.

With `expire_on_commit=False` a handler may keep a `Citizen` or `Run` from one unit of
work and pass it to the next. Changing attributes on such a detached object would
silently save nothing; `attached` makes the change land in this session.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def attached(session: AsyncSession, obj: T) -> T:
    """`obj` itself if this session owns it, else this session's copy of the same row
    (the detached object is attached when the session has none)."""
    if obj in session:
        return obj
    key = inspect(obj).key
    if key is not None:
        existing = session.sync_session.identity_map.get(key)
        if existing is not None:
            return existing  # type: ignore[no-any-return]
    session.add(obj)
    return obj
