"""Waiting until the bot has nothing left to do, for the in-process stories.

Shared by the outreach, leader and random-citizen worlds: every stored update handled,
no outbox row waiting or being sent, and no update the emulator has not delivered.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import App
from bot.emulator import Emulator
from storage.models import InboxUpdate, OutboxMessage, OutboxStatus

TIMEOUT = 20.0


async def settled(app: App, emu: Emulator, timeout: float = TIMEOUT) -> None:
    """Every update handled and every queued message out (sent or given up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with app.uow() as uow:
            unhandled = await uow.session.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.handled_at.is_(None))
            )
            queued = await uow.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                # Claimed rows stay pending with a lease, so no due_at filter here.
                .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            )
        if not unhandled and not queued and not emu.state.updates:
            return
        assert loop.time() < deadline, f"not settled: {unhandled} updates, {queued} queued"
        await asyncio.sleep(0.05)
