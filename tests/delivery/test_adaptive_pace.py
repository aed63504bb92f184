"""After a 429 the bot's pace drops and climbs back gradually (bot/telegram/throttle.py).

Waiting `retry_after` alone is not enough: if the real limit is lower than ours (another
process on the same token, a limit Telegram lowered) the next 429 comes within seconds.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.throttle import FLOOR, RECOVERY, Limits
from emulator.config import RateLimitConfig
from emulator.limits import RateLimiter

CHAT = 4711


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def sent_in(limits: Limits, clock: Clock, seconds: float, step: float = 0.001) -> int:
    """How many messages to different chats the buckets let through in `seconds`."""
    sent, end, chat = 0, clock.now + seconds, 0
    while clock.now < end:
        chat += 1
        if limits.wait_time(chat) == 0:
            limits.take(chat)
            sent += 1
        else:
            clock.now += step
    return sent


def pace(limits: Limits) -> float:
    bucket = limits.bot_bucket()
    bucket.available()  # brings the bucket up to now
    return bucket.rate


def test_a_429_halves_the_bot_pace_which_recovers_gradually() -> None:
    clock = Clock()
    limits = Limits(per_second=30.0, clock=clock)
    sent_in(limits, clock, 1.0)  # the burst is spent
    assert 29 <= sent_in(limits, clock, 10.0) / 10 <= 31

    limits.bot_bucket().slow_down()
    assert 14 <= sent_in(limits, clock, 1.0) <= 16  # half the pace right after

    clock.now += 0.25 / RECOVERY  # a quarter of the configured rate regained
    assert 21 <= pace(limits) <= 24
    clock.now += 1 / RECOVERY
    assert pace(limits) == 30.0  # fully back, never above


def test_repeated_429s_never_stop_sending_altogether() -> None:
    clock = Clock()
    limits = Limits(per_second=30.0, clock=clock)
    for _ in range(20):
        limits.bot_bucket().slow_down()
    assert pace(limits) == 30.0 * FLOOR
    assert sent_in(limits, clock, 10.0) >= 1


@settings(max_examples=200, deadline=None)
@given(
    delays=st.lists(st.floats(min_value=0.0, max_value=0.1), min_size=8, max_size=8),
    gaps=st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=8, max_size=8),
)
def test_a_chat_paced_by_the_sender_never_meets_telegrams_limit_despite_network_delays(
    delays: list[float], gaps: list[float]
) -> None:
    """Messages to one chat leave as the sender's bucket allows and arrive up to 100 ms
    later, each delayed differently (they travel on different connections): Telegram's
    own bucket, counted from arrival, never has to answer 429."""
    clock = Clock()
    limits = Limits(clock=clock)
    arrival = Clock()
    telegram = RateLimiter(RateLimitConfig(enabled=True), arrival)
    departures = []
    for gap in gaps:  # the citizen's next message asks for a reply after `gap` seconds
        clock.now += gap
        clock.now += limits.wait_time(CHAT)
        limits.take(CHAT)
        departures.append(clock.now)
    for at in sorted(d + delay for d, delay in zip(departures, delays, strict=True)):
        arrival.now = at
        telegram.admit(CHAT, is_group=False)  # raises a 429 if it came too soon
