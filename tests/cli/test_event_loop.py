"""`konsulta` runs its commands, the bot among them, on uvloop's event loop: less CPU
per update than asyncio's own loop (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio

import uvloop

from bot.cli import run_async


def test_the_konsulta_command_runs_on_uvloop() -> None:
    async def loop_kind() -> int:
        return 1 if isinstance(asyncio.get_running_loop(), uvloop.Loop) else 0

    assert run_async(loop_kind()) == 1
