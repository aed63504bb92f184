"""`konsulta export CONSULTATION --format csv|xlsx|json [--out FILE]`."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.app import running_app
from bot.settings import Settings
from review.export import Format, export_consultation


async def run(settings: Settings, slug: str, fmt: Format, out: Path | None) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        try:
            if out is None:
                count = await export_consultation(uow, app.flows, slug, fmt, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                with out.open("wb") as stream:
                    count = await export_consultation(uow, app.flows, slug, fmt, stream)
        except KeyError:
            print(f"no consultation '{slug}'", file=sys.stderr)
            return 1
    print(f"exported {count} run(s) of {slug}", file=sys.stderr)
    return 0
