"""The emulator as a real HTTP server, reachable at a Bot API base URL.

A bot points aiogram's ``TelegramAPIServer.from_base(emulator.base_url)`` at it and
talks HTTP exactly as it would to Telegram: ``/bot{token}/{method}`` and
``/file/bot{token}/{path}``. Tests in the same process use :class:`Emulator`
directly; tests in other processes (and later a browser page) use ``/_test/...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.emulator.citizens import Citizens
from bot.emulator.config import EmulatorConfig
from bot.emulator.errors import BotApiError, bad_request, unauthorized
from bot.emulator.limits import RateLimiter, SendingStats
from bot.emulator.methods import BotApi
from bot.emulator.playground import Playground
from bot.emulator.spec import BotApiSpec, Upload
from bot.emulator.state import CallbackQueryRecord, Chat, ChatMessage, EmulatorState
from bot.emulator.webhook import WebhookDelivery

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@lru_cache(maxsize=4)
def _load_spec(path: Path | None) -> BotApiSpec:
    # api.json is ~1 MB; tests start many emulators, so parse it once per path.
    return BotApiSpec.load(path)


class Emulator:
    """One emulated Telegram with one bot: state, Bot API, citizens, HTTP server."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.spec = _load_spec(self.config.spec_path)
        self.state = EmulatorState()
        self.limiter = RateLimiter(self.config.rate_limits, self.config.clock)
        self.webhook = WebhookDelivery(self.state, self.config.webhook)
        self.api = BotApi(self.state, self.spec, self.limiter, self.config, self.webhook)
        self.citizens = Citizens(self.state, self.api.bot_user)
        #: The web chat at ``/`` (bot/emulator/playground).
        self.playground = Playground(self)
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    @property
    def token(self) -> str:
        """A token the emulator accepts, for bots built in tests."""
        return self.config.token or f"{self.config.bot_id}:emulator-token"

    @property
    def stats(self) -> SendingStats:
        return self.limiter.stats

    def build_app(self) -> web.Application:
        from bot.emulator.citizen_routes import add_citizen_routes

        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        add_citizen_routes(app, self)
        self.playground.add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port``; port 0 picks a free one (see ``base_url``)."""
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1] if self._runner.addresses else port
        self.base_url = f"http://{host}:{bound_port}"

    async def close(self) -> None:
        self.state.close()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- what tests read --------------------------------------------------------------

    def chat(self, chat_id: int) -> Chat:
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no chat {chat_id}")
        return chat

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        """Everything the bot sent to the chat, as it looks now (edits, deletions)."""
        return self.chat(chat_id).bot_messages()

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[ChatMessage]:
        """Wait until the bot has sent ``count`` messages to the chat in total."""
        ready = await self.state.wait_until(
            lambda: chat_id in self.state.chats and len(self.bot_messages(chat_id)) >= count,
            timeout,
        )
        if not ready:
            sent = [m.text or m.caption or m.kind for m in self.bot_messages(chat_id)]
            raise TimeoutError(f"chat {chat_id}: wanted {count} bot messages, got {sent}")
        return self.bot_messages(chat_id)

    def file_bytes(self, file_id: str) -> bytes:
        return self.state.files[file_id].data

    def commands_for_chat(self, chat_id: int) -> list[dict[str, Any]]:
        """The command menu this chat sees, resolved by scope and the citizen's language."""
        citizen = self.state.users.get(chat_id)
        language = citizen.language_code if citizen else None
        return self.state.commands_for_chat(chat_id, language)

    def callback_answers(self, chat_id: int | None = None) -> list[CallbackQueryRecord]:
        return [
            record
            for record in self.state.callback_queries.values()
            if chat_id is None or record.chat_id == chat_id
        ]

    # --- Bot API over HTTP --------------------------------------------------------------

    def _check_token(self, token: str) -> None:
        if self.config.token is not None and token != self.config.token:
            raise unauthorized()
        if not _TOKEN.fullmatch(token):
            raise unauthorized()

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            self._check_token(request.match_info["token"])
            raw, uploads = await _read_parameters(request)
            result = await self.api.call(method, raw, uploads)
        except BotApiError as error:
            if error.error_code >= 500:
                log.warning("%s: %s", method, error.description)
            return web.json_response(error.to_json(), status=error.error_code)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        try:
            self._check_token(request.match_info["token"])
        except BotApiError as error:
            return web.json_response(error.to_json(), status=error.error_code)
        stored = self.state.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: file not found"},
                status=404,
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


async def _read_parameters(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string plus a JSON, urlencoded or multipart body, as Telegram accepts."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if not request.body_exists:
        return raw, uploads
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        raw.update(body)
        return raw, uploads
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            uploads[name] = Upload(
                filename=value.filename,
                content_type=value.content_type,
                data=value.file.read(),
            )
        else:
            raw[name] = value
    return raw, uploads


async def start_emulator(
    host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
) -> Emulator:
    """Start an emulator and return its handle (``base_url``, ``close()``)."""
    emulator = Emulator(config)
    await emulator.start(host, port)
    return emulator


def run(host: str = "127.0.0.1", port: int = 8081, config: EmulatorConfig | None = None) -> None:
    """Serve until interrupted: the entry point of ``python -m bot.emulator``."""

    async def serve() -> None:
        emulator = await start_emulator(host, port, config)
        print(f"Bot API emulator at {emulator.base_url} (token e.g. {emulator.token})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await emulator.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
