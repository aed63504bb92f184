"""The playground's HTTP side: the page, its chat views, live pushes, the time machine.

Served by the emulator's own aiohttp app (same port as the Bot API), so a newcomer
runs one command and opens one address. The page acts through the emulator's
``/_test/...`` citizen API like any other test client; this module only adds what a
browser needs on top: one JSON view per chat (messages already rendered to safe HTML,
see ``view.py``), a Server-Sent Events stream that says which chat changed, the fake
citizens to switch between, and the bot's clock when the bot runs with one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from babel import Locale, UnknownLocaleError

from emulator.playground.view import chat_view
from emulator.state import ChatEvent

if TYPE_CHECKING:
    from emulator.core import EmulatedTelegram as Emulator

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent
#: The only files the page loads; nothing else in the folder is served.
STATIC_FILES = {
    "playground.css": "text/css",
    "playground.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
#: Seconds between keep-alive comments on the event stream.
HEARTBEAT_SECONDS = 15.0
#: The furthest one press of the time machine may move the clock.
MAX_JUMP = timedelta(days=3650)


class TimeMachine(Protocol):
    """The bot's controllable clock, as far as the playground needs it.

    `konsulta run --emulator` plugs in the bot's clock when it has one; the playground
    shows the time-travel control only then.
    """

    async def now(self) -> datetime:
        """The bot's current time (UTC, aware)."""
        ...

    async def advance(self, by: timedelta) -> datetime:
        """Move the bot's clock forward by ``by``; returns the new time."""
        ...


@dataclass(frozen=True)
class FakeCitizen:
    """A person the page can be, with the phone number "share contact" sends."""

    id: int
    first_name: str
    language_code: str
    phone_number: str


FAKE_CITIZENS = (
    FakeCitizen(1001, "Anna", "pl", "+48600100201"),
    FakeCitizen(1002, "Oleh", "uk", "+48600100202"),
    FakeCitizen(1003, "Sam", "en", "+447700900103"),
    FakeCitizen(1004, "Amira", "ar", "+48600100204"),
)

#: Telegram language codes the selector offers (the bot may speak fewer).
LANGUAGES = ("pl", "uk", "en", "ar", "ru", "de", "ro", "hu", "et", "es", "fi", "sv", "nl", "it")

#: "Share location" without a map: a default town and a few others, or typed numbers.
PLACES = (
    {"name": "Słupsk", "latitude": 54.4641, "longitude": 17.0285},
    {"name": "Ustka", "latitude": 54.5805, "longitude": 16.8619},
    {"name": "Gdańsk", "latitude": 54.3520, "longitude": 18.6466},
    {"name": "Warszawa", "latitude": 52.2297, "longitude": 21.0122},
    {"name": "Tartu", "latitude": 58.3780, "longitude": 26.7290},
)


