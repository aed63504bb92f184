"""The real bot process against the emulator, and a citizen's phone.

Every story here starts the Bot API emulator inside the test process on a free port
and the real bot as a child process (`python -m bot run`), pointed at the emulator
by `KONSULTA_API_BASE_URL` and at a fresh database by `KONSULTA_DATABASE_URL`, with
the bundled consultations published by `konsulta flows publish dialogs/flows`. Tests
talk to the bot only the way a citizen would (through the emulator) and check what
the bot stored with the storage repositories.

Waits are event-driven: `Phone.expect` waits for the bot's next messages through the
emulator's change signal; `settled()` waits until the bot has handled every update
and sent every message it queued. Nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator import Emulator, EmulatorConfig
from emulator.config import RateLimitConfig, WebhookConfig
from emulator.state import ChatMessage
from storage.engine import create_sessionmaker
from storage.models import InboxUpdate, OutboxMessage, OutboxStatus
from storage.uow import UnitOfWork

REPO = Path(__file__).resolve().parents[2]
#: The bundled consultation every story plays. Only it is published, so a flow that
#: another engineer is still translating cannot stop these stories.
FLOWS = REPO / "dialogs" / "flows" / "senior-housing.yaml"
TOKEN = "7000000001:konsulta-e2e-token"
WEBHOOK_SECRET = "e2e-webhook-secret-that-is-32-bytes-or-more"
#: Bot process start, a dialog turn, a shutdown: generous for a loaded 2-core CI box
#: (a start alone took over 30 s there with other test runs beside it).
TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def eventually(ready: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll for something outside the emulator (a file the bot writes): the emulator's
    `until` wakes on chat changes only, so it would sleep through this one."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ready():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not met within {timeout}s: {ready}")
        await asyncio.sleep(0.05)


def konsulta(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a `konsulta` CLI command (the same entry point as the console script)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bot_env(emulator_url: str, database_url: str, **settings: str) -> dict[str, str]:
    """The bot's environment: our settings only, none inherited from the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    # Every bot process would compile the project's modules anew (seconds of CPU).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        KONSULTA_API_BASE_URL=emulator_url,
        KONSULTA_DATABASE_URL=database_url,
        KONSULTA_BOT_TOKEN=TOKEN,
        KONSULTA_PSEUDONYM_SECRET="e2e-pseudonym-secret-of-the-bot-world-stories",
        KONSULTA_WEBHOOK_SECRET=WEBHOOK_SECRET,
        # The emulator's own limits are off in most stories (see `emulator`); the
        # sender's and flood control's are raised so a fast test is not throttled.
        KONSULTA_RATE_PER_CHAT="1000",
        KONSULTA_RATE_PER_SECOND="1000",
        KONSULTA_FLOOD_MESSAGES="1000",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"KONSULTA_{k.upper()}": v for k, v in settings.items()})
    return env


