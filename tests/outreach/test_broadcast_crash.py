"""Real processes: a broadcast to 5,000 citizens survives kill -9 of the bot half-way,
and two bot processes on one PostgreSQL share a broadcast. The emulator's per-chat
counts are the truth: every citizen exactly once.

The kill lands at the worst moment for duplicates: the sender's test hook
(KONSULTA_SENDER_HALT_AFTER) stops it after 2,500 messages were accepted by the
emulator but before any of the round's results were written down, and the test
then kills the process with SIGKILL and starts a new one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.broadcast import run_broadcast
from storage.engine import create_engine
from storage.models import BroadcastDelivery, OutboxMessage

RECIPIENTS = 5000


async def _delivery_states(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(BroadcastDelivery.status, func.count()).group_by(BroadcastDelivery.status)
            )
            states = {status: int(n) for status, n in rows}
            in_doubt = await connection.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.last_error.like("in doubt%"))
            )
    finally:
        await engine.dispose()
    states["in doubt"] = int(in_doubt or 0)
    return states


async def test_a_broadcast_to_5000_citizens_killed_half_way_reaches_each_exactly_once(
    db_url: str, tmp_path: Path
) -> None:
    figures = await run_broadcast(
        tmp_path, db_url, RECIPIENTS, rate=1000.0, paid=True, crash_after=RECIPIENTS // 2
    )
    assert figures.restarts == 1 and "killed -9" in figures.notes[0], figures.notes
    assert (figures.duplicates, figures.missed, figures.sent) == (0, 0, RECIPIENTS)
    states = await _delivery_states(db_url)
    assert states["sent"] == RECIPIENTS, states
    # The rows whose sending the dead process never wrote down are the "in doubt" ones.
    assert states["in doubt"] > 0


async def test_two_bot_processes_on_postgresql_share_a_broadcast_without_doubles(
    db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several bot processes need PostgreSQL")
    assert os.environ.get("KONSULTA_TEST_POSTGRES_URL")
    figures = await run_broadcast(tmp_path, db_url, 3000, rate=1000.0, paid=True, processes=2)
    assert (figures.duplicates, figures.missed, figures.sent) == (0, 0, 3000)
    assert figures.too_many_requests == 0
    logs = [path.read_text() for path in sorted(tmp_path.glob("bot*.log"))]
    assert len(logs) == 2 and all("Traceback" not in log for log in logs)
