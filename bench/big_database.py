"""Benchmark: does a big database cost a dialog update or a broadcast anything?

    .venv/bin/python -m bench.big_database                      # 1,000,000 citizens, PostgreSQL
    .venv/bin/python -m bench.big_database --citizens-in-db 2000 --small 200 --seconds 1 \\
        --broadcast-seconds 2 --backend sqlite                  # a smoke run

Two fresh databases on the same server (PostgreSQL at `KONSULTA_TEST_POSTGRES_URL` or
`postgresql+asyncpg://postgres@127.0.0.1:5432/postgres`, or SQLite files), each
migrated with `senior-housing` published:

1. **Dialog updates**: on the empty database, then on the one filled with
   `--citizens-in-db` citizens, the same crowd as `bench/updates.py --bot-process`
   (`--citizens` simulated citizens playing senior-housing through the webhook of
   `konsulta run --webhook`) for `--seconds` as fast as the bot answers; reported per
   update: CPU in the bot process, on PostgreSQL its CPU, WAL bytes and commits, and
   the big database's figures divided by the empty one's.
   With `--rounds 2` (the default) it measures empty, big, empty, big, each round with
   new citizens and after a `CHECKPOINT`, and divides the means.
2. **A broadcast to everyone**, with Telegram's limits in the emulator (1/s per chat,
   `--rate` paid broadcasts a second): on the first database filled meanwhile with
   `--small` citizens, and on the big one. The bot (`konsulta run`, its own process)
   runs until every recipient is written and `--broadcast-seconds` have passed since it
   started the broadcast (or until the broadcast is done), and the report gives
   the bot's peak memory (VmHWM), how many recipients were written (queued as
   deliveries), how many messages the emulator accepted, and how long writing every
   recipient took. A full 1,000,000 send at 1000/s takes 17 minutes; the default
   window sees all recipients written and the first sends.

The fill is bulk SQL in the database (`INSERT ... SELECT` over `generate_series` on
PostgreSQL, a recursive CTE on SQLite): every citizen has a Telegram chat, consented
to senior-housing and started it; run i answered (7 i mod 13) of its 12 questions (6
answers a run on average), those who answered all 12 completed it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench import broadcast as bc
from bench import updates
from emulator import start_emulator
from emulator.config import EmulatorConfig
from emulator.state import Chat, EmulatorState
from emulator.state import Citizen as EmulatedCitizen
from konsulta.settings import Settings
from storage.engine import create_engine

#: Telegram chat of bulk citizen i: FIRST_CHAT + i (the crowd's are around 1,000,000).
FIRST_CHAT = bc.FIRST_CHAT
#: (question, stored value) in the order of the path the crowd plays.
ANSWERS = [
    ("age", '"75_84"'),
    ("lives_with", '"alone"'),
    ("years_here", "12"),
    ("floor", '"high"'),
    ("stairs", '"yes"'),
    ("aids", '["stick"]'),
    ("help_needs", '["lift"]'),
    ("shared_spaces", '["club", "garden", "laundry"]'),
    ("care", '"weekly"'),
    ("satisfaction", "4"),
    ("anything_else", "null"),
    ("visit", '"no"'),
]


async def fill(database_url: str, count: int) -> float:
    """Add `count` citizens who took part in senior-housing, with their answers, in bulk
    (ids after those there already); returns the seconds it took."""
    began = time.monotonic()
    postgres = database_url.startswith("postgresql")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await _fill(connection, count, postgres=postgres)
        if postgres:
            vacuum = engine.execution_options(isolation_level="AUTOCOMMIT")
            async with vacuum.connect() as connection:
                await connection.execute(text("VACUUM ANALYZE"))
        else:
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.monotonic() - began


async def _fill(connection: AsyncConnection, count: int, *, postgres: bool) -> None:
    async def number(sql: str) -> int:
        return int(await connection.scalar(text(sql)) or 0)

    consultation = await number("SELECT id FROM consultations WHERE slug = 'senior-housing'")
    version = await number(
        f"SELECT max(id) FROM flow_versions WHERE consultation_id = {consultation}"
    )
    citizen = await number("SELECT coalesce(max(id), 0) FROM citizens")
    consent = await number("SELECT coalesce(max(id), 0) FROM consent_records")
    run = await number("SELECT coalesce(max(id), 0) FROM runs")
    if postgres:
        series = f"g(n) AS (SELECT generate_series(1, {count}))"
        now, json = "now()", "CAST(s.value AS jsonb)"
    else:
        series = f"g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count})"
        now = "'" + datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
        json = "s.value"
    with_series = f"WITH RECURSIVE {series}" if not postgres else f"WITH {series}"
    zone = bc.noon_zone()
    language = "CASE WHEN g.n % 2 = 0 THEN 'pl' ELSE 'en' END"
    answered = "(g.n * 7) % 13"
    statements = [
        f"""{with_series}
        INSERT INTO citizens (id, participant_id, language, timezone, stopped, unreachable,
            no_reminders, named_consent, read_aloud, created_at, last_seen_at)
        SELECT {citizen} + g.n, 'bulk' || CAST({citizen} + g.n AS TEXT), {language},
            '{zone}', false, false, false, false, false, {now}, {now} FROM g""",
        f"""{with_series}
        INSERT INTO citizen_channels (citizen_id, channel, channel_user_id, chat_id,
            created_at)
        SELECT {citizen} + g.n, 'telegram', {FIRST_CHAT + citizen} + g.n,
            {FIRST_CHAT + citizen} + g.n, {now} FROM g""",
        f"""{with_series}
        INSERT INTO consent_records (id, citizen_id, consultation_id, purpose,
            text_version, granted, created_at)
        SELECT {consent} + g.n, {citizen} + g.n, {consultation}, 'participation', 'bench',
            true, {now} FROM g""",
        f"""{with_series}
        INSERT INTO runs (id, citizen_id, consultation_id, flow_version_id, state, status,
            language, source, started_at, updated_at, completed_at, consent_record_id)
        SELECT {run} + g.n, {citizen} + g.n, {consultation}, {version}, '{{}}',
            CASE WHEN {answered} = 12 THEN 'completed' ELSE 'started' END, {language},
            'bench', {now}, {now}, CASE WHEN {answered} = 12 THEN {now} END,
            {consent} + g.n FROM g""",
        f"""{with_series},
        s(idx, step, value) AS (VALUES {
            ", ".join(f"({i}, '{step}', '{value}')" for i, (step, value) in enumerate(ANSWERS))
        })
        INSERT INTO answers (run_id, step_id, value, skipped, answered_at)
        SELECT {run} + g.n, s.step, {json}, s.step = 'anything_else', {now}
        FROM g JOIN s ON s.idx < {answered}""",
    ]
    for statement in statements:
        await connection.execute(text(statement))
    if postgres:
        for table in ("citizens", "citizen_channels", "consent_records", "runs", "answers"):
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            )


async def counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return {
                table: int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                for table in ("citizens", "runs", "answers")
            }
    finally:
        await engine.dispose()


# --- the broadcast -----------------------------------------------------------------------


@dataclass
class BroadcastFigures:
    recipients: int
    written: int = 0
    written_seconds: float = 0.0
    sent: int = 0
    seconds: float = 0.0
    done: bool = False
    peak_mib: float = 0.0
    #: Resident memory of the bot 15 s into the broadcast (the small one is about
    #: done by then), and at the end.
    rss_at_15s_mib: float = 0.0
    rss_end_mib: float = 0.0
    bot_cpu_seconds: float = 0.0


async def measure_broadcast(
    database_url: str, workdir: Path, *, rate: float, seconds: float
) -> BroadcastFigures:
    """One broadcast to everyone, sent by `konsulta run` for up to `seconds`."""
    settings = Settings(database_url=database_url, _env_file=None)
    organisation = await _organisation(database_url)
    recipients = (await counts(database_url))["citizens"]
    figures = BroadcastFigures(recipients)
    emu = await start_emulator(
        "127.0.0.1",
        0,
        EmulatorConfig(token=bc.TOKEN, rate_limits=bc.emulator_limits(rate, paid=True)),
    )
    # The crowd's chats now; the bulk citizens' when the bot first writes to them (a
    # million of them up front would cost the emulator gigabytes).
    for n, chat in enumerate(await chats(database_url, below=FIRST_CHAT)):
        emu.citizens.create(chat, f"C{n}", "pl")
    emu.state.chats = BulkChats(emu.state, emu.state.chats)
    env = bc.bot_env(
        emu.base_url, database_url, rate_per_second=30, paid_broadcast="true", sender_processes=1
    )
    bot = bc.BotProcess(workdir, env, name=f"broadcast-{recipients}")
    try:
        broadcast_id = await bc.schedule_to_everyone(settings, organisation)
        bot.start()
        began: float | None = None  # once the bot has started the broadcast
        deadline = time.monotonic() + seconds + 900
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            if bot.process is not None and bot.process.poll() is not None:
                raise RuntimeError(f"the bot exited early:\n{bot.log()[-4000:]}")
            status, materialized, total = await broadcast_state(database_url, broadcast_id)
            if began is None:
                if status != "running":
                    continue
                began = time.monotonic()
            elapsed = time.monotonic() - began
            if bot.process is not None:
                figures.rss_end_mib = updates.memory_mib(bot.process.pid, "VmRSS")
                if elapsed < 15 or not figures.rss_at_15s_mib:
                    figures.rss_at_15s_mib = figures.rss_end_mib
            if materialized and not figures.written_seconds:
                figures.written_seconds = elapsed
            figures.written = total
            figures.done = status == "done"
            if figures.done or (elapsed >= seconds and figures.written_seconds):
                break
        if began is None:
            raise TimeoutError(f"the bot never started the broadcast:\n{bot.log()[-4000:]}")
        figures.seconds = time.monotonic() - began
        figures.peak_mib = bot.peak_memory_kib() / 1024
        figures.bot_cpu_seconds = bot.cpu_seconds()
    finally:
        await bot.end()
        await emu.close()
    figures.sent = sum(emu.stats.accepted_per_chat.values())
    return figures


class BulkChats(dict[int, Chat]):
    """The emulator's chats, where a bulk citizen's private chat (from FIRST_CHAT on)
    comes into being when the bot first looks it up."""

    def __init__(self, state: EmulatorState, chats: dict[int, Chat]) -> None:
        super().__init__(chats)
        self.state = state

    def get(self, key: int, default: Chat | None = None) -> Chat | None:  # type: ignore[override]
        found = super().get(key)
        if found is None and isinstance(key, int) and key > FIRST_CHAT:
            self.state.users[key] = EmulatedCitizen(key, f"C{key}", "pl")
            found = self[key] = Chat(id=key, type="private", member_ids={key})
        return found if found is not None else default


async def chats(database_url: str, *, below: int) -> list[int]:
    """The Telegram chats under `below` (the crowd's)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalars(
                text(f"SELECT chat_id FROM citizen_channels WHERE chat_id < {below}")
            )
            return [int(chat) for chat in found]
    finally:
        await engine.dispose()


