"""Builder drafts: a consultation being built on the dashboard, per organisation.

Every read and write names the organisation, so one organisation's staff never reach
another's draft, whatever id a URL carries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BuilderDraft

__all__ = ["DraftRepository"]


class DraftRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, organisation_id: int, yaml_text: str, updated_by: str, now: datetime
    ) -> BuilderDraft:
        draft = BuilderDraft(
            organisation_id=organisation_id,
            yaml_text=yaml_text,
            updated_by=updated_by,
            updated_at=now,
        )
        self._session.add(draft)
        await self._session.flush()
        return draft

    async def get(self, organisation_id: int, draft_id: int) -> BuilderDraft | None:
        """The draft if it is the organisation's (None for another's)."""
        found: BuilderDraft | None = await self._session.scalar(
            select(BuilderDraft).where(
                BuilderDraft.id == draft_id, BuilderDraft.organisation_id == organisation_id
            )
        )
        return found

    async def list_for(self, organisation_id: int) -> list[BuilderDraft]:
        found = await self._session.scalars(
            select(BuilderDraft)
            .where(BuilderDraft.organisation_id == organisation_id)
            .order_by(BuilderDraft.updated_at.desc(), BuilderDraft.id.desc())
        )
        return list(found)

    async def save(
        self, draft: BuilderDraft, yaml_text: str, updated_by: str, now: datetime
    ) -> None:
        draft.yaml_text = yaml_text
        draft.updated_by = updated_by
        draft.updated_at = now
        await self._session.flush()

    async def delete(self, draft: BuilderDraft) -> None:
        await self._session.execute(delete(BuilderDraft).where(BuilderDraft.id == draft.id))