def language_name(code: str) -> str:
    """The language named in itself ("Polski", "Українська"), or the bare code."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        return code
    return (name or code)[:1].upper() + (name or code)[1:]


def parse_jump(body: dict[str, Any]) -> timedelta:
    """``{"hours": h, "days": d}`` from the page as a forward jump; ValueError if not."""
    parts: dict[str, float] = {}
    for unit in ("days", "hours"):
        raw = body.get(unit, 0)
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError(f"{unit} must be a number")
        try:
            value = float(raw or 0)
        except ValueError:
            raise ValueError(f"{unit} must be a number") from None
        if not 0 <= value <= MAX_JUMP.days * 24:  # also refuses nan and inf
            raise ValueError(f"{unit} must be between 0 and {MAX_JUMP.days * 24}")
        parts[unit] = value
    jump = timedelta(days=parts["days"], hours=parts["hours"])
    if jump <= timedelta(0):
        raise ValueError("move the clock forward by some hours or days")
    if jump > MAX_JUMP:
        raise ValueError(f"at most {MAX_JUMP.days} days at a time")
    return jump


class Playground:
    """The web chat of one emulator: its routes, its subscribers, its time machine."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.citizens = FAKE_CITIZENS
        #: Set by `konsulta run --emulator` when the bot runs with a controllable clock.
        self.time_machine: TimeMachine | None = None
        self._streams: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._closing = False
        emulator.state.listeners.append(self._on_chat_event)

    # --- wiring -----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/playground/{name}", self._static)
        app.router.add_get("/_playground/state", self._json(self._state))
        app.router.add_get("/_playground/chats/{user_id}", self._json(self._chat))
        app.router.add_get("/_playground/clock", self._json(self._clock))
        app.router.add_post("/_playground/clock", self._json(self._advance))
        app.router.add_get("/_playground/events", self._events)
        app.on_shutdown.append(self._shutdown)

    def ensure_citizens(self) -> None:
        """The fake citizens exist in the emulator (a changed language is kept)."""
        for fake in self.citizens:
            if fake.id not in self.emulator.state.users:
                self.emulator.citizens.create(fake.id, fake.first_name, fake.language_code)

    async def _shutdown(self, app: web.Application) -> None:
        # Open event streams would otherwise hold the server's shutdown up.
        self._closing = True
        for queue in self._streams:
            queue.put_nowait(None)

    def _json(
        self, handler: Callable[[web.Request], Awaitable[Any]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                result = await handler(request)
            except KeyError as error:
                return web.json_response({"error": str(error.args[0])}, status=404)
            except (ValueError, TypeError) as error:
                return web.json_response({"error": str(error)}, status=400)
            return web.json_response(result, headers={"Cache-Control": "no-store"})

        return wrapper

    # --- the page ---------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            STATIC_DIR / "index.html",
            headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        )

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(
            STATIC_DIR / name,
            headers={"Content-Type": STATIC_FILES[name], "Cache-Control": "no-store"},
        )

    # --- JSON views ---------------------------------------------------------------------

    async def _state(self, request: web.Request) -> dict[str, Any]:
        self.ensure_citizens()
        users = self.emulator.state.users
        citizens = []
        for fake in self.citizens:
            language = users[fake.id].language_code or ""
            citizens.append({**asdict(fake), "language_code": language})
        return {
            "bot": self.emulator.api.bot_user(),
            "citizens": citizens,
            "languages": [{"code": code, "name": language_name(code)} for code in LANGUAGES],
            "places": list(PLACES),
            "clock": await self._clock(request),
        }

    async def _chat(self, request: web.Request) -> dict[str, Any]:
        user_id = int(request.match_info["user_id"])
        citizen = self.emulator.state.users.get(user_id)
        if citizen is None:
            raise KeyError(f"no citizen {user_id}")
        return chat_view(
            self.emulator.state.chats.get(user_id),
            citizen,
            self.emulator.commands_for_chat(user_id),
        )

    async def _clock(self, request: web.Request) -> dict[str, Any]:
        if self.time_machine is None:
            return {"available": False}
        return _clock_json(await self.time_machine.now())

    async def _advance(self, request: web.Request) -> dict[str, Any]:
        if self.time_machine is None:
            raise KeyError("the bot runs without a controllable clock")
        body = await request.json() if request.body_exists else {}
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        now = await self.time_machine.advance(parse_jump(body))
        clock = _clock_json(now)
        self._push({"kind": "clock", **clock})
        return clock

    # --- live pushes --------------------------------------------------------------------

    def _on_chat_event(self, event: ChatEvent) -> None:
        if event.kind == "update" or not self._streams:
            return  # "update" is the bot's queue moving, nothing the page shows
        pushed: dict[str, Any] = {
            "kind": event.kind,
            "chat_id": event.chat_id,
            "message_id": event.message_id,
        }
        if event.kind == "callback_answered":
            pushed.update(self._toast(event))
        self._push(pushed)

    def _toast(self, event: ChatEvent) -> dict[str, Any]:
        """What answerCallbackQuery said, shown like Telegram's toast or alert."""
        for record in reversed(self.emulator.callback_answers(event.chat_id)):
            if record.message_id == event.message_id and record.answered:
                return {"toast": record.text, "alert": record.show_alert}
        return {}

    def _push(self, pushed: dict[str, Any]) -> None:
        for queue in self._streams:
            queue.put_nowait(pushed)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: one JSON line per change; the page refetches what it shows."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._streams.add(queue)
        try:
            await response.write(b'retry: 1000\ndata: {"kind": "hello"}\n\n')
            while not self._closing:
                try:
                    pushed = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if pushed is None:
                    break
                data = json.dumps(pushed, ensure_ascii=False)
                await response.write(f"data: {data}\n\n".encode())
        except (ConnectionResetError, ConnectionError):
            pass  # the page was closed or reloaded
        finally:
            self._streams.discard(queue)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response


def _clock_json(now: datetime) -> dict[str, Any]:
    aware = now if now.tzinfo else now.replace(tzinfo=UTC)
    ahead = (aware - datetime.now(UTC)).total_seconds()
    return {"available": True, "now": aware.isoformat(), "ahead_seconds": round(ahead)}
