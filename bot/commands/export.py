"""`konsulta export CONSULTATION --format csv|xlsx|json [--out FILE]`, audited as
"export" by "cli" (see bot/commands/operator.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bot.commands.operator import record
from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from review.export import Format, export_consultation


def register(sub: Any) -> None:
    parser = sub.add_parser("export", help="export a consultation's answers")
    parser.add_argument("consultation", help="consultation id")
    parser.add_argument("--format", choices=("csv", "xlsx", "json"), default="csv")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    parser.set_defaults(
        handler=lambda args, settings: run(settings, args.consultation, args.format, args.out)
    )


async def run(settings: Settings, slug: str, fmt: Format, out: Path | None) -> int:
    async with running_app(settings) as app:
        async with app.uow(read_only=True) as uow:
            found = await uow.consultations.get_by_slug(slug)
        if found is None:
            print(f"no consultation '{slug}'", file=sys.stderr)
            return 1
        # Audited before a byte is written, as the dashboard's export is.
        await record(
            app,
            "export",
            slug,
            consultation_id=found.id,
            format=fmt,
            to=str(out) if out is not None else "stdout",
        )
        async with app.uow(read_only=True) as uow:
            if out is None:
                count = await export_consultation(uow, app.flows, slug, fmt, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                with out.open("wb") as stream:
                    count = await export_consultation(uow, app.flows, slug, fmt, stream)
    print(f"exported {count} run(s) of {slug}", file=sys.stderr)
    return 0
