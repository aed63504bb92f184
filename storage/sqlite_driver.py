"""aiosqlite with one thread hop per statement instead of four.

aiosqlite runs SQLite in a thread and hands every call back to the event loop: making
a cursor, executing, fetching and closing are four hops for one statement. Under load
each hop waits its turn in a busy event loop, and on SQLite a write transaction holds
the one write lock across all of them, so the hops, not SQLite, set how many updates a
second the bot commits. Here a statement is made, executed, fetched and closed in one
hop (results up to `EAGER_ROWS` rows; a longer one, like a streamed export, keeps its
cursor open and fetches in chunks as before).

A hop costs more CPU than a short statement itself (waking the thread, handing the
GIL back and forth: about 600 of the 1,250 microseconds a unit of work with one
lookup takes). So code whose statements are all short (the bot's update handling and
its webhook's group commit) calls `run_inline()`, and its statements then run in the
event loop's own thread: no hop. So does the sender for a round of a few rows; at a
thousand messages a second its claims and results are worth running beside the event
loop, on the other core. `BEGIN IMMEDIATE` is tried inline without waiting (this
process's writers take turns before it, so the lock is nearly always free); if another
process holds the lock, the wait goes to the thread. Once it holds the lock, nothing
in that transaction waits (WAL readers never do), and no other task gets in while it
holds it: under load, a hop inside a write transaction kept the lock for as long as
the event loop took to come back to it. Long statements (dashboard counts, exports, a
broadcast's recipients) stay in the thread, where they do not hold up the event loop.
A connection is only ever used by one task at a time, each call awaited before the
next, so the two threads never touch it at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from functools import partial
from typing import Any

import aiosqlite

__all__ = ["connect", "run_inline", "statements_inline"]

#: Whether this task's statements run in the event loop's thread (see the docstring).
_INLINE: ContextVar[bool] = ContextVar("konsulta_sqlite_inline", default=False)

#: Rows fetched in the statement's own hop; a longer result streams.
EAGER_ROWS = 256


def run_inline() -> None:
    """From now on, the calling task's (and its child tasks') SQLite statements run
    in the event loop's thread. For code whose statements are all short."""
    _INLINE.set(True)


@contextlib.contextmanager
def statements_inline(enabled: bool = True) -> Iterator[None]:
    """Within the block, the calling task's statements run inline (or not)."""
    token = _INLINE.set(enabled)
    try:
        yield
    finally:
        _INLINE.reset(token)


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
        if sql.startswith("BEGIN IMMEDIATE"):
            await self._connection.begin_immediate(sql)
            return self
        await self._connection.run(partial(self._run, sql, parameters, many=False))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Cursor:
        await self._connection.run(partial(self._run, sql, parameters, many=True))
        return self

    def _run(self, sql: str, parameters: Any, *, many: bool) -> None:  # thread or inline
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
    #: The connection's busy timeout, read on its first inline BEGIN IMMEDIATE.
    _busy_ms: int | None = None

    def cursor(self) -> _Cursor:  # type: ignore[override]
        return _Cursor(self)

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    async def run(self, function: Any, inline: bool = True) -> Any:
        """Call `function` in the connection's thread (one hop), or right here if the
        task runs its statements inline and `inline` allows it."""
        if inline and _INLINE.get():
            return function()
        return await self._execute(function)  # type: ignore[no-untyped-call]

    async def begin_immediate(self, sql: str) -> None:
        """Take SQLite's write lock. Inline, it is tried once without waiting (this
        process's writers already take turns, `storage.uow.WriterTurns`, so the lock
        is nearly always free); only if another process holds it does the wait, with
        the busy timeout, go to the connection's thread, never the event loop's. A hop
        for every BEGIN let the other tasks' work in while the lock was held."""
        if _INLINE.get():
            connection = self._conn
            if self._busy_ms is None:  # as the engine set it on connecting
                self._busy_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
            connection.execute("PRAGMA busy_timeout=0")
            try:
                connection.execute(sql)
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
            finally:
                connection.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        await self._execute(partial(self._conn.execute, sql))  # type: ignore[no-untyped-call]

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def rollback(self) -> None:
        # Nothing to end (the pool's reset after the session's own rollback): no hop.
        if self._conn.in_transaction:
            await self.run(self._conn.rollback)


async def connect(database: str, **kwargs: Any) -> Connection:
    # Used from the event loop's thread too (`run_inline`), never from two at once.
    kwargs["check_same_thread"] = False
    connection = Connection(partial(sqlite3.connect, database, **kwargs), 64)
    connection._thread.daemon = True
    await connection
    return connection
