"""Whatever a citizen does, in whatever order, the bot keeps its head.

Hypothesis plays citizens who tap old and made-up buttons, type nonsense, send
stickers, photos, voice notes, locations and contacts, edit and forward messages and
fire commands (with odd payloads) at the running bot (the real runtime, in-process,
through the emulator). Every update must be handled without an error, nothing may be
logged as an error, and every citizen who wrote keeps getting answers.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from database_checks import session_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from in_process import bot_in_process, settled
from sqlalchemy import func, select

from emulator import Emulator
from konsulta.bootstrap import App
from konsulta.publishing import read_flow
from storage.models import InboxUpdate

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
user_ids = itertools.count(7_100_000)


@dataclass
class World:
    emu: Emulator
    app: App

    async def settled(self) -> None:
        await settled(self.app, self.emu)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with bot_in_process(
        f"sqlite+aiosqlite:///{tmp_path / 'random.db'}",
        [read_flow(FLOWS / f"{name}.yaml") for name in ("senior-housing", "service-need")],
        name="random-citizens",
        migrate=True,
        default_language="en",
        outreach_tick_seconds=3600.0,
    ) as bot:
        yield World(bot.emu, bot.app)


# What a citizen can do; a tap names a message by its place among the bot's messages
# (an old one, the newest, or one that does not exist) and any callback data.
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["1", "-3", "1,5", "7.12.2026", "tak", "yes", "🙂", " ", "{age}", "%s"]),
)
commands = st.sampled_from(
    [
        *("/start", "/help", "/consultations", "/language", "/stop", "/back", "/skip"),
        *("/restart", "/mydata", "/delete", "/nonsense", "/start senior-housing"),
        *("/start service-need", "/start no-such-thing", "/start " + "x" * 70),
    ]
)
callback_data = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from(["t:1:age:65_74", "t:999:age:x", "lang:pl", "lang:zz", "erase:1", "erase:0"]),
)
actions = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("command"), commands),
    st.tuples(st.just("tap"), st.tuples(st.integers(-3, 2), st.none() | callback_data)),
    st.tuples(st.just("sticker"), st.just(None)),
    st.tuples(st.just("photo"), st.just(None)),
    st.tuples(st.just("voice"), st.just(None)),
    st.tuples(st.just("location"), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
    st.tuples(st.just("contact"), st.just("+48 600 000 000")),
    st.tuples(st.just("forward"), texts),
    st.tuples(st.just("edit"), texts),
)


async def act(emu: Emulator, user_id: int, action: str, value: object) -> None:
    citizens = emu.citizens
    mine = emu.bot_messages(user_id) if user_id in emu.state.chats else []
    if action in ("text", "command"):
        await citizens.send_text(user_id, str(value) or ".")
    elif action == "tap":
        assert isinstance(value, tuple)
        place, data = value
        if not mine:
            return
        message = mine[place] if -len(mine) <= place < len(mine) else mine[-1]
        buttons = [
            b["callback_data"]
            for row in (message.reply_markup or {}).get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        ]
        chosen = data if data is not None or not buttons else buttons[0]
        await citizens.tap(user_id, message.message_id, chosen or "x")
    elif action == "sticker":
        await citizens.send_sticker(user_id)
    elif action == "photo":
        await citizens.send_photo(user_id)
    elif action == "voice":
        await citizens.send_voice(user_id)
    elif action == "location":
        assert isinstance(value, tuple)
        await citizens.send_location(user_id, *value)
    elif action == "contact":
        await citizens.send_contact(user_id, str(value))
    elif action == "forward":
        await citizens.forward_text(user_id, str(value) or ".")
    elif action == "edit":
        sent = await citizens.send_text(user_id, "first try")
        await citizens.edit_text(user_id, sent.message_id, str(value) or ".")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    language=st.sampled_from(["pl", "en", "uk", "ar", "de", None]),
    script=st.lists(actions, min_size=1, max_size=12),
)
async def test_any_citizen_behaviour_is_handled_without_an_error(
    world: World,
    caplog: pytest.LogCaptureFixture,
    language: str | None,
    script: list[tuple[str, object]],
) -> None:
    user_id = next(user_ids)
    world.emu.citizens.create(user_id, "Random", language)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        await world.emu.citizens.send_text(user_id, "/start senior-housing")
        for action, value in script:
            await act(world.emu, user_id, action, value)
            await world.settled()
        # Whatever happened, the citizen can still get the bot's attention.
        before = len(world.emu.bot_messages(user_id))
        await world.emu.citizens.send_text(user_id, "/help")
        await world.settled()
    assert len(world.emu.bot_messages(user_id)) > before
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    async with world.app.uow() as uow:
        failed = await session_of(uow).scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.error.is_not(None))
        )
    assert failed == 0
