"""Durations as staff and tests type them: `14d`, `2h30m`, `1w`, `90s`, `45m`."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DurationError", "format_duration", "parse_duration"]

_PART = re.compile(r"(\d{1,7})\s*([wdhms])")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
#: No one means to move a clock more than a hundred years.
MAX_SECONDS = 100 * 366 * 86400


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """`1d12h` -> 36 hours; raises DurationError for anything else (with the reason)."""
    cleaned = text.strip().lower()
    position = 0
    seconds = 0
    found = False
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
        found = True
    if not found or cleaned[position:].strip():
        raise DurationError(f"not a duration: {text!r} (write e.g. 14d, 2h30m, 90s)")
    if seconds > MAX_SECONDS:
        raise DurationError(f"too long: {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of `parse_duration` for whole seconds: 36 hours -> `1d12h`."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit in "dhms":
        size = _UNITS[unit]
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return sign + ("".join(parts) or "0s")
