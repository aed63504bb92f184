"""Fixtures of the leader stories; what they are made of is in `leader_world`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from leader_world import COMMUNITY, FLOWS, ORGANISATION, World, daytime_zone
from pydantic import SecretStr

from bot.app import build_app
from bot.emulator import EmulatorConfig, start_emulator
from bot.leaders.service import add_community
from bot.publishing import publish, read_flow
from bot.settings import Settings
from bot.telegram.runtime import Runtime
from outreach.scheduler import Outreach


@pytest.fixture
async def world(migrated_url: str) -> AsyncIterator[World]:
    config = EmulatorConfig()
    config.rate_limits.enabled = False
    emu = await start_emulator("127.0.0.1", 0, config)
    settings = Settings(
        database_url=migrated_url,
        api_base_url=emu.base_url,
        bot_token=SecretStr("7000000001:leaders-test-token"),
        pseudonym_secret=SecretStr("leaders-test-secret"),
        default_language="en",
        default_timezone=daytime_zone(),
        organisation=ORGANISATION,
        rate_per_chat=1000.0,
        rate_per_second=1000.0,
        flood_messages=1000,
        controllable_clock=True,  # the broadcast stories move time for quiet hours
        outreach_tick_seconds=3600.0,  # and tick outreach themselves
        _env_file=None,  # type: ignore[call-arg]
    )
    app = await build_app(settings, migrate=False)
    async with app.uow() as uow:
        flow, text = read_flow(FLOWS / "co-op-homes.yaml")
        await publish(uow, flow, text, open_now=True)
        await add_community(uow, ORGANISATION, COMMUNITY, ["pl", "en"])
        await uow.commit()
    runtime = Runtime.build(app)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop, webhook=False))
    try:
        yield World(emu, app, runtime, Outreach(app, wake=runtime.sender.wake))
    finally:
        stop.set()
        await task
        await app.close()
        await emu.close()
