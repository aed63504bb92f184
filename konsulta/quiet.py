"""Quiet hours: no outreach message arrives at night in the citizen's own timezone.

A message that falls due between `start` and `end` local time (default 21:00-08:00,
crossing midnight) waits until `end`. Dialog replies are never deferred: the citizen
is awake, they just wrote to us.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["QuietHours", "parse_clock_time"]


def parse_clock_time(text: str) -> time:
    """`21:00` -> 21:00; raises ValueError otherwise."""
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    default_timezone: str = "Europe/Warsaw"

    @classmethod
    def from_text(cls, start: str, end: str, default_timezone: str) -> QuietHours:
        return cls(parse_clock_time(start), parse_clock_time(end), default_timezone)

    def _quiet(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def deferred_until(self, now: datetime, timezone: str | None) -> datetime | None:
        """None if a message may go at `now`; else the UTC time the night ends."""
        zone = _zone(timezone or self.default_timezone) or _zone(self.default_timezone)
        local = now.astimezone(zone or UTC)
        if not self._quiet(local.time()):
            return None
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)  # evening: the night ends tomorrow morning
        wake = datetime.combine(day, self.end, tzinfo=zone or UTC)
        return wake.astimezone(UTC)
