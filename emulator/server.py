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
from typing import Any

from aiohttp import web

from emulator.citizen_routes import add_citizen_routes
from emulator.config import EmulatorConfig
from emulator.core import EmulatedTelegram
from emulator.errors import BotApiError, bad_request, unauthorized
from emulator.playground import Playground
from emulator.spec import Upload

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class Emulator(EmulatedTelegram):
    """One emulated Telegram served over HTTP: the Bot API, the test routes, the web chat."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        #: The web chat at ``/`` (emulator/playground).
        self.playground = Playground(self)
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
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
    """Serve until interrupted: the entry point of ``python -m emulator``."""

    async def serve() -> None:
        emulator = await start_emulator(host, port, config)
        print(f"Bot API emulator at {emulator.base_url} (token e.g. {emulator.token})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await emulator.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
