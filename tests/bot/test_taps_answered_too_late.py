"""Telegram refuses to answer a button tap after about 15 seconds ("query is too old");
after an outage or under load that is normal, not an error. Here the emulator refuses
every answer as too old, and the citizen's dialog goes on as if nothing happened: no
error in the bot's log, no update retried, no outbox row failed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bot_world import Konsulta, emulator_config
from sqlalchemy import func, select

from emulator import Emulator, start_emulator
from storage.models import InboxUpdate, OutboxMessage, OutboxStatus


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    config = emulator_config()
    config.callback_answer_seconds = 0.0  # every answer comes too late
    emu = await start_emulator("127.0.0.1", 0, config)
    try:
        yield emu
    finally:
        await emu.close()


async def test_taps_answered_too_late_are_shrugged_off(sqlite_world: Konsulta) -> None:
    world = sqlite_world
    citizen = world.phone(7_330_001, "pl", "Halina")
    world.bot.start()
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    await citizen.tap(consent, "agree")
    _welcome, _age = await citizen.expect(2)
    [lives_with] = await citizen.answer("age", ["85_plus"])
    assert "mieszka" in (lives_with.text or "").lower(), citizen.texts()
    await world.settled()

    async with world.engine.connect() as connection:
        failed = await connection.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.FAILED)
        )
        errors = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.error.is_not(None))
        )
    assert (failed, errors) == (0, 0)
    assert not any(answer.answered for answer in world.emu.state.callback_queries.values())
    await world.bot.stop()
    world.bot.assert_healthy()
