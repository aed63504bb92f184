"""`konsulta`: the one entry point for staff, developers and operators.

Each command group lives in its own module under `bot/commands/` and registers its
subcommands here through `register(subparsers)`, setting an async `handler(args,
settings)`. Settings are built once and passed down; nothing else reads the
environment. Commands that touch the database bring it to the latest migration first.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

from bot.logs import configure_logging
from konsulta.settings import Settings

#: Modules under bot/commands that add subcommands, in the order `--help` lists them.
COMMAND_MODULES = [
    "simulate",
    "flows",
    "i18n",
    "export",
    "run",
    "database",
    "settings",
    "organisations",
    "communities",
    "leaders",
    "web",
    "users",
    "broadcast",
    "results",
    "opinions",
    "followups",
    "retention",
    "clock",
    "secrets",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="konsulta", description="Telegram consultations with the citizens rarely heard."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"bot.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format, worker=settings.worker_name)
    code: int = asyncio.run(args.handler(args, settings))
    return code


if __name__ == "__main__":
    sys.exit(main())
