"""The updates benchmark runs end to end with a tiny load (its figures are not checked:
speed belongs in bench/, not in assertions)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from bot_world import REPO

POSTGRES_ENV = "KONSULTA_TEST_POSTGRES_URL"


def test_the_updates_benchmark_runs_with_a_tiny_load() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "updates.py"),
            *("--citizens", "3", "--seconds", "1", "--backend", "sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "aiogram + MemoryStorage" in done.stdout
    assert "Konsulta on SQLite" in done.stdout
    assert "all committed" in done.stdout


def test_the_updates_benchmark_runs_with_each_bot_in_its_own_process() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "updates.py"),
            *("--bot-process", "--citizens", "3", "--seconds", "1", "--backend", "sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "each bot its own process" in done.stdout
    assert done.stdout.count("CPU per update: bot") == 2
    assert "all committed" in done.stdout


def test_the_updates_benchmark_reports_postgresqls_side_per_update() -> None:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+asyncpg://...)")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "updates.py"),
            *("--bot-process", "--citizens", "3", "--seconds", "1", "--backend", "postgresql"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=REPO,
        env={**os.environ, POSTGRES_ENV: server},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Konsulta on PostgreSQL" in done.stdout
    assert "(bot + PostgreSQL" in done.stdout
    assert "WAL bytes" in done.stdout
    assert "commits" in done.stdout
    assert "times the baseline bot's" in done.stdout
    assert "all committed" in done.stdout


def test_the_big_database_benchmark_runs_with_a_small_database() -> None:
    """Four bot processes (a dialog on each database, a broadcast on each): about 40 s."""
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "bench.big_database", "--backend", "sqlite"),
            *("--citizens-in-db", "2000", "--small", "200", "--citizens", "5"),
            *("--seconds", "1", "--rounds", "1", "--broadcast-seconds", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2,000 citizens, 2,000 runs" in done.stdout
    assert "big / empty, mean of 1 round(s): bot CPU" in done.stdout
    assert done.stdout.count("all committed") == 2
    assert "ERRORS" not in done.stdout
    assert "big / small: bot peak memory" in done.stdout
    assert "NOT all written" not in done.stdout
