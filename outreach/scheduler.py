"""The tick: APScheduler 3 calls it; everything it acts on is a row in the database.

Three interval jobs on an `AsyncIOScheduler` in the bot's event loop: the outreach tick
(every `outreach_tick_seconds`: schedule and start follow-ups, send reminders, then
the broadcast work), a one-second broadcast job that keeps the outbox topped up
while a broadcast runs, and an hourly retention job whose first run of each day
purges (`konsulta.retention`: the day's claim row makes it once across processes),
and, with `KONSULTA_STT` on, a transcripts job that transcribes a few voice answers
at a time (`outreach.transcripts`).
No job carries state and none is persisted (no pickled
jobs): a restarted process simply ticks again and finds the same due rows. The jobs
of several processes on one PostgreSQL never clash: every step claims its rows
(`FOR UPDATE SKIP LOCKED`) or relies on a unique key. Tests call `tick()` directly
after moving the controllable clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from konsulta.bootstrap import App
from konsulta.broadcasts import Broadcasts
from konsulta.quiet import QuietHours
from konsulta.retention import PurgeReport, Retention
from outreach.followups import FollowUps
from outreach.reminders import Reminders
from outreach.transcripts import FetchFile, Transcripts

__all__ = ["Outreach", "TickReport"]

log = logging.getLogger(__name__)

#: Longest one broadcast job spends writing recipients before it lets others in.
MATERIALIZE_BUDGET = 0.5

#: How often the retention job asks whether today's purge is done (one insert).
RETENTION_CHECK_SECONDS = 3600

#: How often the transcripts job looks for voice notes without a transcript.
TRANSCRIPTS_SECONDS = 30


@dataclass
class TickReport:
    now: datetime | None = None
    followups_scheduled: int = 0
    followups_started: int = 0
    reminders: int = 0
    broadcasts_started: int = 0
    recipients_written: int = 0
    queued: int = 0
    broadcasts_finished: int = 0
    errors: list[str] = field(default_factory=list)


class Outreach:
    def __init__(
        self,
        app: App,
        wake: Callable[[], None] | None = None,
        *,
        fetch_file: FetchFile | None = None,
    ) -> None:
        self.app = app
        self.wake = wake or (lambda: None)
        settings = app.settings
        quiet = QuietHours.from_text(
            settings.quiet_hours_start, settings.quiet_hours_end, settings.default_timezone
        )
        self.followups = FollowUps(app, quiet)
        self.reminders = Reminders(app, quiet)
        self.broadcasts = Broadcasts(app, quiet)
        self.retention = Retention(app)
        #: Needs the bot's `fetch_file` (a Telegram download) and an STT engine.
        self.transcripts = Transcripts(app, fetch_file)
        self._lock = asyncio.Lock()
        self._scheduler: AsyncIOScheduler | None = None
        #: Job runs under way (shutdown lets them finish rather than cancel them).
        self._running: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        # One line per job run every second is noise; warnings and errors stay.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._job,
            "interval",
            args=[self.tick],
            seconds=self.app.settings.outreach_tick_seconds,
            id="outreach-tick",
            next_run_time=datetime.now(UTC),
            **common,
        )
        scheduler.add_job(
            self._job, "interval", args=[self.broadcast_tick], seconds=1, id="broadcasts", **common
        )
        scheduler.add_job(
            self._job,
            "interval",
            args=[self.purge],
            seconds=RETENTION_CHECK_SECONDS,
            id="retention",  # first run an interval after start: a restart loop never purges
            **common,
        )
        if self.transcripts.on:  # its own job: a slow model never delays the tick
            scheduler.add_job(
                self._job,
                "interval",
                args=[self.transcribe],
                seconds=TRANSCRIPTS_SECONDS,
                id="transcripts",
                **common,
            )
        scheduler.start()
        self._scheduler = scheduler

    async def _job(self, run: Callable[[], Awaitable[object]]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await run()
        finally:
            self._running.discard(task)

    async def shutdown(self) -> None:
        """Stop ticking once the job under way has finished its transaction.

        APScheduler's asyncio executor cancels running jobs on shutdown; a job
        cancelled mid-query leaves its connection checkout half done (and a traceback
        in the log). So new runs are paused first, the running ones awaited, and only
        then is the scheduler shut down.
        """
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.pause()
        await asyncio.sleep(0)  # a run handed to the loop just now registers itself
        await asyncio.gather(*self._running, return_exceptions=True)
        scheduler.shutdown(wait=False)

    async def _step(self, report: TickReport, name: str, step: Callable[[], Awaitable[int]]) -> int:
        try:
            return await step()
        except Exception as error:  # one failing step must not stop the others
            log.exception("outreach step %s failed", name)
            report.errors.append(f"{name}: {error}")
            return 0

    async def tick(self) -> TickReport:
        """Everything that is due now on the outreach clock."""
        async with self._lock:
            report = TickReport()
            await self.app.clock.refresh()
            now = report.now = self.app.clock.now()
            report.followups_scheduled = await self._step(
                report, "schedule follow-ups", lambda: self.followups.schedule(now)
            )
            report.followups_started = await self._step(
                report, "follow-ups", lambda: self.followups.fire_due(now)
            )
            report.reminders = await self._step(
                report, "reminders", lambda: self.reminders.send_due(now)
            )
            await self._broadcasts(report, now)
        if report.followups_started or report.reminders or report.queued:
            self.wake()
        return report

    async def purge(self) -> PurgeReport | None:
        """Today's retention purge, if no process has done it yet (never raises: a
        failed purge leaves no claim and the next run tries again)."""
        try:
            report = await self.retention.purge()
        except Exception:
            log.exception("retention purge failed")
            return None
        if report is not None:
            log.info("retention purge %s: %s", report.day, report.counts()["total"])
        return report

    async def transcribe(self) -> int:
        """A few voice notes' machine transcripts (never raises: a failure is logged
        and the next run goes on)."""
        try:
            return await self.transcripts.run()
        except Exception:
            log.exception("transcripts failed")
            return 0

    async def broadcast_tick(self) -> TickReport:
        async with self._lock:
            report = TickReport()
            await self.app.clock.refresh()
            report.now = self.app.clock.now()
            await self._broadcasts(report, report.now)
        if report.queued:
            self.wake()
        return report

    async def _broadcasts(self, report: TickReport, now: datetime) -> None:
        report.broadcasts_started = await self._step(
            report, "start broadcasts", lambda: self.broadcasts.start_due(now)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MATERIALIZE_BUDGET
        while loop.time() < deadline:
            written = await self._step(
                report, "write recipients", lambda: self.broadcasts.materialize(now)
            )
            report.recipients_written += written
            if not written:
                break
        # Feeding stops when the window is about full, or once this run has queued a
        # whole window (5 s of sending, in a one-second job). The sender drains the
        # window while a feed runs, so once a feed takes longer than the sender needs
        # for 100 messages, every feed finds room again: with no other limit the job
        # fed until the whole backlog of written recipients was queued, never coming
        # back to write the rest (a million-recipient broadcast stopped writing at
        # 760,000 while sending went on) nor to finish broadcasts, and held the lock
        # the outreach tick waits for.
        fed = 0
        while True:
            queued = await self._step(report, "feed", lambda: self.broadcasts.feed(now))
            report.queued += queued
            fed += queued
            if queued:
                self.wake()
            if queued < 100 or fed >= self.broadcasts.window:
                break
        report.broadcasts_finished = await self._step(
            report, "finish broadcasts", lambda: self.broadcasts.finish(now)
        )
