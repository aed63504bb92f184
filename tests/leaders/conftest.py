"""Fixtures of the leader stories; what they are made of is in `leader_world`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from in_process import bot_in_process
from leader_world import COMMUNITY, FLOWS, ORGANISATION, World, daytime_zone

from konsulta.leaders.service import add_community
from konsulta.publishing import read_flow
from outreach.scheduler import Outreach


@pytest.fixture
async def world(migrated_url: str) -> AsyncIterator[World]:
    async with bot_in_process(
        migrated_url,
        [read_flow(FLOWS / "co-op-homes.yaml")],
        name="leaders",
        default_language="en",
        default_timezone=daytime_zone(),
        organisation=ORGANISATION,
        controllable_clock=True,  # the broadcast stories move time for quiet hours
        outreach_tick_seconds=3600.0,  # and tick outreach themselves
    ) as bot:
        async with bot.app.uow() as uow:
            await add_community(uow, ORGANISATION, COMMUNITY, ["pl", "en"])
            await uow.commit()
        yield World(
            bot.emu,
            bot.app,
            bot.runtime,
            Outreach(bot.app, wake=bot.runtime.sender.wake),
        )
