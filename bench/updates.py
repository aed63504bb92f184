"""Benchmark: how many citizen updates a second Konsulta handles through its webhook.

    .venv/bin/python bench/updates.py                       # 200 citizens, SQLite (+ PostgreSQL)
    .venv/bin/python bench/updates.py --citizens 3 --seconds 2 --backend sqlite   # a smoke run

Many simulated citizens play the bundled `senior-housing` consultation at the same
time (consent, taps, a typed number, toggles, a ranking, a skip), over and over. Each
citizen acts, waits until the bot's answer shows in its chat (in the Bot API
emulator), then acts again. Their updates reach the bot the way Telegram delivers
them: POSTed to the bot's webhook with the secret-token header, at most 40 requests
in flight (Telegram's default `max_connections`). Everything the bot sends goes to the
emulator over HTTP.

Two bots are measured in the same run, behind the same webhook path:
- baseline: a minimal aiogram 3 bot with `MemoryStorage` (FSM) that asks the same
  questions and sends the same messages (answer the tap, close the question, ask the
  next), keeping nothing but memory;
- Konsulta: the real runtime (`Runtime.webhook_app()`: inbox commit before the 200,
  per-citizen ordering, the conversation service, the outbox and the one sender), on
  SQLite and, when reachable, PostgreSQL.

Both run in this one process with the emulator and the citizens (one event loop), so
the load generator's cost is shared equally. With `--bot-process` each bot is its own
process instead (the baseline as `bench/updates.py --serve-baseline`, Konsulta as
`konsulta run --webhook`), as in production, and the run also reports the CPU each
update costs in the bot process, in PostgreSQL and in this load process, the bot's
idle and peak memory, and the reaction time a citizen sees (from sending to the bot's
answer in the chat). On PostgreSQL, per update of the throughput phase: the CPU of the
backends serving the bot's database and of the server's own processes, the WAL bytes
(`pg_current_wal_lsn()` before and after; server-wide, so the commits of other
databases meanwhile are reported too), the commits of the bot's database
(`pg_stat_database.xact_commit`), and bot + PostgreSQL CPU against the baseline bot's.
Rate limits are lifted on both sides (emulator and sender), since they measure
Telegram, not the bot.

Two phases per bot, `--seconds` each:
1. throughput: citizens act as fast as the bot answers; updates/s = updates whose
   answer reached the citizen / elapsed time;
2. fixed load: citizens act at `--rate` updates/s in total (100 by default), and the
   bot's handling latency is measured from "update received at the webhook" to
   "handled and committed" (Konsulta) or "handler finished" (baseline); p50 and p99.
Afterwards every answer the citizens gave is checked to be committed (answer rows).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.types import Update as TgUpdate
from aiohttp import web
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from bot.telegram.runtime import SECRET_HEADER, Runtime
from dialogs.schema import Flow, Step
from emulator import Emulator, EmulatorConfig, start_emulator
from emulator.config import RateLimitConfig
from emulator.state import ChatEvent, ChatMessage
from konsulta.bootstrap import build_app
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from storage.engine import create_engine, normalise_url
from storage.models import Answer

REPO = Path(__file__).resolve().parent.parent
FLOW_PATH = REPO / "dialogs" / "flows" / "senior-housing.yaml"
TOKEN = "7000000001:bench-token"
SECRET = "bench-webhook-secret-at-least-32-bytes-long"
PSEUDONYM_SECRET = "bench-pseudonym-secret-at-least-32-bytes-long"
PATH = "/telegram/webhook"
MAX_CONNECTIONS = 40  # Telegram's default for a webhook
LANGUAGE = "pl"

#: One pass through senior-housing: (action, argument, what the citizen waits for, answers
#: stored by it). "new" = a new message from the bot (the next question), "edit" = the
#: question edited in place (a toggle or a rank). "agree" yields two messages.
SCRIPT: list[tuple[str, str, str, int]] = [
    ("text", "/start senior-housing", "new", 0),
    ("tap", "agree", "new2", 0),
    ("tap", "75_84", "new", 1),
    ("tap", "alone", "new", 1),
    ("text", "12", "new", 1),
    ("tap", "high", "new", 1),
    ("tap", "yes", "new", 1),
    ("tap", "stick", "edit", 0),
    ("tap", "~done", "new", 1),
    ("tap", "lift", "edit", 0),
    ("tap", "~done", "new", 1),
    ("tap", "club", "edit", 0),
    ("tap", "garden", "edit", 0),
    ("tap", "laundry", "new", 1),
    ("tap", "weekly", "new", 1),
    ("tap", "4", "new", 1),
    ("tap", "~skip", "new", 1),
    ("tap", "no", "new", 1),
]
#: The questions of that path, in order (the baseline bot asks exactly these).
PATH_STEPS = [
    "age",
    "lives_with",
    "years_here",
    "floor",
    "stairs",
    "aids",
    "help_needs",
    "shared_spaces",
    "care",
    "satisfaction",
    "anything_else",
    "visit",
]


Cleanup = Callable[[], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def snapshot(message: ChatMessage | None) -> tuple[Any, ...] | None:
    """What the citizen sees of a message (to notice an edit)."""
    if message is None:
        return None
    return (message.text, message.edit_date, str(message.reply_markup))


# --- the citizens -----------------------------------------------------------------------


class Pacer:
    """Hands out permissions to act at a fixed total rate (None: as fast as possible)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.next_at = time.monotonic()

    async def ticket(self) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        at = max(self.next_at, now)
        self.next_at = at + 1 / self.rate
        if at > now:
            await asyncio.sleep(at - now)


