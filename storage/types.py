"""Column types shared by the models, so each backend difference is handled once.

SQLite has no time zones and returns naive datetimes; PostgreSQL returns aware ones.
`UTCDateTime` makes both look the same to the application (always aware, always UTC)
and refuses naive values on the way in, because a naive datetime is a bug waiting
for a daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "FOLLOWUP_SOURCE",
    "JSONType",
    "UTCDateTime",
    "bot_of_channel",
    "channel_of_bot",
    "utcnow",
]

#: A follow-up run's `source` prefix ("followup:<id>", konsulta/followup_flow.py); here
#: so that storage's views read it without importing konsulta.
FOLLOWUP_SOURCE = "followup:"


def channel_of_bot(name: str) -> str:
    """The citizen channel of a bot's users: `telegram` for the main bot (named "", as
    before there were several), `telegram:<name>` for each other one. A person who
    talks to two bots of a deployment is two citizens, each bot's own."""
    return f"telegram:{name}" if name else "telegram"


def bot_of_channel(channel: str) -> str:
    """The bot whose users a citizen channel holds (see `channel_of_bot`)."""
    return channel.partition(":")[2]


def utcnow() -> datetime:
    """The current time, aware, in UTC: the only clock the storage layer uses."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as text without an offset; always UTC so text order is time order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Plain JSON on SQLite, JSONB on PostgreSQL (indexable, compact, compared by value).
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
