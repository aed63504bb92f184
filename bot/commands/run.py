"""`konsulta run [--framework aiogram|ptb] [--webhook] [--emulator]` and `konsulta emulator`."""

from __future__ import annotations

import gc
import logging
import sys
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from bot.commands.secrets import refused
from bot.workers import supervise
from dialogs.loader import FlowError
from emulator import Emulator, EmulatorConfig, start_emulator
from emulator.playground import TimeMachine
from konsulta.bootstrap import App, running_app
from konsulta.clock import ControllableClock
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from storage.repositories import VersionConflict

log = logging.getLogger(__name__)

#: The emulator's Bot API and the playground page share this port.
DEFAULT_PORT = 8081
#: `konsulta run --framework`: aiogram runs everything; ptb the citizens' journey.
FRAMEWORKS = ("aiogram", "ptb")


def register(sub: Any) -> None:
    run_cmd = sub.add_parser("run", help="run the Telegram bot (long polling by default)")
    run_cmd.add_argument("--webhook", action="store_true", help="receive updates by webhook")
    run_cmd.add_argument(
        "--emulator", action="store_true", help="start the local Bot API emulator too"
    )
    run_cmd.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port of the emulator and its playground page (0: any free port)",
    )
    run_cmd.add_argument(
        "--framework",
        choices=FRAMEWORKS,
        default="aiogram",
        help="the Telegram library: aiogram (everything) or ptb (the citizens' journey, "
        "polling only; see docs/adapters.md)",
    )
    run_cmd.add_argument(
        "--workers",
        type=int,
        default=1,
        help="webhook worker processes sharing the webhook port (SO_REUSEPORT; "
        "PostgreSQL only; see docs/operations.md)",
    )
    run_cmd.set_defaults(
        handler=lambda args, settings: run(
            settings,
            webhook=args.webhook,
            emulator=args.emulator,
            port=args.port,
            framework=args.framework,
            workers=args.workers,
        )
    )
    emulator = sub.add_parser("emulator", help="run only the Bot API emulator")
    emulator.add_argument("--port", type=int, default=8081)
    emulator.add_argument("--global-rate", type=float, help="messages/s for the whole bot")
    emulator.set_defaults(handler=lambda args, settings: emulator_only(args.port, args.global_rate))


async def publish_bundled(app: App) -> None:
    """Publish every flow in the flows folder that is new (for a first try-out), all
    under the organisation `KONSULTA_ORGANISATION` names (`demo`), whatever their YAML
    says: the dashboard account the README makes for that organisation sees them."""
    folder = app.settings.flows_dir
    for path in sorted(folder.glob("*.yaml")):
        try:
            flow, yaml_text = read_flow(path)
            async with app.uow() as uow:
                await publish(
                    uow, flow, yaml_text, open_now=True, organisation_as=app.settings.organisation
                )
                await uow.commit()
        except (FlowError, VersionConflict) as error:
            log.warning("not published: %s: %s", path.name, error)


def freeze_startup_objects() -> None:
    """Take what start-up made (modules, schemas, the mapped classes: most of the
    process's objects) out of the garbage collector's sight. Otherwise every full
    collection walks them all again: at a thousand messages a second that was about 30
    pauses of 0.3-0.7 s in a 40-second broadcast."""
    gc.collect()
    gc.freeze()


async def start_emulator_near(port: int, host: str = "127.0.0.1") -> Emulator:
    """The emulator on `port`, or on a free port if that one is taken (said aloud)."""
    emu = Emulator(EmulatorConfig())
    try:
        await emu.start(host, port)
    except OSError as error:
        await emu.close()
        emu = Emulator(EmulatorConfig())
        await emu.start(host, 0)
        print(f"port {port} is busy ({error.strerror}); using {emu.base_url}", file=sys.stderr)
    return emu


class OutreachTimeMachine:
    """The playground's time travel moves outreach's clock (the offset in the database)."""

    def __init__(self, clock: ControllableClock) -> None:
        self.clock = clock

    async def now(self) -> datetime:
        await self.clock.refresh()  # `konsulta clock advance` may have moved it meanwhile
        return self.clock.now()

    async def advance(self, by: timedelta) -> datetime:
        return await self.clock.advance(by)


def time_machine_for(app: App) -> TimeMachine | None:
    """The bot's controllable clock for the playground's time travel, if it has one."""
    if isinstance(app.clock, ControllableClock):
        return OutreachTimeMachine(app.clock)
    return None


async def run(
    settings: Settings,
    *,
    webhook: bool,
    emulator: bool,
    port: int,
    framework: str = "aiogram",
    workers: int = 1,
) -> int:
    if framework == "ptb" and webhook:
        print("the ptb adapter receives by long polling only; drop --webhook", file=sys.stderr)
        return 2
    if settings.bots and (framework == "ptb" or emulator):
        print(
            "KONSULTA_BOTS (several bots) needs the aiogram runtime, not the emulator's sandbox",
            file=sys.stderr,
        )
        return 2
    if workers != 1 and (not webhook or emulator or framework != "aiogram" or workers < 1):
        print("--workers N needs --webhook (aiogram, no --emulator)", file=sys.stderr)
        return 2
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        print("--workers N needs PostgreSQL (KONSULTA_DATABASE_URL)", file=sys.stderr)
        return 2
    if not emulator:  # the sandbox makes its own token and keeps its data to itself
        needed = ["bot_token", "pseudonym_secret", *(["webhook_secret"] if webhook else [])]
        if (code := refused(settings, needed, webhook=webhook)) is not None:
            return code
    # Imported here: aiogram takes seconds to import, and every other command would
    # pay for it just to list this one in --help.
    from bot.telegram.runtime import stop_on_signals

    stop = stop_on_signals()
    if workers > 1:
        return await supervise(settings, workers, stop)
    emu = None
    if emulator:
        emu = await start_emulator_near(port)
        # A sandbox: the bot talks to the emulator only, and its clock can be moved
        # from the playground page (or `konsulta clock advance`) to see follow-ups.
        settings = settings.model_copy(
            update={
                "api_base_url": emu.base_url,
                "bot_token": SecretStr(emu.token),
                "controllable_clock": True,
            }
        )
        print(f"Bot API emulator at {emu.base_url}", flush=True)
    try:
        async with running_app(settings) as app:
            if emu is not None:
                await publish_bundled(app)
                emu.playground.time_machine = time_machine_for(app)
                print(
                    f"Playground: open {emu.base_url}/ in your browser to talk to the bot "
                    "(Ctrl+C stops)",
                    flush=True,
                )
            if framework == "ptb":
                from bot.ptb.runtime import PtbRuntime

                ptb = PtbRuntime.build(app)
                freeze_startup_objects()
                await ptb.run(stop)
            else:
                from bot.telegram.runtime import Runtime, run_bots

                runtimes = Runtime.build_all(app)  # the main bot and KONSULTA_BOTS
                freeze_startup_objects()
                await run_bots(runtimes, stop, webhook=webhook)
    finally:
        if emu is not None:
            await emu.close()
    return 0


async def emulator_only(port: int, global_rate: float | None) -> int:
    from bot.telegram.runtime import stop_on_signals

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
