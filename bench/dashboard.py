"""Benchmark of the staff dashboard on PostgreSQL: 100,000 runs, 1,000,000 answers.

    .venv/bin/python bench/dashboard.py [--url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
        [--runs 100000] [--small 1000] [--repeat 5]

Creates a fresh database `konsulta_bench_dashboard` on the server, seeds it with COPY
(asyncpg `copy_records_to_table`), first `--small` runs and then the rest, and at
both sizes measures, through the real ASGI app (httpx, logged in as staff):

- the consultation page (all charts, counts, drop-off): wall time and the number of
  SQL statements it ran (counted with a SQLAlchemy `before_cursor_execute` event),
  and the slowest statements;
- the same page with a cross-tab filter;
- a full CSV export streamed through `review.export.stream_export`: rows/s, and the
  peak of Python memory (tracemalloc) in a second, traced, run.

The goal: page < 300 ms, the same number of queries at both sizes, export memory
flat (about the same peak at both sizes). Prints a small table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.loader import load_flow_text
from konsulta.bootstrap import App, build_app
from konsulta.publishing import publish
from konsulta.settings import Settings
from review.export import stream_export
from review.security import hash_password
from review.stats_cache import StatsCache
from review.web import create_web_app
from storage.engine import create_engine, normalise_url
from storage.migrate import upgrade

DATABASE = "konsulta_bench_dashboard"
SLUG = "bench-survey"
EMAIL = "bench@example.org"
PASSWORD = "bench password 123"

FLOW = (
    """
id: bench-survey
version: 1
title: {en: "Benchmark survey", pl: "Ankieta testowa", uk: "Опитування"}
organisation: Bench Town
languages: [pl, en, uk]
default_language: en
consent: {en: "We keep your answers under a code.", pl: "Zgoda.", uk: "Згода."}
steps:
"""
    + "".join(
        f"""  - id: {step}
    kind: {kind}
    text: {{en: "Question {step}?", pl: "Pytanie {step}?", uk: "Питання {step}?"}}
{extra}"""
        for step, kind, extra in [
            (
                "district",
                "single_choice",
                "    options:\n"
                + "".join(
                    f"      - {{key: d{i}, label: {{en: D{i}, pl: D{i}, uk: D{i}}}}}\n"
                    for i in range(8)
                ),
            ),
            ("age", "number", "    min: 10\n    max: 110\n"),
            ("rating", "scale", "    min: 1\n    max: 5\n"),
            (
                "needs",
                "multiple_choice",
                "    options:\n"
                + "".join(
                    f"      - {{key: n{i}, label: {{en: N{i}, pl: N{i}, uk: N{i}}}}}\n"
                    for i in range(6)
                ),
            ),
            ("stairs", "yes_no", ""),
            (
                "transport",
                "single_choice",
                "    options:\n"
                + "".join(
                    f"      - {{key: t{i}, label: {{en: T{i}, pl: T{i}, uk: T{i}}}}}\n"
                    for i in range(4)
                ),
            ),
            ("safety", "scale", "    min: 1\n    max: 10\n"),
            (
                "services",
                "multiple_choice",
                "    options:\n"
                + "".join(
                    f"      - {{key: s{i}, label: {{en: S{i}, pl: S{i}, uk: S{i}}}}}\n"
                    for i in range(5)
                ),
            ),
            ("helper", "yes_no", ""),
            ("bus", "yes_no", ""),
            (
                "channel",
                "single_choice",
                "    options:\n"
                + "".join(
                    f"      - {{key: c{i}, label: {{en: C{i}, pl: C{i}, uk: C{i}}}}}\n"
                    for i in range(3)
                ),
            ),
            ("idea", "text", "    required: false\n"),
        ]
    )
    + """ends:
  - text: {en: "Thank you!", pl: "Dziękujemy!", uk: "Дякуємо!"}