@dataclass
class Crowd:
    """Simulated citizens sharing one emulator and one webhook URL."""

    emu: Emulator
    webhook_url: str
    http: aiohttp.ClientSession
    first_user_id: int
    changed: dict[int, asyncio.Event] = field(default_factory=dict)
    connections: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(40))
    done_updates: int = 0
    answers_given: int = 0
    errors: int = 0
    next_user: int = 0
    #: Seconds from sending an update to the bot's answer in the chat, while recording.
    reactions: list[float] = field(default_factory=list)
    recording: bool = False

    def __post_init__(self) -> None:
        self.emu.state.listeners.append(self._on_event)

    def _on_event(self, event: ChatEvent) -> None:
        waiter = self.changed.get(event.chat_id)
        if waiter is not None:
            waiter.set()

    async def _deliver(self, user_id: int, match: Callable[[dict[str, Any]], bool]) -> None:
        """Take the update the emulator queued for this citizen and POST it to the bot,
        as Telegram's webhook delivery would (the emulator's own delivery is serial)."""
        state = self.emu.state
        update = next(u for u in reversed(state.updates) if match(u.payload))
        state.updates.remove(update)
        async with (
            self.connections,
            self.http.post(
                self.webhook_url, json=update.to_json(), headers={SECRET_HEADER: SECRET}
            ) as response,
        ):
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"webhook answered {response.status}")

    async def _wait(self, user_id: int, ready: Callable[[], bool], timeout: float = 30) -> None:
        waiter = self.changed[user_id]
        deadline = time.monotonic() + timeout
        while not ready():
            waiter.clear()
            if ready():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"citizen {user_id}: no answer from the bot")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)

    async def citizen(self, stop_at: float, pacer: Pacer) -> None:
        user_id = self.first_user_id + self.next_user
        self.next_user += 1
        self.emu.citizens.create(user_id, f"Citizen {user_id}", LANGUAGE)
        self.changed[user_id] = asyncio.Event()
        chat = self.emu.chat(user_id)
        while True:
            for action, argument, expect, answers in SCRIPT:
                await pacer.ticket()
                if time.monotonic() >= stop_at:
                    return
                sent = len(chat.bot_messages())
                question = next((m for m in reversed(chat.bot_messages()) if m.reply_markup), None)
                before = (
                    (question.text, question.edit_date, str(question.reply_markup))
                    if question
                    else None
                )
                began = time.perf_counter()
                try:
                    if action == "text":
                        message = await self.emu.citizens.send_text(user_id, argument)
                        await self._deliver(
                            user_id,
                            lambda p, m=message: (
                                p.get("message_id") == m.message_id and p["chat"]["id"] == user_id
                            ),
                        )
                    else:
                        assert question is not None, "no question to tap"
                        data = next(
                            d for d in question.callback_data() if d.rsplit(":", 1)[-1] == argument
                        )
                        record = await self.emu.citizens.tap(user_id, question.message_id, data)
                        await self._deliver(user_id, lambda p, r=record: p.get("id") == r.id)
                    if expect == "edit":
                        await self._wait(user_id, lambda q=question, b=before: snapshot(q) != b)
                    else:
                        want = sent + (2 if expect == "new2" else 1)
                        await self._wait(user_id, lambda w=want: len(chat.bot_messages()) >= w)
                except (TimeoutError, StopIteration, AssertionError, RuntimeError) as error:
                    self.errors += 1
                    print(f"  citizen {user_id}: {error!r}", file=sys.stderr)
                    return
                if self.recording:
                    self.reactions.append(time.perf_counter() - began)
                self.done_updates += 1
                self.answers_given += answers


