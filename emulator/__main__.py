"""``python -m emulator``: serve the emulator for a bot run by hand or a demo."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from emulator.config import EmulatorConfig, RateLimitConfig
from emulator.server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", help="accept only this bot token (default: any)")
    parser.add_argument("--spec", type=Path, help="path to api.json (default: bundled)")
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    parser.add_argument(
        "--global-rate", type=float, default=30.0, help="messages/s per bot (default 30)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    limits = RateLimitConfig(
        enabled=not args.no_rate_limits,
        global_per_second=args.global_rate,
        global_burst=max(1, int(args.global_rate)),
    )
    run(
        args.host,
        args.port,
        EmulatorConfig(token=args.token, spec_path=args.spec, rate_limits=limits),
    )


if __name__ == "__main__":
    main()
