"""Knobs of the emulator in one place.

Tests, the benchmark and the CLI want different limits (a benchmark raises the global
rate to 1000/s, a unit test switches limits off, a conformance test keeps Telegram's),
so every limit Telegram enforces is a field here rather than a constant in code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RateLimitConfig:
    """Telegram's published broadcasting limits, as token buckets."""

    enabled: bool = True
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    global_per_second: float = 30.0
    global_burst: int = 30
    #: ``allow_paid_broadcast=True`` lifts the global limit to this rate.
    paid_broadcast_per_second: float = 1000.0
    per_group_per_minute: float = 20.0
    per_group_burst: int = 20
    #: Fault injection: this share of sends (0..1) is answered 429 at random, even when
    #: limits are off, with `injected_retry_after` seconds (Telegram's flood control
    #: does that under load).
    injected_429_share: float = 0.0
    injected_retry_after: int = 1


@dataclass
class WebhookConfig:
    """How eagerly undelivered webhook updates are retried (Telegram backs off too)."""

    retry_initial_delay: float = 0.5
    retry_max_delay: float = 30.0
    request_timeout: float = 10.0


@dataclass
class EmulatorConfig:
    #: When set, only this token is accepted (others get 401 Unauthorized); when
    #: ``None`` any well-formed ``<bot id>:<secret>`` token is accepted.
    token: str | None = None
    bot_id: int = 7000000001
    bot_first_name: str = "Konsulta"
    bot_username: str = "konsulta_test_bot"
    #: ``None`` means the bundled ``api.json`` (see :func:`emulator.spec.default_spec_path`).
    spec_path: Path | None = None
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    #: ``answerCallbackQuery`` later than this after the tap is refused, as Telegram
    #: does ("query is too old and response timeout expired or query ID is invalid").
    callback_answer_seconds: float = 15.0
    #: Longest ``timeout`` honoured by getUpdates; Telegram caps long polls too.
    max_long_poll_seconds: float = 50.0
    #: Monotonic clock for the rate limiter; tests inject a fake one to skip real waits.
    clock: Callable[[], float] = time.monotonic
