"""`/healthz` and `/readyz` for the dashboard, as the bot's webhook server has them.

`/healthz`: the process answers. `/readyz`: the database answers and is at the newest
migration (the dashboard does not talk to Telegram). Neither needs a login nor says
more than which check failed.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from storage.health import database_revision
from storage.migrate import head_revision

log = logging.getLogger(__name__)

#: A probe waits at most this long for the database.
PROBE_TIMEOUT = 5.0
_HEAD = head_revision()


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    engine = request.app.state.dashboard.app.engine
    checks: dict[str, bool] = {}
    try:
        revision = await asyncio.wait_for(database_revision(engine), PROBE_TIMEOUT)
    except Exception as error:  # the database does not answer
        log.warning("readiness: database: %s", type(error).__name__)
        checks.update(database=False, migrations=False)
    else:
        checks.update(database=True, migrations=revision == _HEAD)
    checks["ready"] = all(checks.values())
    status = 200 if checks["ready"] else 503
    return Response(json.dumps(checks), status_code=status, media_type="application/json")


def routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz), Route("/readyz", readyz)]
