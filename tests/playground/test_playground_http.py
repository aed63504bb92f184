"""The playground's HTTP side, in-process: the page, chat views, live pushes, the clock.

No browser here: the emulator runs in the test's event loop and an aiohttp client
plays the page, so these stories are fast and show exactly what the page receives.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from emulator import Emulator, EmulatorConfig, start_emulator

ANNA = 1001


class FakeTimeMachine:
    """The bot's clock as the playground sees it, moved only by the test."""

    def __init__(self) -> None:
        self.current = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    async def now(self) -> datetime:
        return self.current

    async def advance(self, by: timedelta) -> datetime:
        self.current += by
        return self.current


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await start_emulator("127.0.0.1", 0, EmulatorConfig())
    try:
        yield emu
    finally:
        await emu.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def bot_call(
    emu: Emulator, http: aiohttp.ClientSession, method: str, **params: Any
) -> dict[str, Any]:
    async with http.post(f"{emu.base_url}/bot{emu.token}/{method}", json=params) as response:
        body: dict[str, Any] = await response.json()
    assert body["ok"], body
    return body


async def get_json(http: aiohttp.ClientSession, url: str, status: int = 200) -> Any:
    async with http.get(url) as response:
        assert response.status == status, await response.text()
        return await response.json()


class EventStream:
    """The page's EventSource: reads `data:` lines as JSON."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self) -> dict[str, Any]:
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), 10)).decode()
            if line.startswith("data: "):
                pushed: dict[str, Any] = json.loads(line[6:])
                return pushed

    async def next_of(self, kind: str) -> dict[str, Any]:
        while True:
            pushed = await self.next()
            if pushed["kind"] == kind:
                return pushed


async def test_the_page_and_its_files_are_served_and_nothing_else(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{emulator.base_url}/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    assert "Konsulta playground" in page
    assert "http" not in page.replace(emulator.base_url, "")  # nothing from the internet
    for name, kind in [("playground.js", "text/javascript"), ("playground.css", "text/css")]:
        async with http.get(f"{emulator.base_url}/playground/{name}") as response:
            assert (response.status, response.content_type) == (200, kind)
    for name in ["server.py", "..%2Fserver.py", "__init__.py", "index.html"]:
        async with http.get(f"{emulator.base_url}/playground/{name}") as response:
            assert response.status == 404, name


async def test_the_fake_citizens_exist_once_the_page_asks(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    state = await get_json(http, f"{emulator.base_url}/_playground/state")
    assert [(c["first_name"], c["language_code"]) for c in state["citizens"]] == [
        ("Anna", "pl"),
        ("Oleh", "uk"),
        ("Sam", "en"),
        ("Amira", "ar"),
    ]
    assert {"code": "pl", "name": "Polski"} in state["languages"]
    assert state["places"][0]["name"] == "Słupsk"
    assert state["clock"] == {"available": False}
    assert emulator.state.users[ANNA].language_code == "pl"
    # A language changed from the page is kept when the page loads again.
    emulator.citizens.set_language(ANNA, "uk")
    again = await get_json(http, f"{emulator.base_url}/_playground/state")
    assert again["citizens"][0]["language_code"] == "uk"


async def test_a_bot_message_shows_formatted_with_its_buttons_and_keyboard(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    await get_json(http, f"{emulator.base_url}/_playground/state")
    await bot_call(
        emulator,
        http,
        "sendMessage",
        chat_id=ANNA,
        parse_mode="HTML",
        text='<i>1/3</i>\nCzy <b>dobrze</b>? <a href="javascript:alert(1)">x</a> &lt;b&gt;',
        reply_markup={"inline_keyboard": [[{"text": "Tak", "callback_data": "t:1:q:yes"}]]},
    )
    await bot_call(
        emulator,
        http,
        "sendMessage",
        chat_id=ANNA,
        text="Gdzie?",
        reply_markup={
            "keyboard": [[{"text": "📍 Lokalizacja", "request_location": True}]],
            "one_time_keyboard": True,
        },
    )
    view = await get_json(http, f"{emulator.base_url}/_playground/chats/{ANNA}")
    first = view["messages"][0]
    assert first["html"] == (
        '<i>1/3</i>\nCzy <b>dobrze</b>? <a class="unsafe-link">x</a> &lt;b&gt;'
    )
    assert first["keyboard"] == [[{"text": "Tak", "callback_data": "t:1:q:yes"}]]
    assert view["reply_keyboard"]["rows"] == [[{"text": "📍 Lokalizacja", "request": "location"}]]
    assert view["citizen"]["first_name"] == "Anna"
    await get_json(http, f"{emulator.base_url}/_playground/chats/999", status=404)


async def test_the_page_hears_of_each_change_without_reloading(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    await get_json(http, f"{emulator.base_url}/_playground/state")
    async with http.get(f"{emulator.base_url}/_playground/events") as response:
        assert response.content_type == "text/event-stream"
        stream = EventStream(response)
        assert (await stream.next())["kind"] == "hello"
        sent = await bot_call(emulator, http, "sendMessage", chat_id=ANNA, text="Dzień dobry")
        message_id = sent["result"]["message_id"]
        assert await stream.next_of("message") == {
            "kind": "message",
            "chat_id": ANNA,
            "message_id": message_id,
        }
        await bot_call(
            emulator, http, "editMessageText", chat_id=ANNA, message_id=message_id, text="Cześć"
        )
        assert (await stream.next_of("edited"))["message_id"] == message_id
        # A tap answered with a text shows as Telegram's toast.
        await bot_call(
            emulator,
            http,
            "editMessageReplyMarkup",
            chat_id=ANNA,
            message_id=message_id,
            reply_markup={"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
        )
        record = await emulator.citizens.tap(ANNA, message_id, "ok")
        await bot_call(
            emulator, http, "answerCallbackQuery", callback_query_id=record.id, text="Zapisane"
        )
        answered = await stream.next_of("callback_answered")
        assert (answered["toast"], answered["alert"]) == ("Zapisane", False)
    # The emulator stops although a page is still listening.
    stream_open = await http.get(f"{emulator.base_url}/_playground/events")
    assert (await EventStream(stream_open).next())["kind"] == "hello"
    await emulator.close()
    assert (await stream_open.content.read()).strip() == b""  # the stream ended
    stream_open.release()


async def test_time_travel_moves_the_bots_clock_when_it_has_one(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    url = f"{emulator.base_url}/_playground/clock"
    async with http.post(url, json={"days": 14}) as response:
        assert response.status == 404  # no controllable clock: nothing to move
    machine = FakeTimeMachine()
    emulator.playground.time_machine = machine
    async with http.get(f"{emulator.base_url}/_playground/events") as events:
        stream = EventStream(events)
        async with http.post(url, json={"days": 14, "hours": 2}) as response:
            moved = await response.json()
        assert machine.current == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
        assert moved["now"] == "2026-12-07T14:00:00+00:00"
        assert (await stream.next_of("clock"))["now"] == moved["now"]
    async with http.post(url, json={"days": -3}) as response:
        assert response.status == 400
        assert "between 0" in (await response.json())["error"]
    assert (await get_json(http, url))["now"] == "2026-12-07T14:00:00+00:00"


async def test_run_emulator_moves_to_a_free_port_when_its_port_is_taken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.commands.run import start_emulator_near

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        emu = await start_emulator_near(port)
        try:
            assert emu.base_url.startswith("http://127.0.0.1:")
            assert not emu.base_url.endswith(f":{port}")
            assert f"port {port} is busy" in capsys.readouterr().err
        finally:
            await emu.close()
