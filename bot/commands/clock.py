"""`konsulta clock show|advance DURATION|reset`: the outreach clock.

Moving it needs `KONSULTA_CONTROLLABLE_CLOCK=true` (for the bot processes too): the
offset is stored in the database, and every bot process on it picks it up at its next
tick, so "two weeks later" takes seconds in a test or the playground.
"""

from __future__ import annotations

import sys
from typing import Any

from konsulta.bootstrap import running_app
from konsulta.clock import ControllableClock
from konsulta.settings import Settings
from outreach.durations import DurationError, format_duration, parse_duration

EXIT_USAGE = 2


def register(sub: Any) -> None:
    clock = sub.add_parser("clock", help="show or move the outreach clock (tests, playground)")
    actions = clock.add_subparsers(dest="clock_command", required=True, metavar="ACTION")
    actions.add_parser("show", help="the outreach clock's time and offset").set_defaults(
        handler=lambda args, settings: show(settings)
    )
    advance_cmd = actions.add_parser("advance", help="move the clock forward, e.g. 14d or 2h30m")
    advance_cmd.add_argument("duration")
    advance_cmd.set_defaults(handler=lambda args, settings: advance(settings, args.duration))
    actions.add_parser("reset", help="back to real time").set_defaults(
        handler=lambda args, settings: reset(settings)
    )


async def show(settings: Settings) -> int:
    async with running_app(settings) as app:
        clock = app.clock
        offset = clock.offset if isinstance(clock, ControllableClock) else None
        mode = "controllable" if offset is not None else "real time"
        print(f"outreach clock: {clock.now().isoformat(timespec='seconds')} ({mode}", end="")
        print(f", offset {format_duration(offset)})" if offset is not None else ")")
    return 0


async def _controllable(settings: Settings) -> bool:
    if not settings.controllable_clock:
        print(
            "the clock can only be moved with KONSULTA_CONTROLLABLE_CLOCK=true "
            "(set it for the bot too)",
            file=sys.stderr,
        )
        return False
    return True


async def advance(settings: Settings, text: str) -> int:
    try:
        delta = parse_duration(text)
    except DurationError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    if not await _controllable(settings):
        return EXIT_USAGE
    async with running_app(settings) as app:
        assert isinstance(app.clock, ControllableClock)
        now = await app.clock.advance(delta)
        print(
            f"outreach clock: {now.isoformat(timespec='seconds')} "
            f"(offset {format_duration(app.clock.offset)})"
        )
    return 0


async def reset(settings: Settings) -> int:
    if not await _controllable(settings):
        return EXIT_USAGE
    async with running_app(settings) as app:
        assert isinstance(app.clock, ControllableClock)
        await app.clock.reset()
        print(f"outreach clock: {app.clock.now().isoformat(timespec='seconds')} (real time)")
    return 0
