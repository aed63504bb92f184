"""`konsulta db upgrade`."""

from __future__ import annotations

from typing import Any

from konsulta.settings import Settings
from storage.migrate import upgrade as migrate


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade_cmd = actions.add_parser("upgrade", help="apply every migration")
    upgrade_cmd.set_defaults(handler=lambda args, settings: upgrade(settings))


async def upgrade(settings: Settings) -> int:
    await migrate(settings.database_url)
    print("database is at the latest migration")
    return 0
