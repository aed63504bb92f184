"""`konsulta run --webhook --workers 3`: three workers on one port, one killed.

Telegram (here the test, as in test_workers.py) posts each update to the one webhook
address on a new connection; the kernel hands the connections to the three worker
processes bound to that port with SO_REUSEPORT. Half-way through the citizens'
consultation one worker is killed with SIGKILL; the supervising process starts it again
under the same name. Every update is handled once, every dialog ends with all its
answers, and more than one worker did the work.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import aiohttp
import pytest
from bot_world import TIMEOUT, WEBHOOK_SECRET, Konsulta, Phone, free_port
from sqlalchemy import distinct, func, select
from test_workers import ANSWERS, SECRET_HEADER, until_ready

from storage.models import Answer, InboxUpdate

CITIZENS = 8


async def deliver(world: Konsulta, url: str, stop: asyncio.Event) -> None:
    """Each queued update to the webhook on a connection of its own (as Telegram opens
    several), again until a worker answers 200."""
    state = world.emu.state
    headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        while not stop.is_set():
            if not state.updates:
                await state.wait_until(lambda: bool(state.updates), 0.2)
                continue
            update = state.updates[0]
            while True:
                try:
                    body = json.dumps(update.to_json())
                    async with http.post(url, data=body, headers=headers) as response:
                        if response.status == 200:
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.05)
            state.updates.remove(update)


def workers_of(supervisor: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


async def first_half(citizen: Phone) -> None:
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    await citizen.tap(consent, "agree")
    await citizen.expect(2)
    await citizen.answer("age", ["85_plus"])
    await citizen.answer("lives_with", ["partner"])


async def second_half(citizen: Phone) -> None:
    await citizen.send("7")
    await citizen.expect(1)
    await citizen.answer("floor", ["low"])
    await citizen.answer("stairs", ["no"])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_three_workers_on_one_port_one_killed_and_started_again(
    world: Konsulta, tmp_path: Path
) -> None:
    port = free_port()
    world.bot.start("--webhook", "--workers", "3", webhook_port=str(port), inbox_lease_seconds="3")
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    await until_ready(f"http://127.0.0.1:{port}/readyz")
    assert world.bot.process is not None
    supervisor = world.bot.process.pid
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT * 4
    while len(workers_of(supervisor)) < 3:
        assert loop.time() < deadline, world.bot.log()[-4000:]
        await asyncio.sleep(0.1)

    stop = asyncio.Event()
    delivering = asyncio.create_task(deliver(world, url, stop))
    citizens = [world.phone(8_900_000 + n, "pl", f"C{n}") for n in range(CITIZENS)]
    try:
        await asyncio.wait_for(asyncio.gather(*map(first_half, citizens)), TIMEOUT * 3)
        await world.settled(TIMEOUT * 2)
        killed = workers_of(supervisor)[1]
        subprocess.run(["kill", "-9", str(killed)], check=True)
        while len(set(workers_of(supervisor)) - {killed}) < 3:  # started again
            assert loop.time() < deadline + TIMEOUT * 4, world.bot.log()[-4000:]
            await asyncio.sleep(0.1)
        await asyncio.wait_for(asyncio.gather(*map(second_half, citizens)), TIMEOUT * 3)
        await world.settled(TIMEOUT * 2)
    finally:
        stop.set()
        await delivering
    assert await world.bot.stop() == 0
    assert workers_of(supervisor) == []  # SIGTERM reached every worker
    assert "worker 1 exited with -9; starting it again" in world.bot.log()

    async with world.engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(InboxUpdate))
        unhandled = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.handled_at.is_(None))
        )
        workers = await connection.scalar(select(func.count(distinct(InboxUpdate.claimed_by))))
        answers = await connection.scalar(select(func.count()).select_from(Answer))
    assert stored == CITIZENS * 7 and unhandled == 0
    assert workers is not None and workers >= 2
    assert answers == CITIZENS * len(ANSWERS)
    assert len({len(citizen.messages()) for citizen in citizens}) == 1  # none told twice