async def run_crowd(
    crowd: Crowd, citizens: int, seconds: float, rate: float | None
) -> tuple[int, float]:
    pacer = Pacer(rate)
    start = time.monotonic()
    stop_at = start + seconds
    before = crowd.done_updates
    await asyncio.gather(*(crowd.citizen(stop_at, pacer) for _ in range(citizens)))
    elapsed = time.monotonic() - start
    return crowd.done_updates - before, elapsed


# --- the baseline: aiogram + MemoryStorage ---------------------------------------------


class BTap(CallbackData, prefix="b"):
    step: int
    key: str


def baseline_router(flow: Flow) -> Router:
    """A minimal aiogram bot asking the same questions, state in MemoryStorage only."""
    steps: dict[str, Step] = {step.id: step for step in flow.steps}
    path = [steps[s] for s in PATH_STEPS]
    welcome = flow.localize(flow.steps[0].text, LANGUAGE)
    consent = flow.localize(flow.consent, LANGUAGE)
    router = Router()

    def keyboard(index: int, picked: list[str]) -> InlineKeyboardMarkup | None:
        if index < 0:
            keys = [("agree", "Tak"), ("decline", "Nie")]
        else:
            step = path[index]
            if step.kind in ("yes_no",):
                keys = [("yes", "Tak"), ("no", "Nie")]
            elif step.kind == "scale":
                keys = [(str(n), str(n)) for n in range(1, 6)]
            elif step.kind in ("number",):
                return None
            elif step.kind == "text":
                keys = [("~skip", "Pomiń")]
            else:
                keys = [
                    (o.key, ("✅ " if o.key in picked else "") + flow.localize(o.label, LANGUAGE))
                    for o in step.options
                ]
                if step.kind == "multiple_choice":
                    keys.append(("~done", "Gotowe"))
        rows = [
            [InlineKeyboardButton(text=label, callback_data=BTap(step=index, key=key).pack())]
            for key, label in keys
        ]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    def question_text(index: int) -> str:
        return f"{index + 1}/{len(path)}\n" + flow.localize(path[index].text, LANGUAGE)

    async def ask(message: Message, index: int) -> None:
        if index >= len(path):
            await message.answer(flow.localize(flow.ends[-1].text, LANGUAGE))
            return
        await message.answer(question_text(index), reply_markup=keyboard(index, []))

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_data({"index": -1, "answers": {}, "picked": []})
        await message.answer(consent, reply_markup=keyboard(-1, []))

    @router.callback_query(BTap.filter())
    async def tap(query: CallbackQuery, callback_data: BTap, state: FSMContext) -> None:
        await query.answer()
        data = await state.get_data()
        index = data["index"]
        message = query.message
        if callback_data.step != index or not isinstance(message, Message):
            return
        key = callback_data.key
        if index >= 0:
            step = path[index]
            if step.kind in ("multiple_choice", "ranking") and key != "~done":
                picked = [*data["picked"], key]
                ranked_enough = step.kind == "ranking" and len(picked) >= (step.rank_up_to or 3)
                if not ranked_enough:
                    await state.update_data(picked=picked)
                    await message.edit_text(
                        question_text(index), reply_markup=keyboard(index, picked)
                    )
                    return
                key = ",".join(picked)
            elif key == "~done":
                key = ",".join(data["picked"])
            data["answers"][step.id] = key
        await message.edit_text((message.text or "") + f"\n\n✓ {key}")
        await state.update_data(index=index + 1, picked=[], answers=data["answers"])
        if index < 0:
            await message.answer(welcome)
        await ask(message, index + 1)

    @router.message(F.text)
    async def typed(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        index = data.get("index", -2)
        if index < 0 or path[index].kind != "number" or not (message.text or "").isdigit():
            await message.answer("Proszę nacisnąć przycisk.")
            return
        data["answers"][path[index].id] = int(message.text or "0")
        await state.update_data(index=index + 1, answers=data["answers"])
        await ask(message, index + 1)

    return router


@dataclass
class Timings:
    received: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    recording: bool = False

    def start(self, update_id: int) -> None:
        self.received[update_id] = time.perf_counter()

    def done(self, update_id: int) -> None:
        began = self.received.pop(update_id, None)
        if began is not None and self.recording:
            self.latencies.append(time.perf_counter() - began)


def baseline_webhook(dispatcher: Dispatcher, bot: Bot, timings: Timings) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        if request.headers.get(SECRET_HEADER) != SECRET:
            return web.Response(status=401)
        update = TgUpdate.model_validate(await request.json(), context={"bot": bot})
        await dispatcher.feed_update(bot, update)
        timings.done(update.update_id)
        return web.Response(text="ok")

    application = web.Application()
    application.router.add_post(PATH, receive)
    return application


# --- one measured bot ------------------------------------------------------------------


@dataclass
class Result:
    name: str
    throughput: float
    updates: int
    fixed_rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    committed: str = ""
    #: With --bot-process: CPU per update in each process, memory, reaction times.
    costs: str = ""
    bot_cpu_ms: float = 0.0
    #: With --bot-process on PostgreSQL: its CPU, WAL and commits per update.
    database: DatabaseCosts | None = None
    peak_mib: float = 0.0


async def serve(application: web.Application, timings: Timings) -> tuple[web.AppRunner, str]:
    """Listen for the webhook; the clock of an update starts as its request arrives."""

    @web.middleware
    async def clock(request: web.Request, handler: Any) -> web.StreamResponse:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            timings.start(int((await request.json())["update_id"]))
        response: web.StreamResponse = await handler(request)
        return response

    application.middlewares.append(clock)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}{PATH}"


