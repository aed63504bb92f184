"""`konsulta export CONSULTATION --format csv|xlsx|json [--out FILE]`, audited as
"export" by "cli" (see bot/commands/operator.py).

`--format floip|datapackage --out DIR` writes the open-data package of the
consultation's public results instead (`konsulta.open_data`: aggregated, k-anonymous,
only the questions staff published). A consultation whose results are not published
has no open-data package: the command refuses with exit status 2 and writes nothing."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.commands.operator import record
from konsulta import open_data
from konsulta.bootstrap import running_app
from konsulta.open_data import OpenFormat
from konsulta.settings import Settings
from review.export import Format, export_consultation


def register(sub: Any) -> None:
    parser = sub.add_parser("export", help="export a consultation's answers")
    parser.add_argument("consultation", help="consultation id")
    parser.add_argument(
        "--format",
        choices=("csv", "xlsx", "json", *(f.value for f in OpenFormat)),
        default="csv",
        help="answers (csv, xlsx, json) or the public results' open-data package "
        "(floip, datapackage: --out is a directory)",
    )
    parser.add_argument(
        "--out", type=Path, help="file (or directory, for a package) to write (default: stdout)"
    )
    parser.set_defaults(handler=handle)


async def handle(args: Any, settings: Settings) -> int:
    if args.format in {f.value for f in OpenFormat}:
        if args.out is None:
            print("an open-data package needs --out DIR", file=sys.stderr)
            return 2
        return await run_package(settings, args.consultation, OpenFormat(args.format), args.out)
    return await run(settings, args.consultation, args.format, args.out)


async def run_package(settings: Settings, slug: str, fmt: OpenFormat, out: Path) -> int:
    """Write the open-data package of a consultation's published results into `out`."""
    async with running_app(settings) as app:
        async with app.uow(read_only=True) as uow:
            found = await uow.consultations.get_by_slug(slug)
        if found is None:
            print(f"no consultation '{slug}'", file=sys.stderr)
            return 1
        if found.public_since is None:
            print(
                f"the results of '{slug}' are not published: publish them on the dashboard "
                "(Public results page) before exporting an open-data package",
                file=sys.stderr,
            )
            return 2
        await record(app, "export", slug, consultation_id=found.id, format=fmt.value, to=str(out))
        async with app.uow(read_only=True) as uow:
            package = await open_data.published_package(
                uow,
                app.flows,
                slug,
                fmt,
                k=settings.public_min_group,
                licence=settings.open_data_licence,
                counted=datetime.now(UTC),
            )
        if package is None:  # a draft, or no published version
            print(f"'{slug}' has no published results", file=sys.stderr)
            return 2
        written = open_data.write(package, out)
    print(f"wrote {', '.join(p.name for p in written)} of {slug} to {out}", file=sys.stderr)
    return 0


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
