"""Which question messages of a chat still have working answer buttons.

One live keyboard per question: when a question is asked again (after a hint, a
resume, a /start), its earlier copy is stale. The Telegram adapter notes each
question message once sent (`opened`, which says which older ones to close) and each
one whose buttons it took off (`closed`); the conversation service asks `newest` to
tell a tap on the current copy from a tap on a stale one.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OpenKeyboard
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

__all__ = ["KeyboardRepository"]


class KeyboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def opened(self, chat_id: int, message_id: int) -> list[int]:
        """Note `message_id` as the chat's newest open keyboard; returns the chat's
        older open ones (still open until their buttons are actually taken off)."""
        # A row there already means it was closed first (a quick tap): it stays closed.
        statement = (
            upsert_insert(self._session, OpenKeyboard)
            .values(chat_id=chat_id, message_id=message_id, opened_at=utcnow())
            .on_conflict_do_nothing(index_elements=[OpenKeyboard.chat_id, OpenKeyboard.message_id])
        )
        await self._session.execute(statement)
        older = await self._session.scalars(
            select(OpenKeyboard.message_id)
            .where(
                OpenKeyboard.chat_id == chat_id,
                OpenKeyboard.message_id < message_id,
                OpenKeyboard.closed.is_(False),
            )
            .order_by(OpenKeyboard.message_id)
        )
        # Older closed rows served their purpose: their notes were written before this
        # one (a chat's messages go out one at a time, each noted right after it).
        await self._session.execute(
            delete(OpenKeyboard).where(
                OpenKeyboard.chat_id == chat_id,
                OpenKeyboard.message_id < message_id,
                OpenKeyboard.closed.is_(True),
            )
        )
        return list(older)

    async def closed(self, chat_id: int, message_id: int) -> None:
        """Closed, whether or not it was noted yet (then the note finds it closed)."""
        statement = upsert_insert(self._session, OpenKeyboard).values(
            chat_id=chat_id, message_id=message_id, opened_at=utcnow(), closed=True
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[OpenKeyboard.chat_id, OpenKeyboard.message_id],
                set_={"closed": True},
            )
        )

    async def is_open(self, chat_id: int, message_id: int) -> bool:
        found = await self._session.scalar(
            select(OpenKeyboard.message_id).where(
                OpenKeyboard.chat_id == chat_id,
                OpenKeyboard.message_id == message_id,
                OpenKeyboard.closed.is_(False),
            )
        )
        return found is not None

    async def newest(self, chat_id: int) -> int | None:
        """The chat's newest question message with working buttons, if any is known."""
        newest: int | None = await self._session.scalar(
            select(func.max(OpenKeyboard.message_id)).where(
                OpenKeyboard.chat_id == chat_id, OpenKeyboard.closed.is_(False)
            )
        )
        return newest
