"""Benchmark: a broadcast to N citizens through the real bot process and the emulator.

    python -m bench.broadcast --recipients 100000 --rate 1000 --paid
    python -m bench.broadcast --recipients 3000 --rate 30

The emulator runs in this process with Telegram's limits on (1/s per chat, the
per-bot limit set to `--rate`, or the paid-broadcast limit with `--paid`); the bot is
`python -m bot run` as a child process with the same rate. N citizens are
bulk-inserted into a fresh SQLite (or `--database-url`) database, one broadcast to
everyone is scheduled, and the script reports what the emulator saw: the achieved rate
over the limit (first to last message), 429 answers, duplicates and misses (from the
emulator's per-chat counts, the truth), and the bot process's peak memory (VmHWM).

The same machinery serves the kill -9 test (tests/outreach/test_broadcast_crash.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from emulator import Emulator, EmulatorConfig, start_emulator
from emulator.config import RateLimitConfig
from emulator.state import ChatEvent
from konsulta import broadcasts
from konsulta.bootstrap import running_app
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import (
    Citizen,
    CitizenChannel,
    ConsentPurpose,
    ConsentRecord,
    Run,
    RunStatus,
)

REPO = Path(__file__).resolve().parent.parent
TOKEN = "7000000001:broadcast-bench-token"
FIRST_CHAT = 10_000_000
SEED_BATCH = 5000


def noon_zone(now: datetime | None = None) -> str:
    """An `Etc/GMT±n` zone where it is about noon, so quiet hours never interfere."""
    now = now or datetime.now(UTC)
    offset = (12 - now.hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


async def publish_consultation(settings: Settings) -> tuple[int, int, int]:
    """The bundled senior-housing consultation: (organisation, consultation, version)
    ids. A broadcast reaches only people who took part in its organisation's
    consultations, so the seeded citizens all took part in this one."""
    flow, yaml_text = read_flow(REPO / "dialogs" / "flows" / "senior-housing.yaml")
    async with running_app(settings, migrate=False) as app, app.uow() as uow:
        published = await publish(uow, flow, yaml_text, open_now=True)
        await uow.commit()
        consultation = await uow.consultations.get_by_slug(published.slug)
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        return consultation.organisation_id, consultation.id, version.id


async def seed_citizens(
    database_url: str,
    count: int,
    *,
    languages: tuple[str, ...],
    took_part: tuple[int, int] | None = None,
) -> None:
    """`count` citizens with a Telegram chat each, in bulk (chat ids from FIRST_CHAT);
    with `took_part` (consultation and version ids), each consented and started it."""
    engine = create_engine(database_url)
    zone = noon_zone()
    now = datetime.now(UTC)
    try:
        for start in range(0, count, SEED_BATCH):
            numbers = range(start, min(count, start + SEED_BATCH))
            async with engine.begin() as connection:
                await connection.execute(
                    insert(Citizen),
                    [
                        {
                            "id": n + 1,
                            "participant_id": f"crowd{n:09d}",
                            "language": languages[n % len(languages)],
                            "timezone": zone,
                            "stopped": False,
                            "unreachable": False,
                            "no_reminders": False,
                            "named_consent": False,
                            "created_at": now,
                            "last_seen_at": now,
                        }
                        for n in numbers
                    ],
                )
                if took_part is not None:
                    await seed_runs(connection, numbers, took_part, languages, now)
                await connection.execute(
                    insert(CitizenChannel),
                    [
                        {
                            "citizen_id": n + 1,
                            "channel": "telegram",
                            "channel_user_id": FIRST_CHAT + n,
                            "chat_id": FIRST_CHAT + n,
                            "created_at": now,
                        }
                        for n in numbers
                    ],
                )
    finally:
        await engine.dispose()


async def seed_runs(
    connection: AsyncConnection,
    numbers: range,
    took_part: tuple[int, int],
    languages: tuple[str, ...],
    now: datetime,
) -> None:
    """A participation consent and a started run for each citizen numbered."""
    consultation_id, version_id = took_part
    await connection.execute(
        insert(ConsentRecord),
        [
            {
                "id": n + 1,
                "citizen_id": n + 1,
                "consultation_id": consultation_id,
                "purpose": ConsentPurpose.PARTICIPATION,
                "text_version": "bench",
                "granted": True,
                "created_at": now,
            }
            for n in numbers
        ],
    )
    await connection.execute(
        insert(Run),
        [
            {
                "citizen_id": n + 1,
                "consultation_id": consultation_id,
                "flow_version_id": version_id,
                "state": {},
                "status": RunStatus.STARTED,
                "language": languages[n % len(languages)],
                "source": "bench",
                "started_at": now,
                "updated_at": now,
                "consent_record_id": n + 1,
            }
            for n in numbers
        ],
    )


def emulator_limits(rate: float, *, paid: bool) -> RateLimitConfig:
    return RateLimitConfig(
        enabled=True,
        per_chat_per_second=1.0,
        per_chat_burst=3,
        global_per_second=30.0 if paid else rate,
        global_burst=30 if paid else max(1, int(rate)),
        paid_broadcast_per_second=rate if paid else 1000.0,
    )


def bot_env(emulator_url: str, database_url: str, **settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    env.update(
        KONSULTA_API_BASE_URL=emulator_url,
        KONSULTA_DATABASE_URL=database_url,
        KONSULTA_BOT_TOKEN=TOKEN,
        KONSULTA_PSEUDONYM_SECRET="bench-pseudonym-secret-at-least-32-bytes-long",
        KONSULTA_WEBHOOK_SECRET="bench-webhook-secret-at-least-32-bytes-long",
        KONSULTA_SEND_LEASE_SECONDS="3",
        KONSULTA_OUTREACH_TICK_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"KONSULTA_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class BotProcess:
    """`python -m bot run` (or `run --webhook`) as a child process, log to a file."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "bot") -> None:
        self.workdir = workdir
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str, **settings: Any) -> None:
        env = {**self.env, **{f"KONSULTA_{k.upper()}": str(v) for k, v in settings.items()}}
        with self.log_path.open("ab") as log:
            profile = os.environ.get("BENCH_PROFILE")  # a cProfile file for the bot
            python = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else [])]
            self.process = subprocess.Popen(
                [*python, "-m", "bot", "run", *args],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=log,
            )

    def peak_memory_kib(self) -> int:
        """The process's peak resident memory so far (Linux VmHWM), 0 if unknown."""
        if self.process is None:
            return 0
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    async def end(self, sig: signal.Signals = signal.SIGTERM) -> int:
        process = self.process
        if process is None:
            return 0
        self.process = None
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 30)
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Figures:
    recipients: int
    limit_per_second: float
    paid: bool
    sent: int = 0
    duplicates: int = 0
    missed: int = 0
    too_many_requests: int = 0
    seconds: float = 0.0
    achieved_per_second: float = 0.0
    ratio: float = 0.0
    peak_memory_mib: float = 0.0
    bot_cpu_seconds: float = 0.0
    emulator_cpu_seconds: float = 0.0
    restarts: int = 0
    #: Messages in the three slowest whole seconds: a stall shows here, not in `ratio`.
    slowest_seconds: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class SendTimes:
    """First and last time the emulator accepted a message (from its change signal),
    and how many it accepted in each second since the first."""

    def __init__(self, emu: Emulator) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.per_second: Counter[int] = Counter()
        emu.state.listeners.append(self)

    def __call__(self, event: ChatEvent) -> None:
        if event.kind == "message":
            now = time.monotonic()
            self.first = self.first if self.first is not None else now
            self.last = now
            self.per_second[int(now - self.first)] += 1


