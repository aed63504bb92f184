"""`konsulta web [--host 127.0.0.1] [--port 8000]`: the staff dashboard."""

from __future__ import annotations

from typing import Any

import uvicorn

from bot.commands.secrets import refused
from konsulta.settings import Settings
from review.web import web_app_from_settings


def register(sub: Any) -> None:
    parser = sub.add_parser("web", help="serve the staff dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.set_defaults(handler=lambda args, settings: serve(settings, args.host, args.port))


async def serve(settings: Settings, host: str, port: int) -> int:
    if (code := refused(settings, ["pseudonym_secret", "web_session_secret"])) is not None:
        return code
    config = uvicorn.Config(
        web_app_from_settings(settings), host=host, port=port, proxy_headers=True, log_level="info"
    )
    await uvicorn.Server(config).serve()
    return 0
