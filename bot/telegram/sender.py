"""The one sender: every outbound Telegram call of the bot goes through here.

It drains the outbox (rows committed together with the state they belong to) in
priority order, so a citizen mid-dialog never waits behind a town-wide broadcast;
keeps to Telegram's limits with token buckets; pauses everything on a 429 for
`retry_after`; marks a citizen unreachable on a 403. Messages to one chat go out one
at a time, in the order they were queued.

Exactly once, as far as Telegram allows. A round claims a batch of due rows (a lease:
if this process dies they are due again when it runs out). Then it sends in waves: as
many rows as the rate limits allow right now, one per chat, are first marked
`sending` in a committed transaction (only if this process still owns them: the
claim's `attempts` is the fencing token), then sent concurrently; results are
recorded at the end of the round. A row a dead process left in `sending` is taken as
sent and never sent again (`recover_in_doubt`). So a crash between the Bot API call
and recording it never duplicates a message; the price is that a crash in the short
gap between the `sending` commit and the request leaving the process loses those
few messages (they are recorded "in doubt", see docs/outreach.md). Rows of kinds that
citizens can opt out of (broadcasts, follow-ups, reminders) are dropped right before
sending if the citizen sent /stop or blocked the bot meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiohttp import ClientError, ClientTimeout
from sqlalchemy import and_, false, or_, select, update

from bot.telegram.render import inline_keyboard, message_html, render
from bot.telegram.throttle import Bucket, Limits
from konsulta.bootstrap import App
from konsulta.speech import VoiceNote
from storage.engine import fold_in_erasures
from storage.models import Citizen, DeliveryStatus, OutboxMessage, OutboxStatus
from storage.types import utcnow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
#: Longest a round waits for one chat's rate limit before deferring its messages.
MAX_CHAT_WAIT = 0.3
#: Kinds a citizen's /stop (or a block) cancels even after they were queued.
OPT_OUT_KINDS = {"broadcast", "followup", "reminder"}
#: Waves of sends in flight at once.
MAX_WAVES = 4
#: How often leftovers of dead senders are looked for.
RECOVER_EVERY = 10.0
IN_DOUBT = "in doubt: the sending process died during the Bot API call"
NO_VOICE = "not read aloud: no voice for this text or language (KONSULTA_TTS)"


@dataclass(frozen=True)
class Result:
    message_id: int
    status: str  # sent, failed, blocked, retry, stopped
    error: str | None = None
    retry_in: float = 0.0
    chat_id: int = 0
    citizen_id: int | None = None
    forget: bool = False
    delivery_id: int | None = None


class Sender:
    def __init__(
        self,
        app: App,
        bot: Bot,
        limits: Limits | None = None,
        *,
        batch: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.bot = bot
        settings = app.settings
        # Each of N sending processes keeps 1/N of the bot's limits, so together they
        # stay inside Telegram's (the per-chat limit holds: a chat's rows go in order).
        share = 1 / max(1, settings.sender_processes)
        self.limits = limits or Limits(
            per_second=settings.rate_per_second * share,
            per_chat=settings.rate_per_chat,
            paid_per_second=1000.0 * share if settings.paid_broadcast else None,
        )
        # About two seconds of sending per round: the pause between rounds (last
        # results, recording, the next claim) costs a few percent of the rate at 1000/s
        # with shorter ones. Dialog replies do not wait for it: they are handed over and
        # join the round under way; claimed rows (reminders, other processes' rows)
        # wait at most one round.
        self.batch = batch or max(10, int(self.limits.total_rate * 2))
        self.lease = timedelta(seconds=settings.send_lease_seconds)
        self.clock = clock
        self.paused_until = 0.0
        self.sent = 0
        self.too_many_requests = 0
        self.idle = 0.5
        self._wake = asyncio.Event()
        self._recovered_at = -RECOVER_EVERY
        #: Committed rows claimed for this sender by the unit of work that queued them.
        self._handed: list[OutboxMessage] = []
        self._claim_wanted = True
        self._claimed_at = -RECOVER_EVERY
        #: Results not yet written down; the next `sending` mark writes them too.
        self._unrecorded: list[Result] = []
        #: Rows of this round that draw on the bot's own bucket (not paid broadcasts),
        #: counted when lined up and when taken; at worst too high (a dropped row), so
        #: the wave search skips them only when there are surely none.
        self._unpaid = 0

    def wake(self) -> None:
        """Something was queued: look at the outbox now rather than at the next tick."""
        self._claim_wanted = True
        self._wake.set()

    def hand(self, rows: list[OutboxMessage]) -> None:
        """Rows just committed, already claimed for this sender (`OutboxRepository.queue`):
        they join the round under way, ahead of broadcasts, with no claim."""
        self._handed += rows
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        self.idle = idle
        while not stop.is_set():
            try:
                if self.clock() - self._recovered_at >= min(
                    RECOVER_EVERY, self.lease.total_seconds()
                ):
                    self._recovered_at = self.clock()
                    await self.recover_in_doubt()
                count = await self.send_due()
            except Exception:  # a database hiccup must not kill the sender
                log.exception("sending round failed")
                count = 0
            if count == 0:
                self._wake.clear()
                if self._handed or self._claim_wanted:
                    continue
                waiters = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

    def _paid(self, row: OutboxMessage) -> bool:
        return self.app.settings.paid_broadcast and row.kind == "broadcast"

    async def send_due(self) -> int:
        """One round: the rows handed over and, when something may be due, claimed
        ones; sent in waves; the results recorded. Returns how many rows it took."""
        claimed: list[OutboxMessage] = []
        if self._claim_wanted or self.clock() - self._claimed_at >= self.idle:
            # Only when something was queued for claiming, or now and then for rows that
            # fell due (retries, other processes' rows): not once per handed reply.
            claimed = await self._claim(self.batch)
        handed, self._handed = self._handed, []
        if not claimed and not handed:
            return 0
        by_chat: OrderedDict[int, deque[OutboxMessage]] = OrderedDict()
        self._unpaid = 0
        self._line_up(by_chat, await self._drop_opted_out(claimed))
        self._line_up(by_chat, handed)
        taken = len(claimed) + len(handed)
        # Waves overlap (up to MAX_WAVES in flight) so the pace is set by the token
        # buckets, not by round trips; a chat with a message in flight waits for its
        # result, which keeps each chat's order. Replies handed over while the round
        # goes on join it, for as long as its claimed rows should take to send and
        # `idle` seconds more (never longer, so that a stream of replies cannot keep
        # the round from ever claiming again).
        in_flight: set[asyncio.Task[list[Result]]] = set()
        busy: set[int] = set()
        intake_until = self._intake_until(claimed)
        try:
            while by_chat or in_flight:
                if self._handed and self.clock() < intake_until:
                    taken += len(self._handed)
                    self._line_up(by_chat, self._handed)
                    self._handed = []
                if self._claim_wanted and len(by_chat) < self.batch / 4 and not self._halting():
                    # A broadcast under way: claim the next rows before these run out, so
                    # sending never stops between rounds. A quarter batch at a time: the
                    # claim holds up the sending a little, and the token buckets' burst
                    # makes up for a short hold, not for a long one.
                    more = await self._claim(self.batch // 4)
                    taken += len(more)
                    self._line_up(by_chat, await self._drop_opted_out(more))
                    intake_until = max(intake_until, self._intake_until(more))
                if not in_flight:
                    await self._maybe_halt()
                pause = self.paused_until - self.clock()
                if pause > self.lease.total_seconds() / 2 and not in_flight:
                    # A long 429: hand the rest back, due when the pause ends.
                    for chat_rows in by_chat.values():
                        self._unrecorded += [self._later(row, "429", pause) for row in chat_rows]
                    by_chat.clear()
                    break
                wave: list[OutboxMessage] = []
                shortest = 0.05
                if pause <= 0 and not self._halting() and len(in_flight) < MAX_WAVES:
                    wave, shortest = self._next_wave(by_chat, self._unrecorded, busy)
                if wave:
                    busy.update(row.chat_id for row in wave)
                    in_flight.add(asyncio.create_task(self._send_wave(wave)))
                    continue
                if not in_flight:
                    if by_chat:
                        await asyncio.sleep(max(pause, shortest, 0.001))
                    continue
                self._wake.clear()
                arrival = asyncio.ensure_future(self._wake.wait())  # a reply handed over
                done, _ = await asyncio.wait(
                    {*in_flight, arrival},
                    timeout=max(pause, shortest, 0.001) if by_chat else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                arrival.cancel()
                for task in in_flight & done:
                    in_flight.discard(task)
                    for result in task.result():
                        busy.discard(result.chat_id)
                        self._unrecorded.append(result)
                        if result.status in {"blocked", "retry"}:
                            # Keep the chat's order: what follows waits for the same retry.
                            for later in by_chat.pop(result.chat_id, deque()):
                                status = "blocked" if result.status == "blocked" else "retry"
                                self._unrecorded.append(
                                    Result(
                                        later.id,
                                        status,
                                        result.error,
                                        result.retry_in,
                                        later.chat_id,
                                        delivery_id=_delivery_id(later),
                                    )
                                )
        finally:
            # Stopped (cancelled) mid-round: a wave left running would call the Bot API
            # after the runtime closed its session, and aiogram would open a new one.
            for task in in_flight:
                task.cancel()
        await self._maybe_halt()
        if self._unrecorded:
            async with self._recording() as uow:
                await uow.commit()
        return taken

    def _intake_until(self, claimed: list[OutboxMessage]) -> float:
        """Until when handed replies may join a round: as long as `claimed` should take
        to send, and `idle` seconds more."""
        return self.clock() + self.idle + len(claimed) / self.limits.total_rate

    def _line_up(
        self, by_chat: OrderedDict[int, deque[OutboxMessage]], rows: list[OutboxMessage]
    ) -> None:
        """Queue rows per chat in order; a chat new to the round goes first if its row
        is more urgent than the round's first (a reply before a broadcast)."""
        self._unpaid += sum(not self._paid(row) for row in rows)
        for row in rows:
            queue = by_chat.get(row.chat_id)
            if queue is not None:
                queue.append(row)
                continue
            by_chat[row.chat_id] = deque([row])
            first = next(iter(by_chat.values()))[0]
            if row.priority < first.priority:
                by_chat.move_to_end(row.chat_id, last=False)

    async def _send_wave(self, wave: list[OutboxMessage]) -> list[Result]:
        owned = await self._mark_sending(wave)
        mine = [row for row in wave if row.id in owned]
        lost = [row for row in wave if row.id not in owned]
        sent = await asyncio.gather(*(self._send_one(row) for row in mine))
        # Rows another sender took over (our lease ran out) are theirs: no result here,
        # but their chats are free again.
        return [*sent, *(Result(row.id, "theirs", chat_id=row.chat_id) for row in lost)]

    def _next_wave(
        self,
        by_chat: OrderedDict[int, deque[OutboxMessage]],
        results: list[Result],
        busy: set[int],
    ) -> tuple[list[OutboxMessage], float]:
        """The rows that may go right now (one per chat, as many as tokens allow), and
        otherwise the shortest wait until one may."""
        wave: list[OutboxMessage] = []
        shortest = 0.05
        # The per-bot buckets that can send now: each wants a handful of tokens to start
        # (rather than waves of one). Once none can, stop looking: a round holds up to
        # thousands of chats, and this runs for every wave.
        ready: set[bool] = set()
        for paid in {False, self.app.settings.paid_broadcast}:
            if not paid and not self._unpaid:
                continue  # nothing of this round would draw on it
            bucket = self.limits.bot_bucket(paid)
            want = max(1.0, min(self._min_wave(bucket), len(by_chat) - len(busy)))
            if bucket.available() >= want:
                ready.add(paid)
            else:
                shortest = min(shortest, (want - bucket.available()) / bucket.rate)
        for chat_id in list(by_chat):
            if not ready:
                break
            if chat_id in busy:
                continue
            chat_rows = by_chat[chat_id]
            paid = self._paid(chat_rows[0])
            if paid not in ready:
                continue
            bot_wait = self.limits.bot_bucket(paid).wait_time()
            if bot_wait > 0:
                shortest = min(shortest, bot_wait)
                ready.discard(paid)
                continue
            chat_wait = self.limits.chat(chat_id).wait_time()
            if chat_wait > MAX_CHAT_WAIT:
                # Do not hold the whole round for one busy chat: its rest goes next round.
                results += [self._later(r, "throttled", chat_wait) for r in chat_rows]
                del by_chat[chat_id]
                continue
            if chat_wait > 0:
                shortest = min(shortest, chat_wait)
                continue
            self.limits.take(chat_id, paid)
            wave.append(chat_rows.popleft())
            self._unpaid -= not paid
            if not chat_rows:
                del by_chat[chat_id]
        return wave, shortest

    @staticmethod
    def _min_wave(bucket: Bucket) -> float:
        return max(1.0, float(bucket.burst) / 4)

    def _halting(self) -> bool:
        halt_after = self.app.settings.sender_halt_after
        return bool(halt_after) and self.sent >= halt_after

    def _later(self, row: OutboxMessage, error: str, retry_in: float) -> Result:
        return Result(row.id, "retry", error, retry_in, row.chat_id, delivery_id=_delivery_id(row))

    async def _claim(self, limit: int) -> list[OutboxMessage]:
        """Claim up to `limit` due rows for this sender (a lease, committed)."""
        self._claim_wanted = False
        self._claimed_at = self.clock()
        async with self.app.uow() as uow:
            claimed = await uow.outbox.claim_due(limit=limit, lease=self.lease)
            await uow.commit()
        self._claim_wanted = len(claimed) == limit
        return claimed

    async def _drop_opted_out(self, rows: list[OutboxMessage]) -> list[OutboxMessage]:
        """Rows of citizens who sent /stop or blocked the bot since they were queued
        are dropped (their results wait to be recorded); returns the rest."""
        ids = {r.citizen_id for r in rows if r.kind in OPT_OUT_KINDS and r.citizen_id}
        if not ids:
            return rows
        async with self.app.uow() as uow:
            away = set(
                (
                    await uow.session.execute(
                        select(Citizen.id).where(
                            Citizen.id.in_(ids),
                            or_(Citizen.stopped != false(), Citizen.unreachable != false()),
                        )
                    )
                ).scalars()
            )
        keep = []
        for row in rows:
            if row.kind in OPT_OUT_KINDS and row.citizen_id in away:
                self._unrecorded.append(
                    Result(
                        row.id,
                        "stopped",
                        "citizen opted out",
                        0,
                        row.chat_id,
                        delivery_id=_delivery_id(row),
                    )
                )
            else:
                keep.append(row)
        return keep

    async def _mark_sending(self, wave: list[OutboxMessage]) -> set[int]:
        """Commit `sending` for the rows this process still owns; returns their ids.
        The same transaction records the results gathered since the last one, so a
        steady stream of replies costs one transaction per wave, not two."""
        by_attempt: dict[int, list[int]] = {}
        for row in wave:
            by_attempt.setdefault(row.attempts, []).append(row.id)
        owned = or_(
            *(
                and_(OutboxMessage.id.in_(ids), OutboxMessage.attempts == attempts)
                for attempts, ids in by_attempt.items()
            )
        )
        async with self._recording() as uow:
            result = await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING, owned)
                .values(status=OutboxStatus.SENDING, due_at=utcnow() + self.lease)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
            marked = set(result.scalars())
            await uow.commit()
        return marked

    async def _maybe_halt(self) -> None:
        """Test hook (KONSULTA_SENDER_HALT_AFTER): stop for good after N sends, once
        nothing is in flight, with the round's results unrecorded, so a test can
        kill -9 the process in the worst moment for duplicates."""
        settings = self.app.settings
        if self._halting():
            log.warning("sender halted after %s sends (test hook)", self.sent)
            if settings.sender_halt_file is not None:
                settings.sender_halt_file.write_text(str(self.sent))
            await asyncio.Event().wait()

    async def _send_one(self, row: OutboxMessage) -> Result:
        payload: dict[str, Any] = row.payload
        language = payload.get("language") or self.app.settings.default_language
        texts = self.app.texts(language)
        forget = bool(payload.get("forget"))
        delivery = _delivery_id(row)
        voice: VoiceNote | None = None
        if payload.get("voice"):
            # A text read aloud: synthesised now (once per text, konsulta/speech.py).
            voice = await self._voice_note(str(payload.get("text") or ""), language)
            if voice is None:
                return Result(row.id, "failed", NO_VOICE, 0, row.chat_id, delivery_id=delivery)
        try:
            if row.kind == "broadcast" and isinstance(self.bot.session, AiohttpSession):
                await self._send_broadcast(row, payload)
            else:
                shown = await self.bot(render(row.chat_id, payload, texts, voice=voice))
                if voice is not None and voice.file_id is None:
                    await self._remember_upload(voice, shown)
        except TelegramRetryAfter as error:
            self.too_many_requests += 1
            self.paused_until = max(self.paused_until, self.clock() + error.retry_after)
            log.warning("429 from Telegram: pausing all sends for %ss", error.retry_after)
            return Result(
                row.id, "retry", "429", float(error.retry_after), row.chat_id, delivery_id=delivery
            )
        except TelegramForbiddenError as error:
            return Result(
                row.id,
                "blocked",
                error.message,
                0,
                row.chat_id,
                row.citizen_id,
                delivery_id=delivery,
            )
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return Result(row.id, "sent", None, 0, row.chat_id, forget=forget)
            log.error("Telegram refused outbox row %s: %s", row.id, error.message)
            return Result(row.id, "failed", error.message, 0, row.chat_id, delivery_id=delivery)
        except (TelegramNetworkError, TelegramServerError) as error:
            # The request may or may not have arrived; Telegram cannot tell us which.
            # A network error before the answer is retried (at least once for these).
            if row.attempts >= MAX_ATTEMPTS:
                return Result(row.id, "failed", str(error), 0, row.chat_id, delivery_id=delivery)
            return Result(
                row.id, "retry", str(error), 2.0**row.attempts, row.chat_id, delivery_id=delivery
            )
        self.sent += 1
        return Result(row.id, "sent", None, 0, row.chat_id, forget=forget, delivery_id=delivery)

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

    async def _send_broadcast(self, row: OutboxMessage, payload: dict[str, Any]) -> None:
        """A broadcast text as a JSON body: the same Bot API call `render` makes, minus
        aiogram's models and multipart form, which cost more than the rest of sending
        when there are a thousand a second. Errors are aiogram's own (`check_response`)."""
        session = self.bot.session
        assert isinstance(session, AiohttpSession)
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
        http = await session.create_session()
        url = session.api.api_url(token=self.bot.token, method="sendMessage")

        def method() -> SendMessage:  # only errors need it, and it is not cheap to build
            return SendMessage.model_construct(chat_id=row.chat_id, text=body["text"])

        try:
            async with http.post(url, json=body, timeout=ClientTimeout(session.timeout)) as resp:
                raw = await resp.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method(), message="Request timeout error") from error
        except ClientError as error:
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=method(), message=message) from error
        if resp.status != 200:  # Telegram answers 200 only with "ok": true
            session.check_response(
                bot=self.bot, method=method(), status_code=resp.status, content=raw
            )

    @contextlib.asynccontextmanager
    async def _recording(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that first writes down the results gathered so far (put
        back for the next one if it fails); the caller adds to it and commits."""
        taken, self._unrecorded = self._unrecorded, []
        try:
            async with self.app.uow() as uow:
                await self._record(uow, taken)
                yield uow
        except BaseException:
            self._unrecorded[:0] = taken
            raise
        if any(r.forget and r.status == "sent" for r in taken):
            # The goodbye after /delete is gone too: leave no copy of it in SQLite's WAL.
            await fold_in_erasures(self.app.engine)

    async def _record(self, uow: UnitOfWork, results: list[Result]) -> None:
        now = utcnow()
        results = [r for r in results if r.status != "theirs"]
        sent = [r.message_id for r in results if r.status == "sent" and not r.forget]
        deliveries: dict[str, list[int]] = {}
        for result in results:
            if result.delivery_id is not None and result.status != "retry":
                status = {
                    "sent": DeliveryStatus.SENT,
                    "blocked": DeliveryStatus.BLOCKED,
                    "stopped": DeliveryStatus.SKIPPED,
                }.get(result.status, DeliveryStatus.FAILED)
                deliveries.setdefault(status, []).append(result.delivery_id)
        if sent:
            await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(status=OutboxStatus.SENT, sent_at=now)
                .execution_options(synchronize_session=False)
            )
        for result in results:
            if result.status == "sent":
                if result.forget:  # e.g. the goodbye after /delete: keep no trace
                    await uow.outbox.delete(result.message_id)
            elif result.status == "retry":
                await uow.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == result.message_id)
                    .values(
                        status=OutboxStatus.PENDING,
                        last_error=result.error or "retry",
                        due_at=now + timedelta(seconds=result.retry_in),
                    )
                    .execution_options(synchronize_session=False)
                )
            elif result.status == "blocked":
                await uow.outbox.mark_blocked(result.message_id, result.error)
                await uow.outbox.block_pending_for_chat(result.chat_id, result.error)
                if result.citizen_id is not None:
                    await uow.citizens.mark_unreachable(result.citizen_id)
            else:
                await uow.outbox.mark_failed(result.message_id, result.error or "failed")
        await uow.broadcasts.record_deliveries(deliveries, now)

    async def recover_in_doubt(self) -> int:
        """Rows a dead sender left in `sending` once their lease ran out: taken as
        sent (never sent twice), noted as in doubt. Returns how many."""
        now = utcnow()
        async with self.app.uow() as uow:
            result = await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.due_at <= now)
                .values(status=OutboxStatus.SENT, sent_at=now, last_error=IN_DOUBT)
                .returning(OutboxMessage.payload)
                .execution_options(synchronize_session=False)
            )
            payloads = list(result.scalars())
            ids = [d for d in (p.get("delivery_id") for p in payloads) if isinstance(d, int)]
            await uow.broadcasts.record_deliveries({DeliveryStatus.SENT: ids}, now)
            await uow.commit()
        if payloads:
            log.warning("%s message(s) left mid-call by a dead sender taken as sent", len(payloads))
        return len(payloads)


def _delivery_id(row: OutboxMessage) -> int | None:
    value = row.payload.get("delivery_id") if isinstance(row.payload, dict) else None
    return value if isinstance(value, int) else None