@dataclass
class Statements:
    """SQL statements and transactions the bot ran (in this process)."""

    statements: int = 0
    transactions: int = 0

    def per_update(self, updates: int) -> str:
        if not self.statements:
            return ""
        return (
            f"{self.statements / max(updates, 1):.1f} SQL statements and"
            f" {self.transactions / max(updates, 1):.2f} transactions per update"
        )


@contextlib.contextmanager
def counting_statements() -> Iterator[Statements]:
    """Count every engine's statements and transactions meanwhile (the in-process
    mode: the bot's engine is in this process)."""
    counted = Statements()

    def statement(_connection: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.startswith("BEGIN"):  # SQLite's, counted as a transaction
            counted.statements += 1

    def begin(*_args: Any) -> None:
        counted.transactions += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "begin", begin)
    try:
        yield counted
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "begin", begin)


def make_bot(emu: Emulator) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))


async def measure(
    name: str,
    setup: Callable[[Emulator, Timings], Awaitable[tuple[web.Application, Cleanup]]],
    args: argparse.Namespace,
    check: Callable[[int], Awaitable[str]] | None = None,
) -> Result:
    config = EmulatorConfig(token=TOKEN, rate_limits=RateLimitConfig(enabled=False))
    emu = await start_emulator("127.0.0.1", 0, config)
    timings = Timings()
    application, cleanup = await setup(emu, timings)
    runner, url = await serve(application, timings)
    try:
        async with aiohttp.ClientSession() as http:
            crowd = Crowd(emu, url, http, first_user_id=1_000_000)
            with counting_statements() as counted:
                updates, elapsed = await run_crowd(crowd, args.citizens, args.seconds, None)
            throughput = updates / elapsed
            timings.recording = True
            fixed, fixed_elapsed = await run_crowd(crowd, args.citizens, args.seconds, args.rate)
            timings.recording = False
        committed = await check(crowd.answers_given) if check else ""
        return Result(
            name,
            throughput,
            updates,
            fixed / fixed_elapsed,
            percentile(timings.latencies, 0.5) * 1000,
            percentile(timings.latencies, 0.99) * 1000,
            crowd.errors,
            committed,
            counted.per_update(updates),
        )
    finally:
        await runner.cleanup()
        await cleanup()
        await emu.close()


