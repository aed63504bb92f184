"""Two webhook workers on one PostgreSQL, one killed with SIGKILL and restarted under
load: every update handled exactly once, every dialog finished, nothing said twice.

The test plays Telegram and the load balancer in front of the workers: the emulator
keeps the citizens' updates (no webhook is registered with it) and a deliverer POSTs
each to one of the two workers in turn, with the secret header, and to the other one
when a worker does not answer 200 (as Telegram retries). Worker B's sender is halted
by the test hook before B is killed, so no message is in flight at the kill (a message
in flight is taken as sent, see docs/outreach.md, and its citizen would wait forever).
While B is down its updates' lease runs out and A takes them over; B then comes back
under the same name. Also checked on the way: the health server's /healthz, /readyz
and /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import aiohttp
import pytest
from bot_world import TIMEOUT, WEBHOOK_SECRET, BotProcess, Konsulta, Phone, free_port
from sqlalchemy import func, select

from storage.models import Answer, InboxUpdate

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CITIZENS = 16
ANSWERS = {
    "age": "85_plus",
    "lives_with": "partner",
    "years_here": 7,
    "floor": "low",
    "stairs": False,
}


class LoadBalancer:
    """Delivers the emulator's queued updates to the workers' webhooks, round robin,
    failing over to the next worker until one answers 200."""

    def __init__(self, world: Konsulta, ports: list[int]) -> None:
        self.world = world
        self.urls = [f"http://127.0.0.1:{port}/telegram/webhook" for port in ports]
        self.turn = 0
        self.delivered: list[int] = []
        self.failovers = 0

    async def run(self, stop: asyncio.Event) -> None:
        state = self.world.emu.state
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set():
                if not state.updates:
                    await state.wait_until(lambda: bool(state.updates), 0.2)
                    continue
                update = state.updates[0]
                body = json.dumps(update.to_json())
                while not await self._post(http, body):
                    self.failovers += 1
                    await asyncio.sleep(0.05)
                state.updates.remove(update)
                self.delivered.append(update.update_id)

    async def _post(self, http: aiohttp.ClientSession, body: str) -> bool:
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
        try:
            async with http.post(url, data=body, headers=headers) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


async def play(citizen: Phone) -> None:
    """A whole consultation, each answer given once the bot asked for it."""
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    await citizen.tap(consent, "agree")
    await citizen.expect(2)
    await citizen.answer("age", ["85_plus"])
    await citizen.answer("lives_with", ["partner"])
    await citizen.send("7")
    await citizen.expect(1)
    await citizen.answer("floor", ["low"])
    await citizen.answer("stairs", ["no"])


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def until_ready(url: str) -> None:
    """A bot process starting on a loaded machine takes a while (imports, migrations)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT * 4
    said = "no answer"
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            status, said = await get(url)
            if status == 200:
                return
        assert loop.time() < deadline, f"{url} never ready: {said}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_workers_one_killed_and_restarted_handle_every_update_once(
    world: Konsulta, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    health = [free_port(), free_port()]
    a = world.bot
    b_dir = tmp_path / "worker-b"
    b_dir.mkdir()
    b = BotProcess(b_dir, world.bot.env)
    common = {"inbox_lease_seconds": "3", "send_lease_seconds": "2", "sender_processes": "2"}
    a.start("--webhook", webhook_port=str(ports[0]), health_port=str(health[0]), **common)
    halt_file = tmp_path / "b.halted"
    b.start(
        "--webhook",
        webhook_port=str(ports[1]),
        health_port=str(health[1]),
        sender_halt_after="12",
        sender_halt_file=str(halt_file),
        **common,
    )
    background: list[asyncio.Task[None]] = []
    try:
        for port in (*health, *ports):
            await until_ready(f"http://127.0.0.1:{port}/readyz")
        for port in health:
            assert await get(f"http://127.0.0.1:{port}/healthz") == (200, "ok")

        balancer = LoadBalancer(world, ports)
        stop = asyncio.Event()
        delivering = asyncio.create_task(balancer.run(stop))
        citizens = [world.phone(8_800_000 + n, "pl", f"C{n}") for n in range(CITIZENS)]
        playing = [asyncio.create_task(play(citizen)) for citizen in citizens]
        background += [delivering, *playing]

        # B's sender stops after a dozen messages (nothing in flight), then B is
        # killed while the citizens go on; B's updates go to A meanwhile, and those
        # B had not handled are taken over by A when their lease (3 s) runs out.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not halt_file.exists():
            assert loop.time() < deadline, b.log()[-4000:]
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # the calls under way when it halted come back
        assert await b.kill() == -9
        await asyncio.sleep(4)
        b.start("--webhook", webhook_port=str(ports[1]), health_port=str(health[1]), **common)
        await asyncio.wait_for(asyncio.gather(*playing), TIMEOUT * 3)
        await world.settled(TIMEOUT * 2)
        stop.set()
        await delivering

        status, metrics = await get(f"http://127.0.0.1:{health[0]}/metrics")
        assert status == 200
        assert "konsulta_updates_handled_total" in metrics
        assert 'konsulta_outbox_messages{status="pending"} 0.0' in metrics
        assert "konsulta_inbox_backlog 0.0" in metrics
        status, _ = await get(f"http://127.0.0.1:{ports[0]}/metrics")
        assert status == 404  # never on the public webhook endpoint
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await b.stop()
        print(f"--- worker B's log ---\n{b.log()[-8000:]}")  # on failure

    # Every update stored once and handled once, none failed.
    async with world.engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(InboxUpdate))
        unhandled = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.handled_at.is_(None))
        )
        failed = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.error.is_not(None))
        )
        answers = await connection.scalar(select(func.count()).select_from(Answer))
    assert len(set(balancer.delivered)) == len(balancer.delivered) == stored
    assert stored == CITIZENS * 7  # /start, agree, 4 taps, "7"
    assert unhandled == 0
    assert failed == 0
    assert answers == CITIZENS * len(ANSWERS)
    for citizen in citizens:
        async with world.uow() as uow:
            person = await uow.citizens.find(citizen.user_id)
            assert person is not None
            [run] = await uow.runs.list_for_citizen(person.id)
            given = {a.step_id: a.value for a in await uow.answers.list_for_run(run.id)}
        assert given == ANSWERS, citizen.texts()
    # Nobody was told anything twice: the same dialog, the same number of messages.
    assert len({len(citizen.messages()) for citizen in citizens}) == 1
    for log in (a.log(), b.log()):
        assert "query is too old" not in log
        assert "handled by another worker" not in log  # no live worker's update taken
    await a.stop()
    a.assert_healthy()
    b.assert_healthy()
