"""A leader helps a neighbour who cannot read the screen: "🔊 Listen" under the
neighbour's consent turns reading aloud on for the neighbour (not for the leader), and
the leader's phone reads each question to them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from database_checks import session_of
from in_process import bot_in_process
from leader_world import COMMUNITY, FLOWS, ORGANISATION, World, daytime_zone
from sqlalchemy import select

from konsulta.leaders.service import add_community
from konsulta.publishing import read_flow
from outreach.scheduler import Outreach
from storage.models import Citizen

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


@pytest.fixture
async def world(migrated_url: str) -> AsyncIterator[World]:
    async with bot_in_process(
        migrated_url,
        [read_flow(FLOWS / "co-op-homes.yaml")],
        name="leaders",
        default_language="en",
        default_timezone=daytime_zone(),
        organisation=ORGANISATION,
        tts="espeak",
    ) as bot:
        async with bot.app.uow() as uow:
            await add_community(uow, ORGANISATION, COMMUNITY, ["pl", "en"])
            await uow.commit()
        yield World(bot.emu, bot.app, bot.runtime, Outreach(bot.app, wake=bot.runtime.sender.wake))


async def test_a_leader_turns_on_listening_for_the_neighbour_they_help(world: World) -> None:
    leader = await world.make_leader(1001)
    await leader.send("/assist")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    _intro, consent = await leader.expect(2)
    await leader.tap(consent, "🔊 Listen")
    notice, notice_voice, consent_voice = await leader.expect(3)
    assert "/voice off" in (notice.text or "")
    assert [notice_voice.kind, consent_voice.kind] == ["voice", "voice"]
    await leader.tap(consent, "Yes")
    welcome, welcome_voice, age, age_voice = await leader.expect(4)
    assert [m.kind for m in (welcome, welcome_voice, age, age_voice)] == [
        "text",
        "voice",
        "text",
        "voice",
    ]

    async with world.app.uow() as uow:
        citizens = (await session_of(uow).execute(select(Citizen))).scalars().all()
    listening = {c.assisted_by is not None: c.read_aloud for c in citizens}
    assert listening == {True: True, False: False}  # the neighbour listens, the leader not