async def broadcast_state(database_url: str, broadcast_id: int) -> tuple[str, bool, int]:
    """Status, all recipients written, how many: one row (counting a million
    deliveries every second would load the database under measurement)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT status, materialized, total FROM broadcasts"
                        f" WHERE id = {int(broadcast_id)}"
                    )
                )
            ).one()
            return str(row[0]), bool(row[1]), int(row[2])
    finally:
        await engine.dispose()


async def _organisation(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT organisation_id FROM consultations WHERE slug = 'senior-housing'")
            )
            return int(found or 0)
    finally:
        await engine.dispose()


# --- the run -----------------------------------------------------------------------------


async def fresh_database(
    args: argparse.Namespace, folder: Path, name: str
) -> tuple[str, Callable[[], Awaitable[None]]]:
    if args.backend == "sqlite":

        async def nothing() -> None:
            return None

        return f"sqlite+aiosqlite:///{folder / name}.db", nothing
    server = os.environ.get("KONSULTA_TEST_POSTGRES_URL") or (
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    made = await updates.postgres_database(server)
    if made is None:
        raise SystemExit("PostgreSQL is not reachable (set KONSULTA_TEST_POSTGRES_URL)")
    return made


def ratio(big: float, empty: float) -> str:
    return f"{big / empty:.2f}" if empty else "-"


async def checkpoint(database_url: str) -> None:
    """On PostgreSQL, a checkpoint first: each measurement then starts with the same
    full-page writes to come (the first change of a page after a checkpoint logs the
    whole page), not wherever the fill's checkpoints left off."""
    if not database_url.startswith("postgresql"):
        return
    engine = create_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CHECKPOINT"))
    finally:
        await engine.dispose()


