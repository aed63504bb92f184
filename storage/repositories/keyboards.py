"""Which question messages of a chat still have working answer buttons.

One live keyboard per question: when a question is asked again (after a hint, a
resume, a /start), its earlier copy is stale. The Telegram adapter notes each
question message once sent (`opened`, which says which older ones to close) and each
one whose buttons it took off (`closed`); the conversation service asks `newest` to
tell a tap on the current copy from a tap on a stale one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OpenKeyboard
from storage.repositories._dialect import PreparedUpsert, upsert_insert
from storage.types import utcnow

__all__ = ["KeyboardRepository"]


_CLOSED = PreparedUpsert(
    OpenKeyboard.__table__,
    lambda insert: insert.on_conflict_do_update(
        index_elements=[OpenKeyboard.chat_id, OpenKeyboard.message_id], set_={"closed": True}
    ),
)


#: Every tap asks it (is this the newest copy?): built once.
NEWEST_OPEN = select(func.max(OpenKeyboard.message_id)).where(
    OpenKeyboard.chat_id == bindparam("chat_id"), OpenKeyboard.closed.is_(False)
)


class KeyboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def opened(self, sent: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
        """Note each sent `(chat_id, message_id)` as its chat's newest open keyboard;
        returns, per chat, its older open ones (still open until their buttons are
        actually taken off), oldest first.

        One wave of the sender's messages costs three statements, not three per
        message: the notes in one INSERT, one read of these chats' rows, and one
        DELETE of the older closed rows (their notes were written before these: a
        chat's messages go out one at a time, each noted in the wave it was sent).
        """
        if not sent:
            return {}
        now = utcnow()
        # A row there already means it was closed first (a quick tap): it stays closed.
        await self._session.execute(
            upsert_insert(self._session, OpenKeyboard)
            .values(
                [
                    {"chat_id": chat, "message_id": message, "opened_at": now, "closed": False}
                    for chat, message in dict.fromkeys(sent)
                ]
            )
            .on_conflict_do_nothing(index_elements=[OpenKeyboard.chat_id, OpenKeyboard.message_id])
        )
        newest: dict[int, int] = {}
        for chat, message in sent:
            newest[chat] = max(message, newest.get(chat, message))
        rows = await self._session.execute(
            select(OpenKeyboard.chat_id, OpenKeyboard.message_id, OpenKeyboard.closed)
            .where(OpenKeyboard.chat_id.in_(newest))
            .order_by(OpenKeyboard.chat_id, OpenKeyboard.message_id)
        )
        older: dict[int, list[int]] = {}
        spent: list[tuple[int, int]] = []
        for chat, message, closed in rows:
            if message < newest[chat]:
                if closed:
                    spent.append((chat, message))
                else:
                    older.setdefault(chat, []).append(message)
        if spent:
            await self._session.execute(
                delete(OpenKeyboard).where(
                    tuple_(OpenKeyboard.chat_id, OpenKeyboard.message_id).in_(spent)
                )
            )
        return older

    async def closed(self, chat_id: int, message_id: int) -> None:
        """Closed, whether or not it was noted yet (then the note finds it closed)."""
        await self._session.execute(
            _CLOSED.on(self._session),
            {"chat_id": chat_id, "message_id": message_id, "opened_at": utcnow(), "closed": True},
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
        newest: int | None = await self._session.scalar(NEWEST_OPEN, {"chat_id": chat_id})
        return newest
