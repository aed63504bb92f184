"""The one sender: every message of the bot goes out through here, from the outbox.

Invariants (each proven by the test named after it):

1. **Per-chat FIFO, across processes.** No message overtakes an earlier one to the same
   chat. The claim (`OutboxRepository.claim_due`) takes only a chat's head: a row with
   no earlier unsent row of that chat. A row held back (the chat's pace, a 429, a
   network fault, a dead sender's lease) stays the head, so it keeps its place.
   Priorities order chats (a reply before a broadcast), never rows within a chat.
   `tests/delivery/test_outbox_model.py::test_the_outbox_never_reorders_drops_or_doubles`,
   `tests/bot/test_chaos.py::test_fast_citizens_through_an_outage_429s_and_a_kill_9`.
2. **At most one message per chat in flight.** Only heads are claimed, and a sender
   holds at most one row per chat (`held`). The same two tests.
3. **Exactly once, but for the in-flight window.** A row is marked `sending` (only if
   this sender still owns its claim: `claims` is the fencing token) in a committed
   transaction right before its Bot API call. A row a dead process left `sending` is
   taken as sent once its lease ends, never sent twice; a crash between that commit
   and the request leaving the process loses that message ("in doubt", logged).
   `tests/bot/test_crash_resume.py::test_replies_handed_straight_to_the_sender_survive_kill_9_before_they_went_out`,
   `tests/delivery/test_outbox_model.py` (restarts).
4. **Nothing lost to a fault.** A network error or a 5xx counts an attempt
   (`attempts` counts real failures only, never pacing or 429s) and is retried, that
   row after a back-off capped at `MAX_BACKOFF`, forever; the whole sender pauses
   and probes the Bot API (`getMe`, back-off capped at `PROBE_MAX`); as soon as the
   API answers (a probe or any other call of the bot, e.g. getUpdates) everything
   resumes. Held rows keep their leases renewed however long the outage. A row is
   given up only on a permanent error: 403 (blocked: the chat's queue is closed) or a
   400 the sender cannot fix, logged with its id and reason and counted (`failed`).
   `tests/delivery/test_outbox_model.py::test_a_network_outage_loses_nothing_and_counts_only_real_failures`,
   `tests/bot/test_chaos.py::test_fast_citizens_through_an_outage_429s_and_a_kill_9`.
5. **Telegram's limits.** Token buckets (`throttle.py`): ~30/s per bot (1000/s paid
   broadcasts), ~1/s per chat with short bursts, 20/min per group; a 429 pauses all
   sending for `retry_after` and halves the per-bot rate, which recovers gradually.
   `tests/bot/test_sender_limits.py`, `tests/delivery/test_adaptive_pace.py`.

Rows of kinds a citizen can opt out of (broadcasts, follow-ups, reminders) are skipped
when claimed if the citizen sent /stop or blocked the bot since they were queued.
Handlers answer taps through the same bot; the sender registers
`bot.telegram.inbox.LateCallbackAnswers` on it, so that a late `answerCallbackQuery`
(Telegram refuses it after about 15 s) is taken as done wherever a sender runs
(`tests/bot/test_taps_answered_too_late.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import EditMessageText, GetMe, Response, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message
from aiohttp import ClientError, ClientTimeout

from bot.telegram.inbox import LateCallbackAnswers
from bot.telegram.keyboards import KeyboardTracker
from bot.telegram.render import inline_keyboard, message_html, render
from bot.telegram.throttle import Limits
from konsulta.bootstrap import App
from konsulta.speech import VoiceNote
from storage.engine import fold_in_erasures
from storage.models import DeliveryStatus, OutboxMessage
from storage.sqlite_driver import statements_inline
from storage.types import utcnow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

#: Kinds a citizen's /stop (or a block) cancels even after they were queued.
OPT_OUT_KINDS = {"broadcast", "followup", "reminder"}
#: Longest wait before a row that failed is tried again (its back-off doubles up to it).
MAX_BACKOFF = 60.0
#: Longest wait between two probes of an unreachable Bot API.
PROBE_MAX = 10.0
#: Waves of sends in flight at once (each wave starts with one committed transaction).
MAX_WAVES = 4
#: Most rows one claim takes: building a thousand rows holds the event loop (and
#: every send under way) for tens of milliseconds; a few smaller claims do not.
CLAIM_MAX = 250
#: A round with at most this many rows to claim or record runs its statements inline.
INLINE_ROWS = 20
#: How often rows a dead sender left `sending` are looked for.
RECOVER_EVERY = 10.0
#: Longest a result waits for a wave's transaction before it is written on its own.
RECORD_WITHIN = 0.1
#: Calls sent as a plain JSON body rather than through aiogram's session (`_send_plain`).
PLAIN = (SendMessage, EditMessageText)
IN_DOUBT = "in doubt: the sending process died during the Bot API call"
NO_VOICE = "not read aloud: no voice for this text or language (KONSULTA_TTS)"


def backoff(failures: int, cap: float = MAX_BACKOFF) -> float:
    """0.5 s after the first failure, doubling, at most `cap`."""
    return float(min(cap, 0.5 * 2 ** min(max(0, failures - 1), 16)))


@dataclass
class Held:
    """A chat's head, claimed by this sender."""

    row: OutboxMessage
    #: Not tried again before this (monotonic), after a failure of this row.
    not_before: float = 0.0
    in_flight: bool = False


