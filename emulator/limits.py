"""Telegram's sending limits as token buckets, with an injectable clock.

Konsulta's sender must pace itself (about 1 message/s per chat with short bursts,
30/s per bot, 20/min per group) and obey ``retry_after``; the emulator answers 429
exactly when a bot overshoots so that pacing is tested rather than assumed.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.config import RateLimitConfig
from emulator.errors import too_many_requests


@dataclass
class TokenBucket:
    """``capacity`` sends at once, refilled at ``rate`` per second."""

    rate: float
    capacity: float
    tokens: float
    updated_at: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated_at)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated_at = now

    def seconds_until_token(self) -> float:
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class SendingStats:
    """What a benchmark wants to know after a run."""

    accepted_per_chat: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0

    @property
    def accepted_total(self) -> int:
        return sum(self.accepted_per_chat.values())

    def to_json(self) -> dict[str, object]:
        return {
            "accepted_total": self.accepted_total,
            "accepted_per_chat": {str(chat): n for chat, n in self.accepted_per_chat.items()},
            "too_many_requests": self.too_many_requests,
        }


class RateLimiter:
    def __init__(self, config: RateLimitConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.stats = SendingStats()
        self._per_chat: dict[int, TokenBucket] = {}
        self._per_group: dict[int, TokenBucket] = {}
        self._global: TokenBucket | None = None
        self._paid: TokenBucket | None = None
        self._random = random.Random(0)

    def _bucket(self, rate: float, burst: float, now: float) -> TokenBucket:
        return TokenBucket(
            rate=rate, capacity=max(1.0, burst), tokens=max(1.0, burst), updated_at=now
        )

    def admit(self, chat_id: int, *, is_group: bool, paid_broadcast: bool = False) -> None:
        """Take one send from every bucket that applies, or raise 429 taking none."""
        share = self.config.injected_429_share
        if share and self._random.random() < share:
            self.stats.too_many_requests += 1
            raise too_many_requests(self.config.injected_retry_after)
        if not self.config.enabled:
            self.stats.accepted_per_chat[chat_id] += 1
            return
        now = self.clock()
        cfg = self.config
        buckets = [
            self._per_chat.setdefault(
                chat_id, self._bucket(cfg.per_chat_per_second, cfg.per_chat_burst, now)
            )
        ]
        if is_group:
            buckets.append(
                self._per_group.setdefault(
                    chat_id,
                    self._bucket(cfg.per_group_per_minute / 60.0, cfg.per_group_burst, now),
                )
            )
        if paid_broadcast:
            if self._paid is None:
                self._paid = self._bucket(
                    cfg.paid_broadcast_per_second, cfg.paid_broadcast_per_second, now
                )
            buckets.append(self._paid)
        else:
            if self._global is None:
                self._global = self._bucket(cfg.global_per_second, cfg.global_burst, now)
            buckets.append(self._global)
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.seconds_until_token() for bucket in buckets)
        if wait > 0:
            self.stats.too_many_requests += 1
            raise too_many_requests(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1
        self.stats.accepted_per_chat[chat_id] += 1

    def reset(self) -> None:
        self._per_chat.clear()
        self._per_group.clear()
        self._global = None
        self._paid = None
        self.stats = SendingStats()
