"""`konsulta db upgrade`."""

from __future__ import annotations

from bot.settings import Settings
from storage.migrate import upgrade as migrate


async def upgrade(settings: Settings) -> int:
    await migrate(settings.database_url)
    print("database is at the latest migration")
    return 0