def ratios(bigs: list[updates.Result], empties: list[updates.Result]) -> str:
    """The big database's mean figures over the empty one's."""

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    def of(results: list[updates.Result], pick: Callable[[updates.Result], float]) -> float:
        return mean([pick(r) for r in results])

    line = f"bot CPU {ratio(of(bigs, lambda r: r.bot_cpu_ms), of(empties, lambda r: r.bot_cpu_ms))}"
    if all(r.database is not None for r in bigs + empties):
        for name, pick in (
            ("PostgreSQL CPU", lambda r: r.database.cpu_ms if r.database else 0.0),
            ("WAL", lambda r: r.database.wal_bytes if r.database else 0.0),
            ("commits", lambda r: r.database.commits if r.database else 0.0),
        ):
            line += f", {name} {ratio(of(bigs, pick), of(empties, pick))}"
    throughput = ratio(of(bigs, lambda r: r.throughput), of(empties, lambda r: r.throughput))
    return line + f", updates/s {throughput}"


def report_dialog(label: str, result: updates.Result) -> None:
    line = (
        f"  {label:<34} {result.throughput:7.1f} updates/s,"
        f" CPU per update: bot {result.bot_cpu_ms:.2f} ms"
    )
    if result.database is not None:
        db = result.database
        line += (
            f", PostgreSQL {db.cpu_ms:.2f} ms (total {result.bot_cpu_ms + db.cpu_ms:.2f} ms),"
            f" {db.wal_bytes:,.0f} WAL bytes, {db.commits:.2f} commits"
        )
    line += f"; {result.committed}" if result.committed else ""
    if result.errors:
        line += f"   ERRORS {result.errors}"
    print(line, flush=True)


