"""`konsulta web [--host 127.0.0.1] [--port 8000]`: the staff dashboard."""

from __future__ import annotations

import logging
import re
from typing import Any

import uvicorn

from bot.commands.secrets import refused
from konsulta.settings import Settings


def register(sub: Any) -> None:
    parser = sub.add_parser("web", help="serve the staff dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.set_defaults(handler=lambda args, settings: serve(settings, args.host, args.port))


#: Participant ids in a logged URL (/citizens/p-..., a leader-helped a-...).
PARTICIPANT_IN_PATH = re.compile(r"\b([pa])-[a-z2-7]{8,}\b")


class HidePseudonyms(logging.Filter):
    """The access log names pages, not people: participant ids in paths are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                PARTICIPANT_IN_PATH.sub(r"\1-…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


async def serve(settings: Settings, host: str, port: int) -> int:
    if (code := refused(settings, ["pseudonym_secret", "web_session_secret"])) is not None:
        return code
    from review.web import web_app_from_settings  # seconds to import: not for --help

    config = uvicorn.Config(
        web_app_from_settings(settings), host=host, port=port, proxy_headers=True, log_level="info"
    )
    logging.getLogger("uvicorn.access").addFilter(HidePseudonyms())
    await uvicorn.Server(config).serve()
    return 0