async def measure_baseline(args: argparse.Namespace, flow: Flow) -> Result:
    async def setup(emu: Emulator, timings: Timings) -> tuple[web.Application, Cleanup]:
        bot = make_bot(emu)
        dispatcher = Dispatcher(storage=MemoryStorage())
        dispatcher.include_router(baseline_router(flow))

        async def cleanup() -> None:
            await bot.session.close()

        return baseline_webhook(dispatcher, bot, timings), cleanup

    return await measure("aiogram + MemoryStorage", setup, args)


async def measure_konsulta(args: argparse.Namespace, database_url: str, label: str) -> Result:
    holder: dict[str, Any] = {}

    async def setup(emu: Emulator, timings: Timings) -> tuple[web.Application, Cleanup]:
        settings = Settings(
            database_url=database_url,
            api_base_url=emu.base_url,
            bot_token=TOKEN,
            webhook_secret=SECRET,
            webhook_path=PATH,
            rate_per_second=100_000,
            rate_per_chat=100_000,
            flood_messages=100_000,
            _env_file=None,
        )
        app = await build_app(settings)
        flow, yaml_text = read_flow(FLOW_PATH, allow_incomplete=True)
        async with app.uow() as uow:
            await publish(uow, flow, yaml_text, open_now=True)
            await uow.commit()
        runtime = Runtime.build(app)
        handle = runtime.worker._handle

        async def timed_handle(update: TgUpdate) -> None:
            await handle(update)
            timings.done(update.update_id)

        runtime.worker._handle = timed_handle  # type: ignore[method-assign]
        stop = asyncio.Event()
        sender = asyncio.create_task(runtime.sender.run(stop))
        holder["app"] = app

        async def cleanup() -> None:
            stop.set()
            await sender
            await runtime.worker.idle()
            await runtime.bot.session.close()
            await app.close()

        return runtime.webhook_app(), cleanup

    return await measure(f"Konsulta on {label}", setup, args, answers_check(database_url))


async def count_answers(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Answer)) or 0)
    finally:
        await engine.dispose()


def answers_check(database_url: str, already: int = 0) -> Callable[[int], Awaitable[str]]:
    """Whether every answer the citizens gave is committed (answer rows beyond the
    `already` there before)."""

    async def check(answers_given: int) -> str:
        stored = await count_answers(database_url) - already
        ok = "all" if stored == answers_given else "MISSING"
        return f"{stored} answer rows for {answers_given} answers given: {ok} committed"

    return check


