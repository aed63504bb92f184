"""`konsulta run [--webhook] [--emulator]` and `konsulta emulator`."""

from __future__ import annotations

import logging
import sys
from typing import Any

from bot.app import App, running_app
from bot.emulator import EmulatorConfig, start_emulator
from bot.publishing import publish, read_flow
from bot.settings import Settings
from bot.telegram.runtime import Runtime, stop_on_signals
from dialogs.loader import FlowError
from storage.repositories import VersionConflict

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    run_cmd = sub.add_parser("run", help="run the Telegram bot (long polling by default)")
    run_cmd.add_argument("--webhook", action="store_true", help="receive updates by webhook")
    run_cmd.add_argument(
        "--emulator", action="store_true", help="start the local Bot API emulator too"
    )
    run_cmd.add_argument("--port", type=int, default=8081, help="emulator port")
    run_cmd.set_defaults(
        handler=lambda args, settings: run(
            settings, webhook=args.webhook, emulator=args.emulator, port=args.port
        )
    )
    emulator = sub.add_parser("emulator", help="run only the Bot API emulator")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument("--global-rate", type=float, help="messages/s for the whole bot")
    emulator.set_defaults(handler=lambda args, settings: emulator_only(args.port, args.global_rate))


async def publish_bundled(app: App) -> None:
    """Publish every flow in the flows folder that is new (for a first try-out)."""
    folder = app.settings.flows_dir
    for path in sorted(folder.glob("*.yaml")):
        try:
            flow, yaml_text = read_flow(path)
            async with app.uow() as uow:
                await publish(uow, flow, yaml_text, open_now=True)
                await uow.commit()
        except (FlowError, VersionConflict) as error:
            log.warning("not published: %s: %s", path.name, error)


async def run(settings: Settings, *, webhook: bool, emulator: bool, port: int) -> int:
    stop = stop_on_signals()
    emu = None
    if emulator:
        emu = await start_emulator("127.0.0.1", port)
        settings = settings.model_copy(update={"api_base_url": emu.base_url})
        print(f"Bot API emulator at {emu.base_url}", flush=True)
    try:
        async with running_app(settings) as app:
            if emulator:
                await publish_bundled(app)
            await Runtime.build(app).run(stop, webhook=webhook)
    finally:
        if emu is not None:
            await emu.close()
    return 0


async def emulator_only(port: int, global_rate: float | None) -> int:
    config = EmulatorConfig()
    if global_rate is not None:
        config.rate_limits.global_per_second = global_rate
    stop = stop_on_signals()
    emu = await start_emulator("127.0.0.1", port, config)
    print(f"Bot API emulator at {emu.base_url} (token e.g. {emu.token})", flush=True)
    try:
        await stop.wait()
    finally:
        await emu.close()
    print("emulator stopped", file=sys.stderr)
    return 0
