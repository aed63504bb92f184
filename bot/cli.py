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
from collections.abc import Coroutine, Sequence
from typing import Any

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
    code: int = run_async(args.handler(args, settings))
    return code


def run_async(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop's event loop where it is installed: the bot's time goes largely
    to its sockets (the webhook, the Bot API, PostgreSQL) and to handing tasks their
    turn, which uvloop does in C (docs/benchmarks.md); asyncio's own loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


if __name__ == "__main__":
    sys.exit(main())
