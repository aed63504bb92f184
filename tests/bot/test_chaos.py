"""Twenty-five citizens answer as fast as they can while everything goes wrong at once.

The real bot process polls the emulator through a TCP proxy. While the citizens
answer, the line is cut for 30 seconds (open connections reset, new ones never
answered), the emulator answers 429 to a random 5% of sends on top of Telegram's real
limits, and the bot is killed with SIGKILL once and started again. Afterwards, read
from the emulator's own chats: every citizen saw every message once, in the order
the dialog asked it, and finished; no outbox row failed (bot/telegram/sender.py,
invariants 1, 2 and 4). A message the kill caught mid-call may be lost (invariant 3's
window): that citizen sends /start again, as a person left waiting would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_world import TIMEOUT, BotProcess, Konsulta, Phone, bot_env, emulator_config, konsulta
from sqlalchemy import func, select
from tcp_proxy import TcpProxy

from bot.telegram.sender import IN_DOUBT
from emulator import Emulator, start_emulator
from storage.engine import create_engine
from storage.models import Answer, OutboxMessage, OutboxStatus, Run

FLOW = Path(__file__).parent / "flows" / "chaos.yaml"
CITIZENS = 25
OUTAGE = 30.0
#: The whole story may take this long on a loaded two-core machine (about 70 s on a
#: quiet one: the random 429s halve the bot's rate each time, as a real one must).
STORY = 360.0
#: How long a citizen waits for the next message before looking whether it was lost.
PATIENCE = 20.0

#: What each citizen does on seeing a message containing the text (tap a key or type).
REPLIES = {
    "Zapisujemy": ("tap", "agree"),
    "Co jest zepsute?": ("tap", "lighting"),
    "W której dzielnicy?": ("tap", "north"),
    "Od ilu lat": ("type", "7"),
    "Czy ktoś ma przyjść": ("tap", "yes"),
    "Co jeszcze": ("type", "Dziura w chodniku"),
}
END = "Dziękujemy, to wszystko."


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    config = emulator_config(rate_limits=True)  # Telegram's real limits
    config.rate_limits.injected_429_share = 0.05
    emu = await start_emulator("127.0.0.1", 0, config)
    try:
        yield emu
    finally:
        await emu.close()


@pytest.fixture
async def proxy(emulator: Emulator) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(int(emulator.base_url.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture
async def world(emulator: Emulator, proxy: TcpProxy, tmp_path: Path) -> AsyncIterator[Konsulta]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chaos.db'}"
    # Telegram's pace (30/s, about 1/s per chat), not the fast tests' 1000/s.
    env = bot_env(proxy.url, url, rate_per_second="30", rate_per_chat="1")
    done = await asyncio.to_thread(konsulta, "flows", "publish", str(FLOW), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    bot = BotProcess(tmp_path, env)
    try:
        yield Konsulta(emulator, url, bot, engine)
    finally:
        if bot.running:
            await bot.stop()
        await engine.dispose()
        print(f"--- the bot's log ---\n{bot.log()[-8000:]}")


async def play(world: Konsulta, phone: Phone) -> None:
    """Answer each question the moment it appears, until the dialog ends.

    A message whose Bot API call was under way when the bot was killed is taken as
    sent, and may never have reached the chat (bot/telegram/sender.py, invariant 3:
    exactly once but for the in-flight window). A citizen left waiting for it does
    what a person would: sends /start again, which asks the current question anew
    (once per lost message, so a slow answer is never asked for twice)."""
    await phone.send("/start chaos")
    asked_again: set[int] = set()
    while True:
        try:
            [message] = await phone.expect(1, timeout=PATIENCE)
        except TimeoutError:
            lost = await lost_in_doubt(world, phone.user_id)
            if lost is not None and lost not in asked_again:
                asked_again.add(lost)
                await phone.send("/start chaos")
            continue
        text = message.text or ""
        if END in text:
            return
        for marker, (action, value) in REPLIES.items():
            if marker in text:
                if action == "tap":
                    await phone.tap(message, value)
                else:
                    await phone.send(value)


async def lost_in_doubt(world: Konsulta, chat_id: int) -> int | None:
    """The id of the chat's last message if it was taken as sent in doubt and nothing
    is queued after it (else None)."""
    last = (
        select(OutboxMessage.id, OutboxMessage.last_error)
        .where(OutboxMessage.chat_id == chat_id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    async with world.engine.connect() as connection:
        row = (await connection.execute(last)).first()
    return row.id if row is not None and row.last_error == IN_DOUBT else None


async def havoc(world: Konsulta, proxy: TcpProxy) -> None:
    await asyncio.sleep(1.0)
    proxy.cut()
    await asyncio.sleep(OUTAGE)
    proxy.restore()
    await asyncio.sleep(2.0)  # the backlog is flowing
    assert await world.bot.kill() == -9
    world.bot.start()


async def count(world: Konsulta, query: object) -> int:
    async with world.engine.connect() as connection:
        return int(await connection.scalar(query) or 0)  # type: ignore[call-overload]


async def test_fast_citizens_through_an_outage_429s_and_a_kill_9(
    world: Konsulta, proxy: TcpProxy
) -> None:
    phones = [world.phone(8_800_000 + n, "pl", f"Osoba {n}") for n in range(CITIZENS)]
    world.bot.start()
    await asyncio.wait_for(
        asyncio.gather(havoc(world, proxy), *(play(world, phone) for phone in phones)), STORY
    )
    await world.settled(timeout=TIMEOUT)

    # By the emulator's own chats: each citizen saw each message once, in order.
    transcripts = [phone.texts() for phone in phones]
    first = transcripts[0]
    markers = [*REPLIES, END]
    seen = [marker for text in first for marker in markers if marker in text]
    assert seen == markers, first
    for phone, transcript in zip(phones, transcripts, strict=True):
        assert transcript == first, (phone.user_id, transcript)

    # Nothing given up, every dialog finished and stored once.
    failed = select(func.count()).select_from(OutboxMessage)
    failed = failed.where(OutboxMessage.status == OutboxStatus.FAILED)
    assert await count(world, failed) == 0
    finished = select(func.count()).select_from(Run).where(Run.completed_at.is_not(None))
    assert await count(world, finished) == CITIZENS
    assert await count(world, select(func.count()).select_from(Answer)) == CITIZENS * 5
    # The faults did happen.
    assert world.emu.stats.too_many_requests > 0
    assert world.bot.starts == 2
    await world.bot.stop()
