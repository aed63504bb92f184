"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs SQLite in a thread and hands every call back to the event loop: making
a cursor, executing, fetching and closing are four hops for one statement. Under load
each hop waits its turn in a busy event loop, and on SQLite a write transaction holds
the one write lock across all of them, so the hops, not SQLite, set how many updates a
second the bot commits. Here a statement is made, executed, fetched and closed in one
hop (results up to `EAGER_ROWS` rows; a longer one, like a streamed export, keeps its
cursor open and fetches in chunks as before).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite

__all__ = ["connect"]

#: Rows fetched in the statement's own hop; a longer result streams.
EAGER_ROWS = 256


class _Cursor:
    """The parts of aiosqlite's cursor SQLAlchemy's adapter uses."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None  # open only while a result streams
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> _Cursor:
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _Cursor:
        await self._connection.run(partial(self._run, sql, parameters, many=False))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Cursor:
        await self._connection.run(partial(self._run, sql, parameters, many=True))
        return self

    def _run(self, sql: str, parameters: Any, *, many: bool) -> None:  # in the thread
        cursor = self._connection.sqlite.cursor()
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters or ())
        self.description, self.rowcount, self.lastrowid = (
            cursor.description,
            cursor.rowcount,
            cursor.lastrowid,
        )
        self._rows = cursor.fetchmany(EAGER_ROWS + 1) if cursor.description else []
        if len(self._rows) > EAGER_ROWS:
            self._cursor = cursor
        else:
            cursor.close()

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        if self._cursor is not None:
            rows += await self._connection.run(self._cursor.fetchall)
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size and self._cursor is not None:
            self._rows += await self._connection.run(partial(self._cursor.fetchmany, size))
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            await self._connection.run(cursor.close)


class Connection(aiosqlite.Connection):
    def cursor(self) -> _Cursor:  # type: ignore[override]
        return _Cursor(self)

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    async def run(self, function: Any) -> Any:
        """Call `function` in the connection's thread (one hop)."""
        return await self._execute(function)  # type: ignore[no-untyped-call]


async def connect(database: str, **kwargs: Any) -> Connection:
    connection = Connection(partial(sqlite3.connect, database, **kwargs), 64)
    connection._thread.daemon = True
    await connection
    return connection