def report_broadcast(label: str, figures: BroadcastFigures) -> None:
    written = (
        f"all written in {figures.written_seconds:.1f} s"
        if figures.written_seconds
        else "NOT all written"
    )
    print(
        f"  {label:<16} {figures.recipients:>9,} recipients: {figures.written:,} queued"
        f" ({written}), {figures.sent:,} sent in {figures.seconds:.0f} s"
        f"{' (done)' if figures.done else ''}; bot memory {figures.rss_at_15s_mib:.0f} MiB"
        f" at 15 s, {figures.rss_end_mib:.0f} MiB at the end, peak {figures.peak_mib:.0f} MiB,"
        f" bot CPU {figures.bot_cpu_seconds:.1f} s",
        flush=True,
    )


async def main(args: argparse.Namespace) -> int:
    backend = "PostgreSQL" if args.backend == "postgresql" else "SQLite"
    print(
        f"{backend}; dialog: {args.citizens} citizens, senior-housing, {args.seconds:.0f} s"
        f" as fast as the bot answers; broadcast: {args.rate:.0f}/s paid, up to"
        f" {args.broadcast_seconds:.0f} s",
        flush=True,
    )
    dialog = argparse.Namespace(
        citizens=args.citizens, seconds=args.seconds, fixed_rate=False, first_user_id=1_000_000
    )
    failed = False
    with tempfile.TemporaryDirectory(prefix="konsulta-big-") as folder:
        workdir = Path(folder)
        empty_url, drop_empty = await fresh_database(args, workdir, "empty")
        big_url, drop_big = await fresh_database(args, workdir, "big")
        try:
            await updates.prepare_database(empty_url)
            await updates.prepare_database(big_url)
            filled = await fill(big_url, args.citizens_in_db)
            rows = await counts(big_url)
            print(
                f"filled in {filled:.0f} s: {rows['citizens']:,} citizens,"
                f" {rows['runs']:,} runs, {rows['answers']:,} answers",
                flush=True,
            )
            print("dialog updates (each in its own bot process):", flush=True)
            empties: list[updates.Result] = []
            bigs: list[updates.Result] = []
            for round_number in range(args.rounds):
                # New citizens each round (a first contact, then the dialog).
                dialog.first_user_id = 1_000_000 + 100_000 * round_number
                dialog.first_update_id = 1 + 100_000_000 * round_number
                for url, label, results in (
                    (empty_url, "empty database", empties),
                    (big_url, f"{args.citizens_in_db:,} citizens", bigs),
                ):
                    await checkpoint(url)
                    result = await updates.measure_konsulta_process(
                        dialog, url, label, prepared=True
                    )
                    report_dialog(label, result)
                    results.append(result)
            print(f"  big / empty, mean of {args.rounds} round(s): {ratios(bigs, empties)}")
            failed = any(r.errors or "MISSING" in r.committed for r in empties + bigs)
            if args.broadcast_seconds <= 0:
                return 1 if failed else 0
            print("a broadcast to everyone (its own bot process):", flush=True)
            await fill(empty_url, args.small)
            small_figures = await measure_broadcast(
                empty_url, workdir, rate=args.rate, seconds=args.broadcast_seconds
            )
            report_broadcast("small database", small_figures)
            big_figures = await measure_broadcast(
                big_url, workdir, rate=args.rate, seconds=args.broadcast_seconds
            )
            report_broadcast("big database", big_figures)
            print(
                f"  big / small: bot peak memory"
                f" {ratio(big_figures.peak_mib, small_figures.peak_mib)}",
                flush=True,
            )
        finally:
            with contextlib.suppress(Exception):
                await drop_empty()
            with contextlib.suppress(Exception):
                await drop_big()
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.big_database", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--citizens-in-db", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="the small broadcast's size")
    parser.add_argument("--citizens", type=int, default=200, help="the dialog crowd")
    parser.add_argument("--seconds", type=float, default=15.0, help="the dialog phase")
    parser.add_argument("--rounds", type=int, default=2, help="empty, big, empty, big...")
    parser.add_argument("--rate", type=float, default=1000.0, help="paid broadcasts a second")
    parser.add_argument(
        "--broadcast-seconds", type=float, default=60.0, help="0: no broadcast, dialog only"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
