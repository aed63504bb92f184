"""`konsulta`: the one entry point for staff, developers and operators.

Every command builds Settings once and passes them down; nothing else reads the
environment. Commands that touch the database bring it to the latest migration first,
so a newcomer never has to remember `konsulta db upgrade`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings

EXIT_PROBLEMS = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="konsulta", description="Telegram consultations with the citizens rarely heard."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = sub.add_parser("simulate", help="play a consultation in the terminal")
    simulate.add_argument("flow", help="a flow YAML file, or a published consultation id")
    simulate.add_argument("--lang", help="language to play in (default: the flow's)")
    simulate.add_argument("--user", default="terminal", help="who is playing (a name)")

    flows = sub.add_parser("flows", help="check, publish and list consultations")
    flows_sub = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    check = flows_sub.add_parser("check", help="report every problem in flow files")
    check.add_argument("paths", nargs="+", type=Path, help="flow files or folders")
    publish = flows_sub.add_parser("publish", help="publish a flow file as a new version")
    publish.add_argument("paths", nargs="+", type=Path, help="flow files or folders")
    publish.add_argument("--draft", action="store_true", help="publish without opening it")
    flows_sub.add_parser("list", help="list published consultations")
    for action, text in (("open", "open a consultation"), ("close", "close a consultation")):
        cmd = flows_sub.add_parser(action, help=text)
        cmd.add_argument("consultation")

    export = sub.add_parser("export", help="export a consultation's answers")
    export.add_argument("consultation", help="consultation id")
    export.add_argument("--format", choices=("csv", "xlsx", "json"), default="csv")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply every migration")

    run = sub.add_parser("run", help="run the Telegram bot (long polling by default)")
    run.add_argument("--webhook", action="store_true", help="receive updates by webhook")
    run.add_argument("--emulator", action="store_true", help="start the local Bot API emulator too")
    run.add_argument("--port", type=int, default=8081, help="emulator port (with --emulator)")

    emulator = sub.add_parser("emulator", help="run only the Bot API emulator")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument("--global-rate", type=float, help="messages/s for the whole bot")

    sub.add_parser("settings", help="print the settings in force (secrets hidden)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiosqlite", "alembic", "aiogram.event"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    command = args.command
    if command == "settings":
        for name, value in settings.redacted().items():
            print(f"{name} = {value}")
        return 0
    if command == "flows" and args.flows_command == "check":
        from bot.commands.flows import check

        return check(args.paths)
    return asyncio.run(_run_async(args, settings))


async def _run_async(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command == "db":
        from bot.commands import database

        return await database.upgrade(settings)
    if command == "flows":
        from bot.commands import flows

        if args.flows_command == "publish":
            return await flows.publish(settings, args.paths, open_now=not args.draft)
        if args.flows_command == "list":
            return await flows.list_all(settings)
        return await flows.set_status(settings, args.consultation, args.flows_command)
    if command == "export":
        from bot.commands import export

        return await export.run(settings, args.consultation, args.format, args.out)
    if command == "simulate":
        from bot.commands import simulate

        return await simulate.run(settings, args.flow, args.lang, args.user)
    if command in {"run", "emulator"}:
        from bot.commands import run

        if command == "emulator":
            return await run.emulator_only(args.port, args.global_rate)
        return await run.run(settings, webhook=args.webhook, emulator=args.emulator, port=args.port)
    raise SystemExit(f"unknown command {command}")  # argparse makes this unreachable


if __name__ == "__main__":
    sys.exit(main())