# --- each bot as its own process (--bot-process) ----------------------------------------


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each of these processes so far (vanished ones left out)."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the processes alive at the end used since `before` (new ones: all of theirs)."""
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (the server and its backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdecimal() and (entry / "comm").read_text().strip() == "postgres":
                found.append(int(entry.name))
    return found


@dataclass
class DatabaseCounters:
    """PostgreSQL's side at one moment: its WAL position, the commits of the bot's
    database and of every other one, and the processes that serve the bot's database
    (its backends and the server's own: WAL writer, checkpointer, autovacuum...)."""

    #: Bytes of WAL written since the server's beginning (pg_current_wal_lsn()).
    wal_position: int
    commits: int
    other_commits: int
    pids: list[int]


class PostgresProbe:
    """Reads `DatabaseCounters` for one database, connected to the server's `postgres`
    database (so its own reads are no commits of the measured one; each read is a fresh
    transaction, so the statistics are current)."""

    def __init__(self, database_url: str) -> None:
        url = normalise_url(database_url)
        self.database = url.database
        self.engine = create_engine(url.set(database="postgres")).execution_options(
            isolation_level="AUTOCOMMIT"
        )

    async def read(self) -> DatabaseCounters:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            wal = await connection.scalar(
                text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
            )
            rows = (
                await connection.execute(
                    text(
                        "SELECT datname, xact_commit FROM pg_stat_database"
                        " WHERE datname IS NOT NULL"
                    )
                )
            ).all()
            pids = await connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = :name OR backend_type <> 'client backend'"
                ),
                {"name": self.database},
            )
            pid_list = [int(pid) for pid in pids]
        ours = self.database
        return DatabaseCounters(
            int(wal or 0),
            sum(int(n) for name, n in rows if name == ours),
            sum(int(n) for name, n in rows if name != ours),
            pid_list,
        )

    async def close(self) -> None:
        await self.engine.dispose()


@dataclass
class DatabaseCosts:
    """PostgreSQL's share of one measured phase, per update."""

    cpu_ms: float
    wal_bytes: float
    commits: float
    #: Commits in other databases of the same server meanwhile (WAL is server-wide).
    other_commits: int


async def database_costs(
    probe: PostgresProbe,
    before: DatabaseCounters,
    cpu_before: dict[int, float],
    updates: int,
) -> DatabaseCosts:
    """What PostgreSQL spent since `before`, per update; waits a little first, since
    backends report their commits to the statistics up to a second late."""
    await asyncio.sleep(1.5)
    after = await probe.read()
    cpu = cpu_since(cpu_before, cpu_seconds(sorted(set(before.pids) | set(after.pids))))
    wal = after.wal_position - before.wal_position
    per = max(updates, 1)
    return DatabaseCosts(
        cpu * 1000 / per,
        wal / per,
        (after.commits - before.commits) / per,
        after.other_commits - before.other_commits,
    )


def memory_mib(pid: int, field_name: str) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def until_listening(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the bot's webhook answers at all (a bot starting takes a few seconds)."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the bot exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    await response.read()
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot never listened:\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.2)