"""
)

WORDS = [
    "bench",
    "park",
    "bus",
    "stop",
    "light",
    "pavement",
    "clinic",
    "library",
    "shop",
    "noise",
    "bins",
    "trees",
]


def answer_value(step: str, rng: random.Random) -> Any:
    if step == "district":
        return f"d{rng.randrange(8)}"
    if step == "age":
        return rng.randint(14, 95)
    if step == "rating":
        return rng.randint(1, 5)
    if step == "needs":
        return sorted(rng.sample([f"n{i}" for i in range(6)], rng.randint(1, 3)))
    if step == "channel":
        return f"c{rng.randrange(3)}"
    if step in ("stairs", "helper", "bus"):
        return rng.random() < 0.4
    if step == "transport":
        return f"t{rng.randrange(4)}"
    if step == "safety":
        return rng.randint(1, 10)
    if step == "services":
        return sorted(rng.sample([f"s{i}" for i in range(5)], rng.randint(1, 2)))
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))


STEPS = [
    "district",
    "age",
    "rating",
    "needs",
    "stairs",
    "transport",
    "safety",
    "services",
    "helper",
    "bus",
    "channel",
    "idea",
]


async def _count_answers(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM answers"))).scalar_one())


async def seed(dsn: str, consultation_id: int, version_id: int, first: int, count: int) -> None:
    """Citizens, consent, runs and answers with ids first..first+count-1, by COPY."""
    rng = random.Random(first)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    citizens, consents, runs, answers = [], [], [], []
    answer_id = first * 20  # room for every run's answers (at most 12)
    for n in range(first, first + count):
        started = start + timedelta(minutes=rng.randrange(60 * 24 * 80))
        language = rng.choice(["pl", "pl", "pl", "en", "uk"])
        completed = rng.random() < 0.8
        answered = len(STEPS) if completed else rng.randrange(len(STEPS))
        citizens.append(
            (
                n,
                f"p-bench{n:010d}",
                language,
                "Europe/Warsaw",
                False,
                False,
                False,
                False,
                started,
                started,
            )
        )
        consents.append((n, n, consultation_id, "participation", "bench", True, started))
        runs.append(
            (
                n,
                n,
                consultation_id,
                version_id,
                "{}",
                "completed" if completed else "started",
                language,
                "telegram",
                rng.choice([None, 1, 2, 3, 4, 5]),
                started,
                started,
                started + timedelta(minutes=5) if completed else None,
                None,
                n,
            )
        )
        for index, step in enumerate(STEPS[:answered]):
            value = answer_value(step, rng)
            answers.append(
                (
                    answer_id,
                    n,
                    step,
                    json.dumps(value),
                    str(value),
                    False,
                    started + timedelta(seconds=20 * index),
                )
            )
            answer_id += 1
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "citizens",
            records=citizens,
            columns=[
                "id",
                "participant_id",
                "language",
                "timezone",
                "stopped",
                "unreachable",
                "no_reminders",
                "named_consent",
                "created_at",
                "last_seen_at",
            ],
        )
        await connection.copy_records_to_table(
            "consent_records",
            records=consents,
            columns=[
                "id",
                "citizen_id",
                "consultation_id",
                "purpose",
                "text_version",
                "granted",
                "created_at",
            ],
        )
        await connection.copy_records_to_table(
            "runs",
            records=runs,
            columns=[
                "id",
                "citizen_id",
                "consultation_id",
                "flow_version_id",
                "state",
                "status",
                "language",
                "source",
                "community_id",
                "started_at",
                "updated_at",
                "completed_at",
                "parent_run_id",
                "consent_record_id",
            ],
        )
        await connection.copy_records_to_table(
            "answers",
            records=answers,
            columns=["id", "run_id", "step_id", "value", "display_text", "skipped", "answered_at"],
        )
        for table in ("citizens", "consent_records", "runs", "answers"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


class QueryLog:
    def __init__(self) -> None:
        self.statements: list[tuple[str, float]] = []
        self._started: list[float] = []

    def attach(self, app: App) -> None:
        sync = app.engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def before(*_args: Any) -> None:
            self._started.append(time.perf_counter())

        @event.listens_for(sync, "after_cursor_execute")
        def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            took = time.perf_counter() - self._started.pop()
            self.statements.append((" ".join(statement.split())[:90], took))

    def take(self) -> list[tuple[str, float]]:
        found, self.statements = self.statements, []
        return found


async def measure_page(
    client: httpx.AsyncClient, log: QueryLog, url: str, repeat: int
) -> dict[str, Any]:
    times: list[float] = []
    queries: list[tuple[str, float]] = []
    for _ in range(repeat):
        log.take()
        began = time.perf_counter()
        response = await client.get(url)
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
        queries = log.take()
    return {
        "median_ms": 1000 * statistics.median(times),
        "min_ms": 1000 * min(times),
        "queries": len(queries),
        "slowest": sorted(queries, key=lambda q: -q[1])[:4],
    }


async def measure_export(app: App, traced: bool) -> dict[str, float]:
    if traced:
        tracemalloc.start()
    rows = 0
    size = 0
    began = time.perf_counter()
    async with app.uow() as uow:
        async for chunk in stream_export(uow, app.flows, SLUG, "csv"):
            size += len(chunk)
            rows += chunk.count(b"\n")
    took = time.perf_counter() - began
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "rows": rows - 1,
        "seconds": took,
        "rows_per_s": (rows - 1) / took,
        "mb": size / 1e6,
        "peak_mb": peak / 1e6,
    }


async def login(client: httpx.AsyncClient) -> None:
    import re

    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = await client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, response.text


async def main(url: str, total: int, small: int, repeat: int) -> None:
    server = normalise_url(url)
    admin = create_engine(server.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    await admin.dispose()
    db_url = server.set(database=DATABASE).render_as_string(hide_password=False)
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    await upgrade(db_url)
    settings = Settings(
        database_url=db_url, web_secure_cookies=False, pseudonym_secret=SecretStr("bench")
    )
    app = await build_app(settings, migrate=False)
    flow = load_flow_text(FLOW, "bench")
    async with app.uow() as uow:
        await publish(uow, flow, FLOW, open_now=True)
        consultation = await uow.consultations.get_by_slug(SLUG)
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        await uow.staff.create(
            EMAIL, hash_password(PASSWORD), "staff", consultation.organisation_id, "en"
        )
        await uow.commit()
    log = QueryLog()
    log.attach(app)
    # Recounting answers on every view (cold) and with the 30-second stats cache (warm).
    cold_app = create_web_app(app)
    cold_app.state.dashboard.stats = StatsCache(0)
    web = create_web_app(app)
    web.state.dashboard.stats = StatsCache(30)
    results: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, float], dict[str, float]]]
    results = []
    cold: list[dict[str, Any]] = []
    seeded = 0
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://b") as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=cold_app), base_url="http://b"
        ) as cold_client,
    ):
        await login(client)
        await login(cold_client)
        for target in (small, total):
            began = time.perf_counter()
            await seed(dsn, consultation.id, version.id, seeded + 1, target - seeded)
            seeded = target
            async with app.uow() as uow:
                answers = await uow.read(_count_answers)
            print(
                f"seeded {seeded:,} runs, {answers:,} answers in "
                f"{time.perf_counter() - began:.1f} s",
                flush=True,
            )
            cold.append(await measure_page(cold_client, log, f"/consultations/{SLUG}", repeat))
            await web.state.dashboard.stats.close()
            web.state.dashboard.stats = StatsCache(600)  # no recount while measuring
            await client.get(f"/consultations/{SLUG}")  # fills the cache
            page = await measure_page(client, log, f"/consultations/{SLUG}", repeat)
            await client.get(
                f"/consultations/{SLUG}?answer=district:d3&language=pl&since=2026-09-15"
            )
            filtered = await measure_page(
                client,
                log,
                f"/consultations/{SLUG}?answer=district:d3&language=pl&since=2026-09-15",
                repeat,
            )
            export = await measure_export(app, traced=False)
            traced = await measure_export(app, traced=True)
            results.append((seeded, page, filtered, export, traced))
    await web.state.dashboard.close()
    await cold_app.state.dashboard.close()
    await app.close()

    print()
    print(
        "| runs | answers | page, charts cached | queries | filtered page, cached "
        "| page, everything recounted | queries | CSV export | export peak memory |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (seeded, page, filtered, export, traced), recount in zip(results, cold, strict=True):
        print(
            f"| {seeded:,} | {seeded * 10.7:,.0f} | {page['median_ms']:.0f} ms | "
            f"{page['queries']} | {filtered['median_ms']:.0f} ms | "
            f"{recount['median_ms']:.0f} ms | {recount['queries']} | "
            f"{export['rows_per_s']:,.0f} runs/s ({export['mb']:.0f} MB) | "
            f"{traced['peak_mb']:.1f} MB |"
        )
    print()
    print("slowest statements when everything is recounted, at the largest size:")
    for statement, took in cold[-1]["slowest"]:
        print(f"  {1000 * took:7.1f} ms  {statement}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.url, options.runs, options.small, options.repeat))