class BotProcess:
    """`konsulta run` as a child process; every start appends to one stderr log."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.log_path = workdir / "bot.stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None
        self.starts = 0

    def start(self, *args: str, **settings: str) -> None:
        assert self.process is None, "the bot is already running"
        env = {**self.env, **{f"KONSULTA_{k.upper()}": v for k, v in settings.items()}}
        self._log = self.log_path.open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", *args],
            env=env,
            cwd=self.workdir,
            stdout=self._log,
            stderr=self._log,
        )
        self.starts += 1

    async def stop(self) -> int:
        """SIGTERM, as systemd or Ctrl-C would: the bot stops cleanly."""
        return await self._end(signal.SIGTERM)

    async def kill(self) -> int:
        """kill -9: no chance to finish anything."""
        return await self._end(signal.SIGKILL)

    async def _end(self, sig: signal.Signals) -> int:
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
        try:
            code = await asyncio.to_thread(process.wait, TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = await asyncio.to_thread(process.wait, TIMEOUT)
            raise AssertionError("the bot did not stop on SIGTERM") from None
        finally:
            self.process = None
            if self._log is not None:
                self._log.close()
                self._log = None
        return code

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def assert_healthy(self) -> None:
        """No exception escaped anywhere in the bot, in any of its runs."""
        log = self.log()
        assert "Traceback" not in log, log[-6000:]
        assert " ERROR " not in log, log[-6000:]


@dataclass
class Phone:
    """One citizen's Telegram app, played through the emulator."""

    emu: Emulator
    user_id: int
    language_code: str = "pl"
    first_name: str = "Citizen"
    #: How many bot messages this phone has already looked at.
    seen: int = 0
    taps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.emu.citizens.create(self.user_id, self.first_name, self.language_code)

    @property
    def chat_id(self) -> int:
        return self.user_id

    def messages(self) -> list[ChatMessage]:
        return self.emu.bot_messages(self.user_id) if self.user_id in self.emu.state.chats else []

    async def send(self, text: str) -> ChatMessage:
        return await self.emu.citizens.send_text(self.user_id, text)

    async def expect(self, count: int = 1, timeout: float = TIMEOUT) -> list[ChatMessage]:
        """Wait for `count` new bot messages and return them (edits do not count)."""
        everything = await self.emu.wait_for_messages(self.user_id, self.seen + count, timeout)
        new = everything[self.seen :]
        self.seen = len(everything)
        return new

    async def until(self, ready: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        """Wait for something to become true in the chat (an edit, a callback answer)."""
        if not await self.emu.state.wait_until(ready, timeout):
            raise TimeoutError(f"chat {self.user_id}: condition not met; bot said {self.texts()}")

    def texts(self) -> list[str]:
        return [m.text or m.caption or m.kind for m in self.messages()]

    def question(self) -> ChatMessage:
        """The newest bot message that has buttons (the question on screen)."""
        for message in reversed(self.messages()):
            if message.callback_data():
                return message
        raise AssertionError(f"no question with buttons; bot said {self.texts()}")

    async def tap(self, message: ChatMessage, key: str) -> None:
        """Tap the button whose callback data names option `key` (labels are translated)."""
        for data in message.callback_data():
            if data.rsplit(":", 1)[-1] == key:
                self.taps.append(data)
                await self.emu.citizens.tap(self.user_id, message.message_id, data)
                return
        raise AssertionError(f"message {message.message_id} has no button {key!r}: {message}")

    async def answer(self, step: str, keys: list[str]) -> list[ChatMessage]:
        """Tap `keys` on the question `step` on screen: toggles and ranks edit it in
        place; the last tap moves on. Returns what the bot said next."""
        question = self.question()
        assert f":{step}:" in question.callback_data()[0], (step, question.text)
        for index, key in enumerate(keys):
            before = (question.text, question.reply_markup)
            await self.tap(question, key)
            if index < len(keys) - 1:
                await self.until(lambda q=question, b=before: (q.text, q.reply_markup) != b)
        return await self.expect(1)

    def label(self, message: ChatMessage, key: str) -> str:
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        for row in rows:
            for button in row:
                if str(button.get("callback_data", "")).rsplit(":", 1)[-1] == key:
                    return str(button["text"])
        raise AssertionError(f"message {message.message_id} has no button {key!r}")


@dataclass
class Konsulta:
    """The world of one test: emulator, database, the bot process."""

    emu: Emulator
    database_url: str
    bot: BotProcess
    engine: AsyncEngine

    def uow(self) -> UnitOfWork:
        return UnitOfWork(create_sessionmaker(self.engine))

    def phone(self, user_id: int, language_code: str = "pl", name: str = "Citizen") -> Phone:
        return Phone(self.emu, user_id, language_code, name)

    async def settled(self, timeout: float = TIMEOUT) -> None:
        """Wait until every update the emulator holds is handled by the bot and every
        message the bot queued is out of the outbox (sent, failed or forgotten)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # The emulator first: an update it hands over is in the inbox before it
            # leaves the emulator's queue, so looked at in this order nothing slips
            # between the two (looked at after, an update taken meanwhile did).
            waiting = len(self.emu.state.updates)
            async with self.engine.connect() as connection:
                unhandled = await connection.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.handled_at.is_(None))
                )
                queued = await connection.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    # `sending`: the Bot API call is under way (see bot/telegram/sender.py).
                    .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
                )
            if not unhandled and not queued and not waiting:
                return
            if loop.time() > deadline:
                raise TimeoutError(
                    f"not settled: {waiting} undelivered, {unhandled} unhandled, {queued} queued"
                )
            # The bot is another process: its database is what we can watch.
            await asyncio.sleep(0.05)

    async def said(self, phone: Phone) -> list[ChatMessage]:
        """Everything the bot said to `phone` since it last looked, once the bot is idle."""
        await self.settled()
        new = phone.messages()[phone.seen :]
        phone.seen += len(new)
        return new

    def database_files(self) -> list[Path]:
        """The SQLite database and its write-ahead log (none on PostgreSQL)."""
        if not self.database_url.startswith("sqlite"):
            return []
        database = Path(self.database_url.split(":///", 1)[1])
        return [p for p in (database, database.with_name(database.name + "-wal")) if p.exists()]

    async def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, reflected from the database (nothing assumed)."""
        metadata = MetaData()
        async with self.engine.connect() as connection:
            await connection.run_sync(metadata.reflect)
            result: dict[str, list[dict[str, Any]]] = {}
            for table in metadata.sorted_tables:
                rows = (await connection.execute(select(table))).mappings().all()
                result[table.name] = [dict(row) for row in rows]
        return result


def emulator_config(*, rate_limits: bool = False) -> EmulatorConfig:
    return EmulatorConfig(
        rate_limits=RateLimitConfig(enabled=rate_limits),
        webhook=WebhookConfig(retry_initial_delay=0.05, retry_max_delay=0.5),
    )
