"""The updates benchmark runs end to end with a tiny load (its figures are not checked:
speed belongs in bench/, not in assertions)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from bot_world import REPO

POSTGRES_ENV = "KONSULTA_TEST_POSTGRES_URL"
UPDATES = str(REPO / "bench" / "updates.py")


def bench(*args: str, timeout: float = 180, env: dict[str, str] | None = None) -> str:
    """`python ARGS` run in the repository, which must succeed; what it printed."""
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_updates_benchmark_runs_with_a_tiny_load() -> None:
    out = bench(UPDATES, "--citizens", "3", "--seconds", "1", "--backend", "sqlite", timeout=120)
    assert "aiogram + MemoryStorage" in out
    assert "Konsulta on SQLite" in out
    assert "all committed" in out


def test_the_updates_benchmark_runs_with_each_bot_in_its_own_process() -> None:
    out = bench(
        UPDATES, "--bot-process", "--citizens", "3", "--seconds", "1", "--backend", "sqlite"
    )
    assert "each bot its own process" in out
    assert out.count("CPU per update: bot") == 2
    assert "all committed" in out


def test_the_updates_benchmark_reports_postgresqls_side_per_update() -> None:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+asyncpg://...)")
    out = bench(
        UPDATES,
        *("--bot-process", "--citizens", "3", "--seconds", "1", "--backend", "postgresql"),
        env={**os.environ, POSTGRES_ENV: server},
    )
    assert "Konsulta on PostgreSQL" in out
    assert "(bot + PostgreSQL" in out
    assert "WAL bytes" in out
    assert "commits" in out
    assert "times the baseline bot's" in out
    assert "all committed" in out


def test_the_big_database_benchmark_runs_with_a_small_database() -> None:
    """Four bot processes (a dialog on each database, a broadcast on each): about 40 s."""
    out = bench(
        *("-m", "bench.big_database", "--backend", "sqlite"),
        *("--citizens-in-db", "2000", "--small", "200", "--citizens", "5"),
        *("--seconds", "1", "--rounds", "1", "--broadcast-seconds", "1"),
    )
    assert "2,000 citizens, 2,000 runs" in out
    assert "big / empty, mean of 1 round(s): bot CPU" in out
    assert out.count("all committed") == 2
    assert "ERRORS" not in out
    assert "big / small: bot peak memory" in out
    assert "NOT all written" not in out
