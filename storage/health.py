"""What an operator's probes and metrics read from the database.

`/readyz` asks whether the database answers and is at the newest migration; `/metrics`
how many outbox rows wait in each status and how many updates wait in the inbox. The
queries live here because `storage/` is the one place that builds SQL; each is one
indexed count, cheap enough for a scrape every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import InboxUpdate, OutboxMessage

__all__ = ["QueueDepths", "database_revision", "queue_depths"]


async def database_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at; raises if the database does not answer."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


@dataclass(frozen=True)
class QueueDepths:
    #: Outbox rows per status (pending, sent, failed, ...).
    outbox: dict[str, int]
    #: Updates stored and not yet handled.
    inbox_backlog: int


async def queue_depths(engine: AsyncEngine) -> QueueDepths:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        outbox = {str(status): int(count) for status, count in rows}
        backlog = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.handled_at.is_(None))
        )
    return QueueDepths(outbox, int(backlog or 0))
