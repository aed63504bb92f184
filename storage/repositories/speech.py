"""Voice clips: texts read aloud, kept so each is synthesised and uploaded once."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import VoiceClip
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

__all__ = ["VoiceClipRepository"]


class VoiceClipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> VoiceClip | None:
        result = await self._session.execute(select(VoiceClip).where(VoiceClip.key == key))
        return result.scalar_one_or_none()

    async def add(
        self, key: str, *, engine: str, voice: str, language: str, audio: bytes, duration: float
    ) -> None:
        """Keep a clip; one another process kept meanwhile under the same key stays."""
        await self._session.execute(
            upsert_insert(self._session, VoiceClip)
            .values(
                key=key,
                engine=engine,
                voice=voice,
                language=language,
                audio=audio,
                duration=duration,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[VoiceClip.key])
        )

    async def set_file_id(self, key: str, file_id: str) -> None:
        """Telegram's id of the uploaded clip: later messages send it instead."""
        await self._session.execute(
            update(VoiceClip)
            .where(VoiceClip.key == key)
            .values(file_id=file_id)
            .execution_options(synchronize_session=False)
        )
