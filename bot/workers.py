"""`konsulta run --webhook --workers N`: N webhook processes sharing one port.

Each worker is a whole `konsulta run --webhook` process (its own event loop, sender and
scheduler) bound to the same port with SO_REUSEPORT, so the kernel spreads Telegram's
connections over them; they share the work through PostgreSQL exactly as workers on
several machines do (docs/operations.md). This process only starts them, restarts one
that dies, and passes SIGTERM on. Each worker is named `<host>:<port>:<n>`, so a
restarted one takes its own unhandled updates back at once; each keeps 1/N of
Telegram's limits (`KONSULTA_SENDER_PROCESSES`, unless set); with
`KONSULTA_HEALTH_PORT` worker n serves health and metrics on that port + n.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys

from konsulta.settings import Settings

log = logging.getLogger(__name__)

#: Seconds before a worker that died is started again (a crash loop stays slow).
RESTART_AFTER = 1.0
#: Seconds the workers get to finish after SIGTERM before they are killed.
STOP_WITHIN = 30.0


def worker_env(settings: Settings, count: int, index: int) -> dict[str, str]:
    env = dict(os.environ)
    env["KONSULTA_WORKER_NAME"] = f"{socket.gethostname()[:40]}:{settings.webhook_port}:{index}"
    env["KONSULTA_WEBHOOK_REUSE_PORT"] = "true"
    env.setdefault("KONSULTA_SENDER_PROCESSES", str(count))
    if settings.health_port is not None:
        env["KONSULTA_HEALTH_PORT"] = str(settings.health_port + index)
    return env


async def supervise(settings: Settings, count: int, stop: asyncio.Event) -> int:
    """Run `count` workers until `stop`; returns the exit status."""

    async def start(index: int) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--webhook", env=worker_env(settings, count, index)
        )

    workers = [await start(index) for index in range(count)]
    log.info("%d webhook workers on port %s", count, settings.webhook_port)
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            exits = {asyncio.create_task(worker.wait()): n for n, worker in enumerate(workers)}
            done, _ = await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
            for task in exits:
                task.cancel()
            for task in done:
                if task is stopping:
                    continue
                index = exits[task]
                log.warning(
                    "worker %d exited with %s; starting it again", index, workers[index].returncode
                )
                await asyncio.sleep(RESTART_AFTER)
                if not stop.is_set():
                    workers[index] = await start(index)
    finally:
        stopping.cancel()
        for worker in workers:
            if worker.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                await asyncio.wait_for(worker.wait(), STOP_WITHIN)
            except TimeoutError:
                worker.kill()
                await worker.wait()
    return 0
