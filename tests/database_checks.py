"""A test's own look at the rows, beside what the repositories offer.

Outside `storage/` nothing reaches a unit of work's session: SQL is written in
`storage/` only (tests/architecture checks it). A test that checks rows no repository
reads (every outbox row, every consent record) uses `session_of` for it, so such a
reach into storage's inside is named, and found by a grep.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.uow import UnitOfWork

__all__ = ["session_of"]


def session_of(uow: UnitOfWork) -> AsyncSession:
    """The session of `uow`, for a test's checks and set-ups only."""
    return uow._session
