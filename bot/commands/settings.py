"""`konsulta settings`: the settings in force, secrets hidden."""

from __future__ import annotations

import argparse
from typing import Any

from konsulta.settings import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("settings", help="print the settings in force (secrets hidden)")
    parser.set_defaults(handler=show)


async def show(args: argparse.Namespace, settings: Settings) -> int:
    for name, value in settings.redacted().items():
        print(f"{name} = {value}")
    return 0
