"""The bot in the test's own process, for the stories that need speed more than a
child process: the Bot API emulator (rate limits off), the real runtime on a given
database, and a wait until the bot has nothing left to do.

Shared by the outreach, leader, language and random-citizen stories.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from database_checks import session_of
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.telegram.runtime import Runtime
from dialogs.schema import Flow
from emulator import Emulator, EmulatorConfig, start_emulator
from konsulta.bootstrap import App, build_app
from konsulta.publishing import publish
from konsulta.settings import Settings
from storage.models import InboxUpdate, OutboxMessage, OutboxStatus

TIMEOUT = 20.0


@dataclass
class InProcess:
    emu: Emulator
    app: App
    runtime: Runtime


@asynccontextmanager
async def bot_in_process(
    database_url: str,
    flows: Sequence[tuple[Flow, str]],
    *,
    name: str,
    migrate: bool = False,
    **settings: Any,
) -> AsyncIterator[InProcess]:
    """The emulator and the running bot, with `flows` (from `read_flow`) published and
    open; `settings` are added to the fast ones every story wants (no flood control,
    which has its own story in tests/bot, and no rate limits to wait for)."""
    config = EmulatorConfig()
    config.rate_limits.enabled = False
    emu = await start_emulator("127.0.0.1", 0, config)
    app = await build_app(
        Settings(
            database_url=database_url,
            api_base_url=emu.base_url,
            bot_token=SecretStr(f"7000000001:{name}-test-token"),
            pseudonym_secret=SecretStr(f"{name}-test-secret"),
            rate_per_chat=1000.0,
            rate_per_second=1000.0,
            flood_messages=1000,
            _env_file=None,  # type: ignore[call-arg]
            **settings,
        ),
        migrate=migrate,
    )
    async with app.uow() as uow:
        for flow, text in flows:
            await publish(uow, flow, text, open_now=True)
        await uow.commit()
    runtime = Runtime.build(app)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop, webhook=False))
    try:
        yield InProcess(emu, app, runtime)
    finally:
        stop.set()
        await task
        await app.close()
        await emu.close()


async def settled(app: App, *emulators: Emulator, timeout: float = TIMEOUT) -> None:
    """Every update handled and every queued message out (sent or given up), with
    one emulator per bot of the app."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        # The emulator first: an update leaves its queue only once it is in the inbox,
        # so nothing slips between the two looks (the other way round, one did).
        waiting = any(emu.state.updates for emu in emulators)
        async with app.uow() as uow:
            unhandled = await session_of(uow).scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.handled_at.is_(None))
            )
            queued = await session_of(uow).scalar(
                select(func.count())
                .select_from(OutboxMessage)
                # Claimed rows stay pending with a lease, so no due_at filter here.
                .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            )
        if not unhandled and not queued and not waiting:
            return
        assert loop.time() < deadline, f"not settled: {unhandled} updates, {queued} queued"
        await asyncio.sleep(0.05)


async def tap_label(emu: Emulator, user_id: int, label: str) -> int:
    """Tap the button whose label contains `label` on the bot's last message to the
    user; returns that message's id."""
    shown = emu.bot_messages(user_id)[-1]
    rows = (shown.reply_markup or {}).get("inline_keyboard", [])
    data = next(b["callback_data"] for row in rows for b in row if label in b["text"])
    await emu.citizens.tap(user_id, shown.message_id, data)
    return shown.message_id
