"""The world of the leader stories (the `world` fixture is in conftest.py): the Bot
API emulator and the real bot runtime in this process, on a fresh database (SQLite,
and PostgreSQL when configured) with a small consultation published and a community,
"Senior co-op Słupsk", speaking Polish and English.

In-process (rather than a child bot process as in tests/bot) keeps these stories at a
second or two each. Waits are event-driven: `Phone.expect` wakes on the emulator's
change signal and `World.settled` polls the database until the bot is idle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from in_process import settled

from bot.telegram.runtime import Runtime
from emulator import Emulator
from emulator.state import ChatMessage
from konsulta.bootstrap import App
from konsulta.clock import ControllableClock
from konsulta.leaders.service import add_leader
from outreach.scheduler import Outreach, TickReport
from storage.models import Consultation

FLOWS = Path(__file__).resolve().parent / "flows"
TIMEOUT = 20.0
COMMUNITY = "Senior co-op Słupsk"
# The organisation the consultation's YAML names: a community and its leaders belong to
# the organisation whose consultations they invite to.
ORGANISATION = "spoldzielnia-mieszkaniowa-w-slupsku"


def daytime_zone(now: datetime | None = None) -> str:
    """A time zone where it is about noon now, so quiet hours never hold a story's
    broadcast unless the story wants them to (`zone_at`)."""
    return zone_at(12, now)


def zone_at(hour: int, now: datetime | None = None) -> str:
    """A time zone where it is about `hour` o'clock now."""
    now = now or datetime.now(UTC)
    # local = UTC + offset, offset in -12..11 (Etc/GMT names invert the sign)
    offset = (hour - now.hour + 12) % 24 - 12
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@dataclass
class Phone:
    """One person's Telegram, played through the emulator."""

    emu: Emulator
    user_id: int
    language_code: str = "en"
    seen: int = 0
    _made: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.emu.citizens.create(self.user_id, f"User {self.user_id}", self.language_code)

    def messages(self) -> list[ChatMessage]:
        return self.emu.bot_messages(self.user_id) if self.user_id in self.emu.state.chats else []

    def texts(self) -> list[str]:
        return [m.text or m.caption or m.kind for m in self.messages()]

    async def send(self, text: str) -> None:
        await self.emu.citizens.send_text(self.user_id, text)

    async def expect(self, count: int = 1) -> list[ChatMessage]:
        """The next `count` messages from the bot (edits do not count)."""
        everything = await self.emu.wait_for_messages(self.user_id, self.seen + count, TIMEOUT)
        new = everything[self.seen :]
        self.seen = len(everything)
        return new

    async def tap(self, message: ChatMessage, data_or_label: str) -> None:
        """Tap a button by its exact callback data, or by (part of) its label."""
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        buttons = [b for row in rows for b in row]
        for b in buttons:
            if b.get("callback_data") == data_or_label:
                break
        else:
            matching = [b for b in buttons if data_or_label in b.get("text", "")]
            assert matching, f"no button {data_or_label!r} in {buttons}"
            b = matching[0]
        await self.emu.citizens.tap(self.user_id, message.message_id, b["callback_data"])

    def menu(self) -> list[str]:
        return [c["command"] for c in self.emu.commands_for_chat(self.user_id)]


@dataclass
class World:
    emu: Emulator
    app: App
    runtime: Runtime
    outreach: Outreach

    async def tick(self) -> TickReport:
        """One outreach tick (what the bot's scheduler does every few seconds), then
        wait until what it queued is out."""
        report = await self.outreach.tick()
        assert not report.errors, report.errors
        self.runtime.sender.wake()
        await self.settled()
        return report

    async def later(self, delta: timedelta) -> TickReport:
        """Move the controllable clock (as `konsulta clock advance` would) and tick."""
        assert isinstance(self.app.clock, ControllableClock)
        await self.app.clock.advance(delta)
        return await self.tick()

    def phone(self, user_id: int, language_code: str = "en") -> Phone:
        return Phone(self.emu, user_id, language_code)

    async def consultation(self, slug: str) -> Consultation:
        async with self.app.uow() as uow:
            found = await uow.consultations.get_by_slug(slug)
            assert found is not None
            return found

    async def make_leader(self, user_id: int, community: str = COMMUNITY) -> Phone:
        """Staff make a Telegram user a leader (what `konsulta leaders add` does)."""
        phone = self.phone(user_id)
        await phone.send("/help")  # the leader has talked to the bot before
        await phone.expect()
        async with self.app.uow() as uow:
            await add_leader(self.app, uow, user_id, community, ORGANISATION)
            await uow.commit()
        self.runtime.sender.wake()
        await self.settled()
        return phone

    async def settled(self) -> None:
        await settled(self.app, self.emu)