async def measure_process(
    name: str,
    command: list[str],
    env: dict[str, str],
    args: argparse.Namespace,
    emu: Emulator,
    port: int,
    check: Callable[[int], Awaitable[str]] | None = None,
    postgres_url: str | None = None,
) -> Result:
    """The bot as a child process on `port`, the crowd and `emu` in this process; with
    `postgres_url` (the bot's database) PostgreSQL's CPU, WAL and commits too."""
    url = f"http://127.0.0.1:{port}{PATH}"
    probe = PostgresProbe(postgres_url) if postgres_url else None
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "bot.log"
        with log.open("wb") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        try:
            await until_listening(url, process, log)
            await asyncio.sleep(2)  # start-up work (recovery, commands) is done
            idle = memory_mib(process.pid, "VmRSS")
            async with aiohttp.ClientSession() as http:
                first = getattr(args, "first_user_id", 1_000_000)
                crowd = Crowd(emu, url, http, first_user_id=first)
                # A later round on the same database: update ids the inbox has not seen.
                first_update = getattr(args, "first_update_id", 1)
                emu.state._update_ids = itertools.count(first_update)
                counters = await probe.read() if probe else None
                pg_before = cpu_seconds(counters.pids if counters else postgres_pids())
                bot_before = cpu_seconds([process.pid])
                load_before = time.process_time()
                updates, elapsed = await run_crowd(crowd, args.citizens, args.seconds, None)
                bot_spent = cpu_since(bot_before, cpu_seconds([process.pid]))
                load_spent = time.process_time() - load_before
                database = (
                    await database_costs(probe, counters, pg_before, updates)
                    if probe and counters
                    else None
                )
                fixed, fixed_elapsed = 0, 1.0
                if getattr(args, "fixed_rate", True):  # bench.big_database: no such phase
                    crowd.recording = True
                    fixed, fixed_elapsed = await run_crowd(
                        crowd, args.citizens, args.seconds, args.rate
                    )
                    crowd.recording = False
            per = max(updates, 1)
            bot_ms, load_ms = bot_spent * 1000 / per, load_spent * 1000 / per
            peak = memory_mib(process.pid, "VmHWM")
            on_database = ""
            if database is not None:
                on_database = (
                    f", PostgreSQL {database.cpu_ms:.1f} ms"
                    f" (bot + PostgreSQL {bot_ms + database.cpu_ms:.1f} ms)"
                )
            costs = (
                f"CPU per update: bot {bot_ms:.1f} ms{on_database}, load {load_ms:.1f} ms;"
                f" bot memory idle {idle:.0f} MiB, peak {peak:.0f} MiB"
            )
            if database is not None:
                costs += (
                    f"\nPostgreSQL per update: {database.wal_bytes:,.0f} WAL bytes,"
                    f" {database.commits:.2f} commits"
                    f" (other databases committed {database.other_commits} meanwhile)"
                )
            committed = await check(crowd.answers_given) if check else ""
            return Result(
                name,
                updates / elapsed,
                updates,
                fixed / fixed_elapsed,
                percentile(crowd.reactions, 0.5) * 1000,
                percentile(crowd.reactions, 0.99) * 1000,
                crowd.errors,
                committed,
                costs,
                bot_ms,
                database,
                peak,
            )
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 30)
            if probe is not None:
                await probe.close()


async def measure_baseline_process(args: argparse.Namespace) -> Result:
    emu = await start_emulator("127.0.0.1", 0, bench_emulator_config())
    port = free_port()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-baseline",
        "--port",
        str(port),
        "--api",
        emu.base_url,
    ]
    try:
        return await measure_process(
            "aiogram + MemoryStorage", command, dict(os.environ), args, emu, port
        )
    finally:
        await emu.close()


