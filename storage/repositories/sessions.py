"""Dashboard sessions on the server (see `storage.models.StaffSession`).

Only the token's SHA-256 is stored, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open(self, staff_user_id: int, token: str, *, now: datetime, until: datetime) -> None:
        self._session.add(
            StaffSession(
                token_hash=token_hash(token),
                staff_user_id=staff_user_id,
                created_at=now,
                expires_at=until,
            )
        )
        await self._session.flush()

    async def user_of(self, token: str, *, now: datetime) -> int | None:
        """The staff user a live (not revoked, not expired) session token belongs to."""
        result = await self._session.execute(
            select(StaffSession.staff_user_id).where(
                StaffSession.token_hash == token_hash(token),
                StaffSession.revoked_at.is_(None),
                StaffSession.expires_at > now,
            )
        )
        return result.scalar_one_or_none()

    async def revoke(self, token: str, *, now: datetime) -> None:
        await self._session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == token_hash(token), StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_all(self, staff_user_id: int, *, now: datetime) -> None:
        """End every session of a user (password changed or reset, account disabled)."""
        await self._session.execute(
            update(StaffSession)
            .where(StaffSession.staff_user_id == staff_user_id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