@dataclass(frozen=True)
class Result:
    row: OutboxMessage
    status: str  # sent, retry, failed, blocked, skipped, theirs
    error: str | None = None
    #: A real send failure (counts an attempt); a 429 is not one.
    failure: bool = False
    retry_after: float = 0.0


class Sender:
    def __init__(
        self,
        app: App,
        bot: Bot,
        limits: Limits | None = None,
        *,
        batch: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        keyboards: KeyboardTracker | None = None,
        name: str = "",
    ) -> None:
        self.app = app
        #: The bot it sends for among the deployment's ("" the main one): it claims
        #: only that bot's outbox rows, and keeps that bot's limits.
        self.name = name
        #: Notes questions sent (one live keyboard per question); written with results.
        self.keyboards = keyboards
        self.bot = bot
        self.clock = clock
        settings = app.settings
        # Each of N sending processes keeps 1/N of the bot's limits, so together they
        # stay inside Telegram's (the per-chat limit holds: one row per chat in flight).
        share = 1 / max(1, settings.sender_processes)
        self.limits = limits or Limits(
            per_second=settings.rate_per_second * share,
            per_chat=settings.rate_per_chat,
            paid_per_second=1000.0 * share if settings.paid_broadcast else None,
            clock=clock,
        )
        # About two seconds of sending held at once.
        self.batch = batch or max(10, int(self.limits.total_rate * 2))
        self.lease = timedelta(seconds=settings.send_lease_seconds)
        # A Bot API call ends (answered or timed out) within the lease, and a row is
        # taken as sent "in doubt" only a lease after that: never while its call may
        # still be under way, so the next row of its chat cannot overtake it.
        self.call_timeout = max(1.0, settings.send_lease_seconds)
        self.sending_lease = 2 * self.lease + timedelta(seconds=1)
        self.idle = 0.5
        #: Chat -> its head, claimed by this sender (at most one per chat).
        self.held: dict[int, Held] = {}
        self.sent = 0
        self.failed = 0
        self.too_many_requests = 0
        self.network_errors = 0
        #: No sends before this (monotonic): a 429's `retry_after`.
        self.paused_until = 0.0
        self._wake = asyncio.Event()
        self._claim_wanted = True
        #: Rows the last general claim took (a broadcast's claims run in the thread).
        self._last_claimed = 0
        self._claimed_at = -RECOVER_EVERY
        self._recovered_at = -RECOVER_EVERY
        self._renewed_at = self.clock()
        #: Heads that may go as soon as the buckets allow: (priority, id, chat).
        self._ready: list[tuple[int, int, int]] = []
        #: Heads waiting for their chat's pace or back-off: (when, priority, id, chat).
        self._parked: list[tuple[float, int, int, int]] = []
        #: Chats whose head was settled: their next row may be claimed.
        self._freed: set[int] = set()
        self._unrecorded: list[Result] = []
        self._unrecorded_since = 0.0
        self._tasks: set[asyncio.Task[list[Result]]] = set()
        #: Network circuit: consecutive failures since the API last answered, whether a
        #: probe failed too (an outage, not one bad row), and the next probe.
        self._network_failures = 0
        self._outage = False
        self._probe_at = 0.0
        self.bot.session.middleware(_Observer(self))
        self.bot.session.middleware(LateCallbackAnswers())

    # --- what the rest of the bot sees ------------------------------------------------

    def wake(self) -> None:
        """Something was queued: claim now rather than at the next poll."""
        self._claim_wanted = True
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        self.idle = idle
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self._round()
                except Exception:  # a database hiccup must not kill the sender
                    log.exception("sending round failed")
                    await asyncio.sleep(idle)
                self._wake.clear()
                if self._wake_due() <= 0:
                    continue
                waking = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    {waking, stopping, *self._tasks},
                    timeout=self._wake_due(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waking.cancel()
        finally:
            stopping.cancel()
            with contextlib.suppress(Exception):
                await self._shut_down()

    def api_answered(self) -> None:
        """The Bot API answered a call: an outage is over, resume right away."""
        if self._network_failures or self._outage:
            if self._outage:  # rows failed because of the outage: they go now
                for held in self.held.values():
                    held.not_before = 0.0
            self._network_failures = 0
            self._outage = False
            self._wake.set()

    # --- one round ----------------------------------------------------------------

    async def _round(self) -> None:
        for task in [t for t in self._tasks if t.done()]:
            self._tasks.discard(task)
            for result in task.result():
                self._settle(result)
        now = self.clock()
        if self._halting():
            await self._halt()
        if self._network_failures and now >= self._probe_at:
            await self._probe()
        claim = (
            self._claim_wanted
            or bool(self._freed)
            or (now - self._claimed_at >= self.idle and len(self.held) < self.batch)
        )
        renew = bool(self.held) and now - self._renewed_at >= self.lease.total_seconds() / 3
        if not (claim or renew or self._record_due() or self._could_send()):
            return
        wave: list[Held] = []
        # A round of a few rows runs its statements in the event loop's thread: a hop
        # per statement would let other tasks in while it holds SQLite's write lock.
        small = max(len(self._unrecorded), self._last_claimed) <= INLINE_ROWS
        try:
            with statements_inline(small):
                async with self.app.uow() as uow:
                    forgotten = await self._record(uow)
                    if renew:
                        await self._renew(uow)
                    if claim:
                        await self._claim(uow)
                    wave = self._pick_wave()
                    owned = await uow.outbox.start_sending(
                        {h.row.id: h.row.claims for h in wave}, lease=self.sending_lease
                    )
                    await uow.commit()
        except BaseException:
            for held in wave:
                held.in_flight = False
                heapq.heappush(self._ready, (held.row.priority, held.row.id, held.row.chat_id))
            raise
        if forgotten:  # the goodbye after /delete is gone too: no copy in SQLite's WAL
            await fold_in_erasures(self.app.engine)
        for held in wave:
            if held.row.id not in owned:  # our lease ran out, another sender claimed it
                self._forget(held.row)
        mine = [held.row for held in wave if held.row.id in owned]
        for row in mine:
            self.limits.went_out(row.chat_id)
        if mine:
            self._tasks.add(asyncio.create_task(self._send_wave(mine)))

    def _record_due(self) -> bool:
        """Whether results wait to be written down on their own: they ride with the
        next wave's transaction, unless none is coming soon (one transaction per wave
        keeps a thousand messages a second affordable)."""
        if not self._unrecorded:
            return False
        waiting = self._ready or self._parked or self._tasks
        return not waiting or self.clock() - self._unrecorded_since >= RECORD_WITHIN

    def _could_send(self) -> bool:
        if not self._sending_allowed():
            return False
        if self._parked and self._parked[0][0] <= self.clock():
            return True
        return bool(self._ready) and self._bucket_wait() == 0

    def _sending_allowed(self) -> bool:
        return (
            self.clock() >= self.paused_until
            and not self._network_failures
            and len(self._tasks) < MAX_WAVES
            and not self._halting()
        )

    def _wake_due(self) -> float:
        """Seconds until the next round has something to do (0: now)."""
        now = self.clock()
        if self._freed or self._claim_wanted or self._record_due():
            return 0.0
        due = [RECOVER_EVERY]
        if len(self.held) < self.batch:  # else the poll waits for room (as in `_round`)
            due.append(self._claimed_at + self.idle - now)
        if self._unrecorded:
            due.append(self._unrecorded_since + RECORD_WITHIN - now)
        if self.held:
            due.append(self._renewed_at + self.lease.total_seconds() / 3 - now)
        if self._network_failures:
            due.append(self._probe_at - now)
        elif now < self.paused_until:
            due.append(self.paused_until - now)
        elif self._sending_allowed():  # else a wave in flight ends first (a task wakes us)
            if self._parked:
                due.append(self._parked[0][0] - now)
            if self._ready:
                due.append(self._bucket_wait())
        return max(0.001, min(due)) if min(due) > 0 else 0.0

    def _bucket_wait(self) -> float:
        """Seconds until the most urgent ready head's bucket holds a wave's tokens."""
        while self._ready:
            _, row_id, chat_id = self._ready[0]
            held = self.held.get(chat_id)
            if held is not None and held.row.id == row_id and not held.in_flight:
                break
            heapq.heappop(self._ready)  # settled or claimed again since
        else:
            return 0.0
        bucket = self.limits.bot_bucket(self._paid(held.row))
        want = self._want(bucket.burst)
        available = bucket.available()
        return 0.0 if available >= want else (want - available) / bucket.rate

    def _want(self, burst: float) -> float:
        """Tokens a wave waits for: a handful (rather than waves of one), as each wave
        costs a transaction; fewer if fewer heads are waiting."""
        return max(1.0, min(burst / 4, float(len(self._ready))))

    def _paid(self, row: OutboxMessage) -> bool:
        return self.app.settings.paid_broadcast and row.kind == "broadcast"

    # --- choosing what goes ---------------------------------------------------------

    def _pick_wave(self) -> list[Held]:
        """Heads that may go right now, most urgent first, as many as tokens allow;
        heads whose chat must wait are parked until it may."""
        if not self._sending_allowed():
            return []
        now = self.clock()
        while self._parked and self._parked[0][0] <= now:
            _, priority, row_id, chat_id = heapq.heappop(self._parked)
            heapq.heappush(self._ready, (priority, row_id, chat_id))
        if not self._ready or self._bucket_wait() > 0:
            return []
        wave: list[Held] = []
        skipped: list[tuple[int, int, int]] = []
        exhausted: set[bool] = set()
        kinds = {False, self.app.settings.paid_broadcast}
        while self._ready and len(exhausted) < len(kinds):
            entry = heapq.heappop(self._ready)
            priority, row_id, chat_id = entry
            held = self.held.get(chat_id)
            if held is None or held.row.id != row_id or held.in_flight:
                continue  # settled or claimed again since
            paid = self._paid(held.row)
            if paid in exhausted:
                skipped.append(entry)
                continue
            if self.limits.bot_bucket(paid).wait_time() > 0:
                exhausted.add(paid)
                skipped.append(entry)
                continue
            wait = max(held.not_before - now, self.limits.chat(chat_id).wait_time())
            if wait > 0:
                heapq.heappush(self._parked, (now + wait, priority, row_id, chat_id))
                continue
            self.limits.take(chat_id, paid)
            held.in_flight = True
            wave.append(held)
        for entry in skipped:
            heapq.heappush(self._ready, entry)
        return wave

    # --- the database side ------------------------------------------------------------

    async def _claim(self, uow: UnitOfWork) -> None:
        now = self.clock()
        if now - self._recovered_at >= min(RECOVER_EVERY, self.lease.total_seconds()):
            self._recovered_at = now
            await self._recover_in_doubt(uow)
        general = self._claim_wanted or now - self._claimed_at >= self.idle
        freed, self._freed = self._freed, set()
        if general:
            self._claim_wanted = False
            self._claimed_at = now
            # A reply never waits for a full batch of broadcasts to drain (20 more);
            # once half a batch is held, the next claim waits for the poll interval,
            # so a long broadcast costs a claim every `idle`, not one per wave.
            limit = min(CLAIM_MAX, max(self.batch - len(self.held), 20))
            rows = await uow.outbox.claim_due(limit=limit, lease=self.lease, bot=self.name)
            self._last_claimed = len(rows)
            self._claim_wanted = len(rows) == limit and len(self.held) < self.batch // 2
        else:
            rows = await uow.outbox.claim_due(
                limit=len(freed), lease=self.lease, chats=freed, bot=self.name
            )
        away = await uow.outbox.opted_out(
            {r.citizen_id for r in rows if r.kind in OPT_OUT_KINDS and r.citizen_id}
        )
        skipped: list[int] = []
        for row in rows:
            if row.kind in OPT_OUT_KINDS and row.citizen_id in away:
                await uow.outbox.mark_skipped(row.id, "citizen opted out")
                skipped += [d] if (d := _delivery_id(row)) is not None else []
                self._freed.add(row.chat_id)
                continue
            self.held[row.chat_id] = Held(row)
            heapq.heappush(self._ready, (row.priority, row.id, row.chat_id))
        if skipped:
            await uow.broadcasts.record_deliveries({DeliveryStatus.SKIPPED: skipped}, utcnow())

    async def _renew(self, uow: UnitOfWork) -> None:
        """Keep the leases of held rows: a long pause or outage must not let another
        sender take them while this one still holds them."""
        self._renewed_at = self.clock()
        idle = {h.row.id: h.row.claims for h in self.held.values() if not h.in_flight}
        kept = await uow.outbox.renew(idle, lease=self.lease)
        for held in list(self.held.values()):
            if held.row.id in idle and held.row.id not in kept:
                self._forget(held.row)

    async def _recover_in_doubt(self, uow: UnitOfWork) -> None:
        payloads = await uow.outbox.take_in_doubt_as_sent(IN_DOUBT)
        if payloads:
            log.warning("%s message(s) left mid-call by a dead sender taken as sent", len(payloads))
            ids = [d for d in (p.get("delivery_id") for p in payloads) if isinstance(d, int)]
            await uow.broadcasts.record_deliveries({DeliveryStatus.SENT: ids}, utcnow())

    async def _record(self, uow: UnitOfWork) -> bool:
        """Write down the results gathered since the last round (put back for the next
        one if the transaction fails). Returns whether a sent row was forgotten."""
        results, self._unrecorded = self._unrecorded, []
        try:
            return await self._write(uow, results)
        except BaseException:
            self._unrecorded[:0] = results
            raise

    async def _write(self, uow: UnitOfWork, results: list[Result]) -> bool:
        now = utcnow()
        retry_due = now + self.lease  # still held by this sender
        sent = [r.row.id for r in results if r.status == "sent" and not r.row.payload.get("forget")]
        await uow.outbox.mark_sent_many(sent, sent_at=now)
        deliveries: dict[str, list[int]] = {}
        forgotten = False
        for result in results:
            row = result.row
            status = {
                "sent": DeliveryStatus.SENT,
                "blocked": DeliveryStatus.BLOCKED,
                "failed": DeliveryStatus.FAILED,
            }.get(result.status)
            if status is not None and (delivery := _delivery_id(row)) is not None:
                deliveries.setdefault(status, []).append(delivery)
            if result.status == "sent" and row.payload.get("forget"):
                await uow.outbox.delete(row.id)  # e.g. the goodbye after /delete
                forgotten = True
            elif result.status == "retry":
                await uow.outbox.retry_later(
                    row.id,
                    row.claims,
                    result.error or "retry",
                    due_at=retry_due,
                    failed=result.failure,
                )
            elif result.status == "blocked":
                await uow.outbox.mark_blocked(row.id, result.error)
                await uow.outbox.block_pending_for_chat(row.chat_id, result.error)
                if row.citizen_id is not None:
                    await uow.citizens.mark_unreachable(row.citizen_id)
            elif result.status == "failed":
                await uow.outbox.mark_failed(row.id, result.error or "failed")
        if deliveries:
            await uow.broadcasts.record_deliveries(deliveries, now)
        if self.keyboards is not None:
            await self.keyboards.write(uow)
        return forgotten

    # --- results, in memory -------------------------------------------------------------

    def _settle(self, result: Result) -> None:
        row = result.row
        held = self.held.get(row.chat_id)
        now = self.clock()
        if result.status == "theirs":
            self._forget(row)
            return
        if not self._unrecorded:
            self._unrecorded_since = now
        self._unrecorded.append(result)
        if result.status == "retry" and held is not None and held.row.id == row.id:
            held.in_flight = False
            if result.failure:
                row.attempts += 1
                held.not_before = now + backoff(row.attempts)
            heapq.heappush(self._ready, (row.priority, row.id, row.chat_id))
            return
        self._forget(row)
        if result.status != "blocked" and row.kind != "broadcast":
            # The chat's next row may be claimed now. A blocked chat's queue is closed;
            # after a broadcast (one per citizen) the next claim finds any follower.
            self._freed.add(row.chat_id)

    def _forget(self, row: OutboxMessage) -> None:
        held = self.held.get(row.chat_id)
        if held is not None and held.row.id == row.id:
            del self.held[row.chat_id]

    def _too_many_requests(self, row: OutboxMessage, retry_after: float) -> None:
        self.too_many_requests += 1
        self.paused_until = max(self.paused_until, self.clock() + retry_after)
        self.limits.bot_bucket(self._paid(row)).slow_down()
        log.warning("429 from Telegram: pausing all sends for %ss, slowing down", retry_after)

    def _network_failure(self) -> None:
        self.network_errors += 1
        self._network_failures += 1
        self._probe_at = self.clock() + backoff(self._network_failures, PROBE_MAX)

    async def _probe(self) -> None:
        """Is the Bot API reachable again? One cheap call (getMe)."""
        try:
            await self.bot(GetMe(), request_timeout=5)
        except TelegramRetryAfter:
            self.api_answered()
        except (TelegramNetworkError, TelegramAPIError):
            self._outage = True
            self._network_failure()
            wait = self._probe_at - self.clock()
            log.warning("the Bot API is unreachable: next try in %.1fs", wait)
        else:
            self.api_answered()

    # --- one Bot API call ---------------------------------------------------------------

    async def _send_wave(self, rows: list[OutboxMessage]) -> list[Result]:
        return list(await asyncio.gather(*(self._send_one(row) for row in rows)))

    async def _send_one(self, row: OutboxMessage) -> Result:
        payload: dict[str, Any] = row.payload
        language = payload.get("language") or self.app.settings.default_language
        texts = self.app.texts(language)
        voice: VoiceNote | None = None
        if payload.get("voice"):
            # A text read aloud: synthesised now (once per text, konsulta/speech.py).
            voice = await self._voice_note(str(payload.get("text") or ""), language)
            if voice is None:  # logged by `_voice_note`; the text itself went out
                self.failed += 1
                return Result(row, "failed", NO_VOICE)
        try:
            if row.kind == "broadcast" and isinstance(self.bot.session, AiohttpSession):
                await self._send_broadcast(row, payload)
            else:
                await self._call(render(row.chat_id, payload, texts, voice=voice), voice)
        except TelegramRetryAfter as error:
            self._too_many_requests(row, float(error.retry_after))
            return Result(row, "retry", "429", retry_after=float(error.retry_after))
        except TelegramForbiddenError as error:
            log.info("outbox row %s: the citizen blocked the bot", row.id)
            return Result(row, "blocked", error.message)
        except TelegramMigrateToChat as error:
            return self._given_up(row, error.message)
        except TelegramBadRequest as error:
            if "not modified" in error.message:  # the edit was there already
                self.sent += 1
                return Result(row, "sent")
            return self._given_up(row, error.message)
        except (TelegramNetworkError, TelegramAPIError) as error:
            # A network error, a 5xx, a 401: the request may or may not have arrived;
            # Telegram cannot tell us which. Tried again, after a back-off, forever.
            self._network_failure()
            log.warning("outbox row %s not sent (%s): retrying", row.id, type(error).__name__)
            return Result(row, "retry", _reason(error), failure=True)
        self.sent += 1
        return Result(row, "sent")

    def _given_up(self, row: OutboxMessage, reason: str) -> Result:
        self.failed += 1
        # The row id and Telegram's reason only: no text, no chat, no name.
        log.error("outbox row %s given up: %s", row.id, reason[:200])
        return Result(row, "failed", reason)

    async def _voice_note(self, text: str, language: str) -> VoiceNote | None:
        try:
            return await self.app.speech.note(text, language)
        except Exception:  # a voice that fails must not stop the sender; the text was sent
            log.warning("could not read a text aloud in %s", language, exc_info=True)
            return None

    async def _remember_upload(self, voice: VoiceNote, shown: object) -> None:
        """Keep Telegram's file_id of the clip just uploaded: the audio goes once."""
        file_id = shown.voice.file_id if isinstance(shown, Message) and shown.voice else None
        if file_id is None:
            return
        try:
            await self.app.speech.uploaded(voice.key, file_id)
        except Exception:  # the clip is simply uploaded again next time
            log.warning("could not keep the file_id of a voice clip", exc_info=True)

    async def _call(self, method: TelegramMethod[Any], voice: VoiceNote | None) -> None:
        if isinstance(method, PLAIN) and isinstance(self.bot.session, AiohttpSession):
            await self._send_plain(method)
            return
        shown = await self.bot(method, request_timeout=int(self.call_timeout))
        if voice is not None and voice.file_id is None:
            await self._remember_upload(voice, shown)

    async def _send_broadcast(self, row: OutboxMessage, payload: dict[str, Any]) -> None:
        """A broadcast text: its JSON body built straight from the row, without even
        aiogram's model of the call (at a thousand a second, that model cost more than
        the rest of sending)."""
        inline = inline_keyboard(payload)  # a leader's invitation has a link button
        body: dict[str, Any] = {
            "chat_id": row.chat_id,
            "text": message_html(payload),
            "parse_mode": "HTML",
            "reply_markup": (
                inline.model_dump(mode="json", exclude_none=True)
                if inline
                else {"remove_keyboard": True}
            ),
        }
        if self._paid(row):
            body["allow_paid_broadcast"] = True

        def method() -> SendMessage:  # only errors need it, and it is not cheap to build
            return SendMessage.model_construct(chat_id=row.chat_id, text=body["text"])

        await self._post("sendMessage", body, method)

    async def _send_plain(self, method: SendMessage | EditMessageText) -> None:
        """A dialog's text or edit as a JSON body: the same Bot API call aiogram would
        make, without its form encoding and its model of the answer (a third of the CPU
        of a call). What the session's middlewares would see is done here: a question
        sent is noted for its keyboard (`KeyboardTracker.sent_question`), and an answer
        ends an outage (`api_answered`, as `_Observer` does)."""
        bot = self.bot

        def resolved(value: Any) -> Any:  # aiogram's Default: the bot's default, if any
            if isinstance(value, Default):
                return bot.default[value.name]
            raise TypeError(f"{type(value).__name__} in a plain Bot API call")

        dumped = method.model_dump(mode="json", exclude_none=True, fallback=resolved)
        body = {key: value for key, value in dumped.items() if value is not None}
        raw = await self._post(method.__api_method__, body, lambda: method)
        if self.keyboards is not None and isinstance(method, SendMessage):
            try:
                message_id = json.loads(raw)["result"]["message_id"]
            except (ValueError, KeyError, TypeError):
                return  # an answer without the message: nothing to note
            if isinstance(message_id, int):
                self.keyboards.sent_question(method, message_id)

    async def _post(
        self, name: str, body: dict[str, Any], method: Callable[[], TelegramMethod[Any]]
    ) -> str:
        """One Bot API call with a JSON body; returns the answer's text. Errors are aiogram's
        own (`check_response`), so a 429, a 403 or a network fault is handled as for
        any other call; `method` builds the call's model for them."""
        session = self.bot.session
        assert isinstance(session, AiohttpSession)
        http = await session.create_session()
        url = session.api.api_url(token=self.bot.token, method=name)
        try:
            timeout = ClientTimeout(self.call_timeout)
            async with http.post(url, json=body, timeout=timeout) as resp:
                raw = await resp.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method(), message="Request timeout error") from error
        except ClientError as error:
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=method(), message=message) from error
        if resp.status in (200, 400, 403):  # an answer, even a refusal: the API is there
            self.api_answered()
        if resp.status != 200:  # Telegram answers 200 only with "ok": true
            session.check_response(
                bot=self.bot, method=method(), status_code=resp.status, content=raw
            )
        return raw

    # --- stopping -----------------------------------------------------------------------

    def _halting(self) -> bool:
        halt_after = self.app.settings.sender_halt_after
        return bool(halt_after) and self.sent >= halt_after

    async def _halt(self) -> None:
        """Test hook (KONSULTA_SENDER_HALT_AFTER): stop for good after N sends, with
        the last results unrecorded, so a test can kill -9 the process in the worst
        moment for duplicates."""
        if self._tasks:
            await asyncio.wait(self._tasks)
        log.warning("sender halted after %s sends (test hook)", self.sent)
        if self.app.settings.sender_halt_file is not None:
            self.app.settings.sender_halt_file.write_text(str(self.sent))
        await asyncio.Event().wait()

    async def _shut_down(self) -> None:
        """A clean stop: finish the calls under way, write down their results and give
        the held rows back, so the next sender need not wait for their leases."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        for task in [t for t in self._tasks if t.done()]:
            for result in task.result():
                self._settle(result)
        async with self.app.uow() as uow:
            await self._record(uow)
            idle = {h.row.id: h.row.claims for h in self.held.values() if not h.in_flight}
            await uow.outbox.release(idle)
            await uow.commit()
        self.held.clear()


class _Observer(BaseRequestMiddleware):
    """Sees every Bot API call of the bot: one that gets an answer (a refusal is an
    answer too) ends an outage at once."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            response = await make_request(bot, method)
        except (TelegramBadRequest, TelegramForbiddenError):
            self.sender.api_answered()
            raise
        self.sender.api_answered()
        return response


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def _delivery_id(row: OutboxMessage) -> int | None:
    value = row.payload.get("delivery_id") if isinstance(row.payload, dict) else None
    return value if isinstance(value, int) else None