def tally(emu: Emulator, recipients: int, figures: Figures) -> None:
    """Duplicates and misses against what the emulator accepted, per chat."""
    counts = emu.stats.accepted_per_chat
    expected = range(FIRST_CHAT, FIRST_CHAT + recipients)
    figures.sent = sum(counts.get(chat, 0) for chat in expected)
    figures.duplicates = sum(max(0, counts.get(chat, 0) - 1) for chat in expected)
    figures.missed = sum(1 for chat in expected if counts.get(chat, 0) == 0)
    figures.too_many_requests = emu.stats.too_many_requests


async def schedule_to_everyone(settings: Settings, organisation_id: int) -> int:
    async with running_app(settings, migrate=False) as app:
        draft = await broadcasts.create(
            app,
            name="benchmark",
            organisation_id=organisation_id,
            segment={"everyone": True},
            texts={"pl": "Zapraszamy na konsultacje!", "en": "You are invited to a consultation!"},
            default_language="pl",
        )
        await broadcasts.schedule(app, draft.id)
        return draft.id


async def wait_done(
    settings: Settings, broadcast_id: int, bots: list[BotProcess], *, timeout: float
) -> str:
    """Wait for the broadcast to end; a bot that exits meanwhile fails at once with its
    log (rather than after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with running_app(settings, migrate=False) as app:
        while True:
            shown = await broadcasts.progress(app, broadcast_id)
            if shown.broadcast.status in {"done", "cancelled"}:
                return shown.broadcast.status
            for bot in bots:
                if bot.process is not None and bot.process.poll() is not None:
                    raise RuntimeError(f"a bot exited early:\n{bot.log()[-4000:]}")
            if loop.time() > deadline:
                raise TimeoutError(f"broadcast not done: {shown.broadcast.status} {shown.counts}")
            await asyncio.sleep(0.2)


async def wait_for_file(path: Path, bot: BotProcess, *, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not path.exists():
        if bot.process is not None and bot.process.poll() is not None:
            raise RuntimeError(f"the bot exited early:\n{bot.log()[-4000:]}")
        if loop.time() > deadline:
            raise TimeoutError(f"the bot did not halt:\n{bot.log()[-4000:]}")
        await asyncio.sleep(0.05)


async def run_broadcast(
    workdir: Path,
    database_url: str,
    recipients: int,
    *,
    rate: float,
    paid: bool,
    processes: int = 1,
    crash_after: int = 0,
    timeout: float = 600.0,
) -> Figures:
    """Seed, schedule, send through `processes` bot processes; with `crash_after`, the
    (single) bot halts after that many sends, is killed with SIGKILL and restarted."""
    figures = Figures(recipients, rate, paid)
    await upgrade(database_url)
    settings = Settings(database_url=database_url, _env_file=None)
    organisation_id, consultation_id, version_id = await publish_consultation(settings)
    await seed_citizens(
        database_url,
        recipients,
        languages=("pl", "en"),
        took_part=(consultation_id, version_id),
    )
    config = EmulatorConfig(token=TOKEN, rate_limits=emulator_limits(rate, paid=paid))
    emu = await start_emulator("127.0.0.1", 0, config)
    times = SendTimes(emu)
    cpu_before = time.process_time()
    bots: list[BotProcess] = []
    try:
        for n in range(recipients):
            emu.citizens.create(FIRST_CHAT + n, f"C{n}", "pl" if n % 2 == 0 else "en")
        sender = {
            "rate_per_second": 30 if paid else rate,
            "paid_broadcast": str(paid).lower(),
            "sender_processes": processes,
        }
        env = bot_env(emu.base_url, database_url, **sender)
        broadcast_id = await schedule_to_everyone(settings, organisation_id)
        if crash_after:
            halt = workdir / "halted"
            bot = BotProcess(workdir, env)
            bots.append(bot)
            bot.start(sender_halt_after=crash_after, sender_halt_file=halt)
            await wait_for_file(halt, bot, timeout=timeout)
            figures.peak_memory_mib = bot.peak_memory_kib() / 1024
            await bot.end(signal.SIGKILL)
            figures.notes.append(f"killed -9 after {emu.stats.accepted_total} accepted")
            figures.restarts = 1
            bot.start()
        else:
            for index in range(processes):
                bot = BotProcess(workdir, env, name=f"bot{index}")
                bots.append(bot)
                if processes > 1:  # one poller per bot: the others take webhooks
                    bot.start("--webhook", webhook_port=_free_port())
                else:
                    bot.start()
        status = await wait_done(settings, broadcast_id, bots, timeout=timeout)
        figures.notes.append(f"broadcast {status}")
        figures.peak_memory_mib = max(
            figures.peak_memory_mib, *(b.peak_memory_kib() / 1024 for b in bots)
        )
        figures.bot_cpu_seconds = sum(b.cpu_seconds() for b in bots)
        figures.emulator_cpu_seconds = time.process_time() - cpu_before
    finally:
        for bot in bots:
            await bot.end()
        await emu.close()
    tally(emu, recipients, figures)
    if times.first is not None and times.last is not None and times.last > times.first:
        figures.seconds = times.last - times.first
        figures.achieved_per_second = (figures.sent - 1) / figures.seconds
        figures.ratio = figures.achieved_per_second / rate
        whole = [times.per_second[k] for k in sorted(times.per_second)][:-1]
        figures.slowest_seconds = sorted(whole)[:3]
    return figures


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="the per-bot limit")
    parser.add_argument("--paid", action="store_true", help="allow_paid_broadcast")
    parser.add_argument("--processes", type=int, default=1, help="bot processes (PostgreSQL)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="konsulta-bench-") as folder:
        workdir = Path(folder)
        url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        if args.database_url and "postgresql" in args.database_url:
            url = asyncio.run(_fresh_postgres(args.database_url))
        figures = asyncio.run(
            run_broadcast(
                workdir,
                url,
                args.recipients,
                rate=args.rate,
                paid=args.paid,
                processes=args.processes,
                timeout=max(600.0, args.recipients / args.rate * 3),
            )
        )
    print(json.dumps(asdict(figures), indent=2))
    return 0


async def _fresh_postgres(server_url: str) -> str:
    from sqlalchemy import text

    from storage.engine import normalise_url

    server = normalise_url(server_url)
    name = f"konsulta_bench_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())
