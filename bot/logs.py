"""Log lines as text for a person, or as JSON for a log collector.

`KONSULTA_LOG_FORMAT=json` writes one JSON object per line: `time` (UTC, ISO 8601),
`level`, `logger`, `message`, the `update_id` being handled when there is one (see
`handling_update`), the `worker` (`KONSULTA_WORKER_NAME`'s value), and for an error
the exception's type and where it was raised (`error`, `stack`). The exception's own
message is left out in JSON: it may quote what a citizen typed (a parser's complaint
about their answer), and the JSON lines are the ones shipped to a collector. Secrets
never reach a log line: settings are logged only through `Settings.redacted()`.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_logging", "handling_update"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Libraries that say too much at INFO.
NOISY = ("aiosqlite", "alembic", "aiogram.event")

_UPDATE: ContextVar[int | None] = ContextVar("konsulta_log_update", default=None)


@contextmanager
def handling_update(update_id: int) -> Iterator[None]:
    """Log lines written while this update is handled carry its id (JSON format)."""
    token = _UPDATE.set(update_id)
    try:
        yield
    finally:
        _UPDATE.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, worker: str | None = None) -> None:
        super().__init__()
        self.worker = worker

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        update_id = _UPDATE.get()
        if update_id is not None:
            line["update_id"] = update_id
        if self.worker:
            line["worker"] = self.worker
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = type(error).__name__
            line["stack"] = [
                f"{frame.filename}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(error.__traceback__)
            ]
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str = "text", *, worker: str | None = None) -> None:
    """A handler on stderr in the format asked for, as `logging.basicConfig` would:
    not when the root logger has handlers already (an embedding program's, pytest's)."""
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(worker))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
