"""Benchmark of a public results page on SQLite: 1,000,000 answers.

    .venv/bin/python -m bench.public_page [--answers 1000000] [--repeat 200] [--readers 100]
        [--database PATH]

Seeds a fresh SQLite file (bulk inserts, as bench/broadcast.py does) with the
dashboard benchmark's 12-question flow (bench/dashboard.py), finished runs of 11
answers each until `--answers`, publishes its ten publishable questions, and measures
through the real ASGI app (httpx with ASGITransport, no network):

- a baseline in the same run: a trivial static route (`/static/dashboard.css`);
- the public page cold (both caches emptied before each view: the full recount);
- the public page from the cache (`--repeat` views): median, p99, SQL statements;
- `--readers` readers arriving at once on a cold cache: wall time and how many
  counts they caused (the public cache computes a missing page once).

Prints the figures and the ratios of the page's times to the baseline; nothing is
asserted (a timed assertion would fail on a busy machine, not on slow code).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import event, func, insert, select

from bench.dashboard import FLOW, SLUG, STEPS, answer_value
from dialogs.loader import load_flow_text
from konsulta.bootstrap import App, build_app
from konsulta.public_results import PUBLIC_KINDS
from konsulta.publishing import publish
from konsulta.settings import Settings
from review.web import create_web_app
from storage.models import Answer, Citizen, Run, RunStatus

BATCH = 20_000  # runs per transaction
ANSWERED = [step for step in STEPS if step != "idea"]  # 11 answers a run
LANGUAGES = ("pl", "en", "uk")


async def seed(app: App, consultation_id: int, version_id: int, answers: int) -> int:
    """Finished runs of 11 answers each until `answers`; the answers inserted."""
    runs = -(-answers // len(ANSWERED))
    rng = random.Random(17)
    now = datetime.now(UTC)
    inserted = 0
    for start in range(0, runs, BATCH):
        numbers = range(start, min(runs, start + BATCH))
        async with app.engine.begin() as connection:
            await connection.execute(
                insert(Citizen),
                [
                    {
                        "id": n + 1,
                        "participant_id": f"public{n:09d}",
                        "language": LANGUAGES[n % 3],
                        "timezone": "Europe/Warsaw",
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for n in numbers
                ],
            )
            await connection.execute(
                insert(Run),
                [
                    {
                        "id": n + 1,
                        "citizen_id": n + 1,
                        "consultation_id": consultation_id,
                        "flow_version_id": version_id,
                        "state": {},
                        "status": RunStatus.COMPLETED,
                        "language": LANGUAGES[n % 3],
                        "source": "bench",
                        "started_at": now - timedelta(minutes=n % 5000),
                        "updated_at": now,
                        "completed_at": now - timedelta(minutes=n % 5000),
                    }
                    for n in numbers
                ],
            )
            rows = [
                {
                    "run_id": n + 1,
                    "step_id": step,
                    "value": answer_value(step, rng),
                    "display_text": None,
                    "skipped": False,
                    "answered_at": now - timedelta(minutes=n % 5000),
                }
                for n in numbers
                for step in ANSWERED
            ]
            await connection.execute(insert(Answer), rows)
            inserted += len(rows)
        print(f"  seeded {inserted:,} answers", flush=True)
    return inserted


class Statements:
    """Counts the SQL statements run (a SQLAlchemy event)."""

    def __init__(self, app: App) -> None:
        self.seen = 0

        def note(*_args: Any) -> None:
            self.seen += 1

        event.listen(app.engine.sync_engine, "before_cursor_execute", note)

    def take(self) -> int:
        seen, self.seen = self.seen, 0
        return seen


async def timed(client: httpx.AsyncClient, url: str) -> float:
    began = time.perf_counter()
    response = await client.get(url)
    took = time.perf_counter() - began
    assert response.status_code == 200, (url, response.status_code)
    return took


def ms(seconds: float) -> str:
    return f"{1000 * seconds:,.1f} ms"


def p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def main(answers: int, repeat: int, readers: int, database: Path) -> None:
    database.unlink(missing_ok=True)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        pseudonym_secret=SecretStr("bench"),
        web_secure_cookies=False,
        web_stats_max_age_seconds=60,
    )
    app = await build_app(settings)
    flow = load_flow_text(FLOW, "bench")
    async with app.uow() as uow:
        await publish(uow, flow, FLOW, open_now=True)
        consultation = await uow.consultations.get_by_slug(SLUG)
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        consultation.public_since = datetime.now(UTC)
        consultation.public_steps = [s.id for s in flow.questions if s.kind.value in PUBLIC_KINDS]
        consultation_id, version_id = consultation.id, version.id
        await uow.commit()
    began = time.perf_counter()
    print(f"seeding {database} ...", flush=True)
    inserted = await seed(app, consultation_id, version_id, answers)
    async with app.engine.connect() as connection:
        runs = (await connection.execute(select(func.count()).select_from(Run))).scalar_one()
    took = time.perf_counter() - began
    print(f"seeded {runs:,} finished runs, {inserted:,} answers in {took:.0f} s")

    web = create_web_app(app)
    board = web.state.dashboard
    statements = Statements(app)
    page = f"/public/{SLUG}"
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await timed(client, "/static/dashboard.css")  # warm imports and templates
            baseline = [await timed(client, "/static/dashboard.css") for _ in range(repeat)]

            cold: list[float] = []
            cold_queries = 0
            for _ in range(3):
                board.public.clear()
                board.stats.clear()
                statements.take()
                cold.append(await timed(client, page))
                cold_queries = statements.take()

            cached = [await timed(client, page) for _ in range(repeat)]
            cached_queries = statements.take()
            widget = [await timed(client, f"{page}/embed?lang=pl") for _ in range(repeat)]
            statements.take()

            board.public.clear()
            burst_began = time.perf_counter()
            await asyncio.gather(*(timed(client, page) for _ in range(readers)))
            burst = time.perf_counter() - burst_began
            burst_queries = statements.take()
    finally:
        await board.close()
        await app.close()

    base = statistics.median(baseline)
    print()
    print(f"public page of {inserted:,} answers ({runs:,} finished runs), SQLite")
    print(f"{'what':44} {'median':>11} {'p99':>11} {'SQL':>5} {'x baseline':>11}")
    rows = [
        ("baseline: static route", baseline, 0),
        ("page, cold (everything recounted)", cold, cold_queries),
        ("page from cache", cached, cached_queries // repeat),
        ("widget in Polish from cache", widget, 0),
    ]
    for label, times, queries in rows:
        median = statistics.median(times)
        print(
            f"{label:44} {ms(median):>11} {ms(p99(times)):>11} {queries:>5} {median / base:>10.1f}x"
        )
    print(
        f"{readers} readers at once on a cold cache: {ms(burst)} for all, "
        f"{burst_queries} SQL statements (one cold view: {cold_queries})"
    )


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--database", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.database is not None:
        asyncio.run(main(args.answers, args.repeat, args.readers, args.database))
        return
    with tempfile.TemporaryDirectory(prefix="konsulta-public-") as folder:  # 130 MB
        asyncio.run(main(args.answers, args.repeat, args.readers, Path(folder) / "bench.db"))


if __name__ == "__main__":
    run()
