"""Token buckets that keep the sender inside Telegram's limits.

Telegram allows about 30 messages/s per bot (1000/s with paid broadcasts), about one
per second per chat with short bursts, and 20 per minute per group. Going past them
earns a 429 and a pause for everyone, so the sender waits here instead.

The per-bot buckets adapt: a 429 means the real limit is lower than ours (another
process on the same token, a limit Telegram lowered), so `slow_down` halves the rate,
which then climbs back linearly to the configured one (`RECOVERY` of it per second).
Without that, a bot that only waits `retry_after` runs into the next 429 within
seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Share of the configured rate a slowed-down bucket regains per second (half of it in
#: 25 s): slow enough that a lower real limit is met seldom, not every 2 seconds.
RECOVERY = 0.02
#: The slowest a bucket gets after repeated 429s, as a share of the configured rate.
FLOOR = 1 / 32
#: Seconds a chat's next message waits beyond its token. Telegram counts from when a
#: message arrives, we from when it leaves; messages of one wave travel on different
#: connections, so the first of a burst can arrive later than the next one and, with no
#: slack, a second message lands a few milliseconds inside Telegram's second (a 429).
CHAT_SLACK = 0.15


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: float
    clock: Callable[[], float] = time.monotonic
    #: Seconds of slack a token needs beyond its own (see `CHAT_SLACK`).
    slack: float = 0.0
    tokens: float = field(init=False)
    stamp: float = field(init=False)
    #: The configured rate; `rate` is below it for a while after a 429.
    nominal: float = field(init=False)

    def __post_init__(self) -> None:
        self.burst = max(self.burst, 1 + self.slack * self.rate)  # a token is reachable
        self.tokens = self.burst
        self.stamp = self.clock()
        self.nominal = self.rate

    def _refill(self) -> None:
        now = self.clock()
        elapsed = now - self.stamp
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        if self.rate < self.nominal:
            self.rate = min(self.nominal, self.rate + self.nominal * RECOVERY * elapsed)
        self.stamp = now

    def slow_down(self) -> None:
        """A 429: halve the rate (it recovers gradually) and drop the burst saved up."""
        self._refill()
        self.rate = max(self.nominal * FLOOR, self.rate / 2)
        self.tokens = min(self.tokens, 0.0)

    def wait_time(self) -> float:
        """Seconds until one token (and the slack) is available (0 when it is now)."""
        self._refill()
        needed = 1 + self.slack * self.rate
        return 0.0 if self.tokens >= needed else (needed - self.tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self.tokens -= 1

    def went_out(self) -> None:
        """The message taken earlier leaves only now (a transaction came between):
        what would have accrued meanwhile is no credit, since Telegram counts from
        the message's arrival. Without this a late burst earns a 429 a second later."""
        self.stamp = max(self.stamp, self.clock())

    def available(self) -> float:
        """Tokens there now (may be fractional)."""
        self._refill()
        return self.tokens


@dataclass
class Limits:
    per_second: float = 30.0
    per_chat: float = 1.0
    chat_burst: float = 3.0
    group_per_minute: float = 20.0
    clock: Callable[[], float] = time.monotonic
    #: With paid broadcasts, messages sent with `allow_paid_broadcast` draw from a
    #: bucket of their own at this rate (Telegram: up to 1000/s); None: no paid sending.
    paid_per_second: float | None = None
    _global: Bucket = field(init=False)
    _paid: Bucket | None = field(init=False, default=None)
    _chats: dict[int, Bucket] = field(init=False, default_factory=dict)
    _prune_at: int = field(init=False, default=10_000)

    def __post_init__(self) -> None:
        # A small global burst: enough to start quickly, never a spike Telegram punishes.
        self._global = Bucket(self.per_second, max(1.0, self.per_second / 10), self.clock)
        if self.paid_per_second:
            # Paid broadcasts keep a quarter second: a sending round's transaction can
            # hold the sender that long, and a smaller burst would lose those tokens
            # (0.90 of the limit instead of 0.97 in `bench/broadcast.py`).
            self._paid = Bucket(
                self.paid_per_second, max(1.0, self.paid_per_second / 4), self.clock
            )

    @property
    def total_rate(self) -> float:
        """The most messages/s all buckets together allow."""
        return self.per_second + (self.paid_per_second or 0.0)

    def bot_bucket(self, paid: bool = False) -> Bucket:
        """The per-bot bucket a message draws from (the paid one if it is paid)."""
        return self._paid if paid and self._paid is not None else self._global

    def chat(self, chat_id: int) -> Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if chat_id < 0:  # groups and channels
                bucket = Bucket(self.group_per_minute / 60, 1.0, self.clock, CHAT_SLACK)
            else:
                bucket = Bucket(self.per_chat, self.chat_burst, self.clock, CHAT_SLACK)
            if len(self._chats) >= self._prune_at:
                self._prune()
            self._chats[chat_id] = bucket
        return bucket

    def _prune(self) -> None:
        """Forget chats whose bucket is full again: a fresh bucket is the same thing.
        Keeps memory to the chats of the last few seconds, however large a broadcast."""
        self._chats = {
            chat: bucket
            for chat, bucket in self._chats.items()
            if bucket.available() < bucket.burst
        }
        self._prune_at = max(10_000, 2 * len(self._chats))

    def wait_time(self, chat_id: int, paid: bool = False) -> float:
        return max(self.bot_bucket(paid).wait_time(), self.chat(chat_id).wait_time())

    def take(self, chat_id: int, paid: bool = False) -> None:
        self.bot_bucket(paid).take()
        self.chat(chat_id).take()

    def went_out(self, chat_id: int) -> None:
        """See `Bucket.went_out`; per chat only, where a burst is a few messages (the
        per-bot bucket's rate would lose every transaction's length)."""
        self.chat(chat_id).went_out()