async def measure_konsulta_process(
    args: argparse.Namespace, database_url: str, label: str, *, prepared: bool = False
) -> Result:
    """Konsulta as `konsulta run --webhook` on `database_url`; `prepared`: the database
    is migrated and senior-housing published already (else done here)."""
    emu = await start_emulator("127.0.0.1", 0, bench_emulator_config())
    port = free_port()
    settings = {
        "DATABASE_URL": database_url,
        "API_BASE_URL": emu.base_url,
        "BOT_TOKEN": TOKEN,
        "WEBHOOK_SECRET": SECRET,
        "PSEUDONYM_SECRET": PSEUDONYM_SECRET,
        "WEBHOOK_PATH": PATH,
        "WEBHOOK_PORT": str(port),
        "RATE_PER_SECOND": "100000",
        "RATE_PER_CHAT": "100000",
        "FLOOD_MESSAGES": "100000",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    env.update({f"KONSULTA_{k}": v for k, v in settings.items()})
    if not prepared:
        await prepare_database(database_url)
    already = await count_answers(database_url)
    command = [sys.executable, "-m", "bot", "run", "--webhook"]
    postgres_url = database_url if database_url.startswith("postgresql") else None
    try:
        return await measure_process(
            f"Konsulta on {label}",
            command,
            env,
            args,
            emu,
            port,
            answers_check(database_url, already),
            postgres_url,
        )
    finally:
        await emu.close()


async def prepare_database(database_url: str) -> None:
    """Migrate `database_url` and publish senior-housing, open."""
    app = await build_app(Settings(database_url=database_url, _env_file=None))
    flow, yaml_text = read_flow(FLOW_PATH, allow_incomplete=True)
    async with app.uow() as uow:
        await publish(uow, flow, yaml_text, open_now=True)
        await uow.commit()
    await app.close()


def bench_emulator_config() -> EmulatorConfig:
    return EmulatorConfig(token=TOKEN, rate_limits=RateLimitConfig(enabled=False))


async def serve_baseline(port: int, api: str) -> None:
    """`--serve-baseline`: the baseline bot alone, until SIGTERM."""
    flow, _yaml = read_flow(FLOW_PATH, allow_incomplete=True)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dispatcher = Dispatcher(storage=MemoryStorage())
    dispatcher.include_router(baseline_router(flow))
    runner = web.AppRunner(baseline_webhook(dispatcher, bot, Timings()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await bot.session.close()


async def postgres_database(server_url: str) -> tuple[str, Callable[[], Awaitable[None]]] | None:
    server = normalise_url(server_url)
    admin = create_engine(server.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    name = f"konsulta_bench_{secrets.token_hex(4)}"
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as error:  # no server: PostgreSQL is optional here
        await admin.dispose()
        print(f"PostgreSQL not reachable ({type(error).__name__}); SQLite only", file=sys.stderr)
        return None

    async def drop() -> None:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def print_result(result: Result, baseline: Result | None, rate: float) -> None:
    line = (
        f"{result.name:<28} {result.throughput:8.1f} updates/s"
        f"   at {rate:.0f}/s offered: {result.fixed_rate:6.1f}/s handled,"
        f" latency p50 {result.p50_ms:6.1f} ms, p99 {result.p99_ms:6.1f} ms"
    )
    if baseline is not None:
        line += f"   ratio {result.throughput / baseline.throughput:.2f}"
    if result.errors:
        line += f"   ERRORS {result.errors}"
    print(line, flush=True)
    if baseline is not None and result.bot_cpu_ms and baseline.bot_cpu_ms:
        total = result.bot_cpu_ms + (result.database.cpu_ms if result.database else 0.0)
        result.costs += (
            f"\nCPU per update {total / baseline.bot_cpu_ms:.1f} times the baseline bot's"
            f" ({total:.1f} ms against {baseline.bot_cpu_ms:.1f} ms)"
        )
    for line in result.costs.splitlines():
        print(f"{'':<28} {line}", flush=True)
    if result.committed:
        print(f"{'':<28} {result.committed}", flush=True)


async def main(args: argparse.Namespace) -> int:
    if args.serve_baseline:
        await serve_baseline(args.port, args.api)
        return 0
    flow, _yaml = read_flow(FLOW_PATH, allow_incomplete=True)
    where = "each bot its own process" if args.bot_process else "everything in one process"
    latency = "reaction (send to answer)" if args.bot_process else "handling"
    print(
        f"{args.citizens} citizens, senior-housing, {args.seconds:.0f} s per phase,"
        f" fixed load {args.rate:.0f} updates/s; {where}; latency = {latency}",
        flush=True,
    )
    konsulta = measure_konsulta_process if args.bot_process else measure_konsulta
    baseline = (
        await measure_baseline_process(args)
        if args.bot_process
        else await measure_baseline(args, flow)
    )
    print_result(baseline, None, args.rate)
    results = [baseline]
    failed = bool(baseline.errors)
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                result = await konsulta(args, url, "SQLite")
            else:
                server = os.environ.get("KONSULTA_TEST_POSTGRES_URL") or (
                    "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
                )
                made = await postgres_database(server)
                if made is None:
                    continue
                url, drop = made
                try:
                    result = await konsulta(args, url, "PostgreSQL")
                finally:
                    await drop()
            print_result(result, baseline, args.rate)
            results.append(result)
            failed = failed or bool(result.errors) or "MISSING" in result.committed
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--rate", type=float, default=100.0, help="offered load, updates/s")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument(
        "--bot-process", action="store_true", help="each bot as its own process (CPU per update)"
    )
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--api", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
