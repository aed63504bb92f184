"""Outreach stories: the Bot API emulator and the real bot runtime in this process, on
a fresh database (SQLite, and PostgreSQL when configured), with the controllable
clock on and a small consultation with follow-ups published (flows/street-repairs).

The runtime's own scheduler ticks too, but the stories call `World.tick()` after
moving the clock, so what happens is decided by the story, not by timing. Waits are
event-driven (`Phone.expect` wakes on the emulator's change signal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from in_process import bot_in_process, settled

from bot.telegram.runtime import Runtime
from emulator import Emulator
from emulator.state import ChatMessage
from konsulta.bootstrap import App
from konsulta.clock import ControllableClock
from konsulta.publishing import read_flow
from outreach.scheduler import Outreach, TickReport

FLOWS = Path(__file__).resolve().parent / "flows"
TIMEOUT = 20.0


def zone_at(hour: int, now: datetime | None = None) -> str:
    """An `Etc/GMT±n` zone where the local time is about `hour` o'clock now."""
    now = now or datetime.now(UTC)
    offset = (hour - now.hour + 12) % 24 - 12  # local = UTC + offset, in -12..11
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # Etc signs are inverted


@dataclass
class Phone:
    emu: Emulator
    user_id: int
    language_code: str = "en"
    seen: int = 0

    def __post_init__(self) -> None:
        self.emu.citizens.create(self.user_id, f"User {self.user_id}", self.language_code)

    def messages(self) -> list[ChatMessage]:
        return self.emu.bot_messages(self.user_id) if self.user_id in self.emu.state.chats else []

    def texts(self) -> list[str]:
        return [m.text or m.caption or m.kind for m in self.messages()]

    async def send(self, text: str) -> None:
        await self.emu.citizens.send_text(self.user_id, text)

    async def expect(self, count: int = 1) -> list[ChatMessage]:
        everything = await self.emu.wait_for_messages(self.user_id, self.seen + count, TIMEOUT)
        new = everything[self.seen :]
        self.seen = len(everything)
        return new

    async def tap(self, message: ChatMessage, key: str) -> None:
        """Tap the button whose callback data ends with `:key`."""
        for data in message.callback_data():
            if data.rsplit(":", 1)[-1] == key:
                await self.emu.citizens.tap(self.user_id, message.message_id, data)
                return
        raise AssertionError(f"no button {key!r} on {message.text!r}")

    def question(self) -> ChatMessage:
        for message in reversed(self.messages()):
            if message.callback_data():
                return message
        raise AssertionError(f"no question on screen: {self.texts()}")


@dataclass
class World:
    emu: Emulator
    app: App
    runtime: Runtime
    outreach: Outreach

    def phone(self, user_id: int, language_code: str = "en") -> Phone:
        return Phone(self.emu, user_id, language_code)

    @property
    def clock(self) -> ControllableClock:
        assert isinstance(self.app.clock, ControllableClock)
        return self.app.clock

    async def later(self, delta: timedelta) -> TickReport:
        """Move the clock (as `konsulta clock advance` would) and run one tick."""
        await self.clock.advance(delta)
        return await self.tick()

    async def tick(self) -> TickReport:
        report = await self.outreach.tick()
        assert not report.errors, report.errors
        self.runtime.sender.wake()
        await self.settled()
        return report

    async def settled(self) -> None:
        await settled(self.app, self.emu)

    async def take_part(self, phone: Phone, answers: list[str]) -> None:
        """The citizen opens street-repairs, agrees, and taps `answers` in order."""
        await phone.send("/start street-repairs")
        [consent] = await phone.expect()
        await phone.tap(consent, "agree")
        await phone.expect()  # the first question (the consent message is edited)
        for key in answers:
            await phone.tap(phone.question(), key)
            await phone.expect()
        await self.settled()


@asynccontextmanager
async def outreach_world(url: str, flow: Path, *, name: str, language: str) -> AsyncIterator[World]:
    """The real bot in this process on `flow`, on a clock the story moves and ticks
    itself (at noon in its time zone)."""
    async with bot_in_process(
        url,
        [read_flow(flow)],
        name=name,
        default_language=language,
        default_timezone=zone_at(12),
        controllable_clock=True,
        outreach_tick_seconds=3600.0,  # the stories tick themselves
    ) as bot:
        yield World(
            bot.emu,
            bot.app,
            bot.runtime,
            Outreach(bot.app, wake=bot.runtime.sender.wake),
        )


@pytest.fixture
async def world(migrated_url: str) -> AsyncIterator[World]:
    async with outreach_world(
        migrated_url, FLOWS / "street-repairs.yaml", name="outreach", language="en"
    ) as world:
        yield world
