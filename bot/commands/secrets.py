"""`konsulta secrets generate`: fresh values for every secret setting, as .env lines."""

from __future__ import annotations

import sys
from typing import Any

from konsulta.secrets import GENERATED, generate_secrets, weak_bot_secrets, weak_secrets
from konsulta.settings import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("secrets", help="make the deployment's secrets")
    commands = parser.add_subparsers(dest="secrets_command", required=True, metavar="ACTION")
    generate = commands.add_parser(
        "generate", help="print fresh secrets as .env lines (KONSULTA_...=...)"
    )
    generate.set_defaults(handler=lambda args, settings: print_generated())


async def print_generated() -> int:
    for name, value in generate_secrets().items():
        print(f"# {GENERATED[name]}")
        print(f"KONSULTA_{name.upper()}={value}")
    return 0


def refused(settings: Settings, names: list[str], *, webhook: bool = False) -> int | None:
    """Exit status 2 (and why, on stderr) if any of `names` is a weak secret, or (bot
    processes) one of the other bots' webhook secrets is, else None."""
    weak = weak_secrets(settings, names) + weak_bot_secrets(settings, webhook=webhook)
    for secret in weak:
        print(f"konsulta: {secret}", file=sys.stderr)
    return 2 if weak else None
