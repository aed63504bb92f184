"""The one writer of consultation exports (CSV, XLSX, JSON) for analysts.

One row per run, one column per question; a multiple-choice question becomes one 0/1
column per option and a ranking one column per rank, because that is what a
spreadsheet or a statistics package can count. Rows stream from the database and are
written as they come, so memory does not grow with the number of runs. Every text
cell that a spreadsheet would read as a formula is neutralised.

Each column says on what basis it holds personal data (`basis_of`): answers on the
citizen's consent to take part, a phone number or a home location on their consent to
be contacted, the name on their consent to be named. Per row, `consent:<purpose>` holds
when that consent was given, empty unless it stands today; the name and the contact
columns are filled only while theirs does. The XLSX carries the basis of every column
on a second sheet, the JSON in each row's `basis`.

A two-way table (`crosstab_csv`) is written here too, with the same neutralisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any, Literal

from openpyxl import Workbook

from dialogs.schema import CONTACT_PURPOSE, Flow, Step, StepKind
from konsulta.flow_library import FlowLibrary
from storage.models import ConsentPurpose
from storage.repositories import RunExport
from storage.uow import UnitOfWork
from storage.views.dashboard import Conditions, CrossTable
from storage.views.export import PURPOSES, ExportAnswer, ExportRow, stream_rows

Format = Literal["csv", "xlsx", "json"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "json")

# OWASP's list: a leading = + - @ starts a formula; tab and CR can smuggle one in.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    cell: Callable[[ExportRow], Any]
    #: The consent the column's personal data rests on (None: no personal data).
    purpose: str | None = None


def basis_of(column: Column) -> str:
    """What a column's cells rest on, in words for the analyst's sidecar."""
    if column.purpose is None:
        return "no personal data"
    return f"consent ({column.purpose})"


def _given(purpose: str) -> Callable[[ExportRow], Any]:
    def cell(row: ExportRow) -> Any:
        when = row.consents.get(purpose)
        return when.isoformat() if when else None

    return cell


META_COLUMNS: tuple[Column, ...] = (
    Column("participant", lambda r: r.participant),
    Column("run", lambda r: r.run_id),
    Column("flow_version", lambda r: r.flow_version),
    Column("language", lambda r: r.language),
    Column("status", lambda r: r.status),
    Column("source", lambda r: r.source),
    Column("started_at", lambda r: r.started_at.isoformat() if r.started_at else None),
    Column("completed_at", lambda r: r.completed_at.isoformat() if r.completed_at else None),
    Column(
        "name",
        lambda r: r.name if ConsentPurpose.NAMED in r.consents else None,
        ConsentPurpose.NAMED,
    ),
    *(Column(f"consent:{purpose}", _given(purpose)) for purpose in PURPOSES),
)


#: Characters a spreadsheet may skip before it looks for a formula: control and
#: format characters (tab, line feed, zero-width space) and every kind of space.
_SKIPPED = {"Cc", "Cf", "Zs", "Zl", "Zp"}


def neutralise(value: Any) -> Any:
    """Make a text cell safe to open in a spreadsheet (CSV/formula injection).

    A formula can hide behind leading spaces, a line feed or a zero-width character,
    and start with the full-width ＝＋－＠ that some spreadsheets read as = + - @; so
    the first visible character is compared in its NFKC form."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    start = 0
    while start < len(value) and unicodedata.category(value[start]) in _SKIPPED:
        start += 1
    first = unicodedata.normalize("NFKC", value[start : start + 1])
    if first and first[0] in _FORMULA_STARTS[:4]:
        return "'" + value
    return value


def _answer(row: ExportRow, step_id: str) -> ExportAnswer | None:
    answer = row.answers.get(step_id)
    return None if answer is None or answer.skipped else answer


def _plain(step_id: str) -> Callable[[ExportRow], Any]:
    def cell(row: ExportRow) -> Any:
        answer = _answer(row, step_id)
        if answer is None:
            return None
        value = answer.value
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, dict):  # voice-note answer to a text question, media, contact
            return next(iter(value.values()), None) if len(value) == 1 else json.dumps(value)
        return value

    return cell


def _picked(step_id: str, key: str) -> Callable[[ExportRow], Any]:
    def cell(row: ExportRow) -> Any:
        answer = _answer(row, step_id)
        if answer is None:
            return None
        return 1 if isinstance(answer.value, list) and key in answer.value else 0

    return cell


def _ranked(step_id: str, position: int) -> Callable[[ExportRow], Any]:
    def cell(row: ExportRow) -> Any:
        answer = _answer(row, step_id)
        if answer is None or not isinstance(answer.value, list):
            return None
        return answer.value[position] if position < len(answer.value) else None

    return cell


def _location(step_id: str, part: str) -> Callable[[ExportRow], Any]:
    def cell(row: ExportRow) -> Any:
        answer = _answer(row, step_id)
        return answer.value.get(part) if answer and isinstance(answer.value, dict) else None

    return cell


def _while_consented(purpose: str, cell: Callable[[ExportRow], Any]) -> Callable[[ExportRow], Any]:
    def guarded(row: ExportRow) -> Any:
        return cell(row) if purpose in row.consents else None

    return guarded


def step_columns(step: Step) -> list[Column]:
    purpose = step.purpose or ConsentPurpose.PARTICIPATION
    if step.kind is StepKind.MULTIPLE_CHOICE:
        found = [Column(f"{step.id}:{o.key}", _picked(step.id, o.key)) for o in step.options]
    elif step.kind is StepKind.RANKING:
        ranks = step.rank_up_to or len(step.options)
        found = [Column(f"{step.id}:{n + 1}", _ranked(step.id, n)) for n in range(ranks)]
    elif step.kind is StepKind.LOCATION:
        found = [Column(f"{step.id}:{p}", _location(step.id, p)) for p in ("lat", "lon", "place")]
    else:
        found = [Column(step.id, _plain(step.id))]
    if step.purpose == CONTACT_PURPOSE:
        # Withdrawal deletes these answers; the guard keeps a late one out all the same.
        found = [Column(c.name, _while_consented(CONTACT_PURPOSE, c.cell)) for c in found]
    return [Column(c.name, c.cell, purpose) for c in found]


def columns(flows: list[Flow]) -> list[Column]:
    """Columns for every question of every published version, newest version's order
    first, so runs of an old version still find their answers."""
    found: list[Column] = list(META_COLUMNS)
    seen: set[str] = set()
    for flow in sorted(flows, key=lambda f: -f.version):
        for step in flow.questions:
            for column in step_columns(step):
                if column.name not in seen:
                    seen.add(column.name)
                    found.append(column)
    return found


def _cells(row: ExportRow, cols: list[Column]) -> list[Any]:
    return [neutralise(col.cell(row)) for col in cols]


async def write_csv(rows: AsyncIterator[ExportRow], cols: list[Column], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow([c.name for c in cols])
    count = 0
    async for row in rows:
        writer.writerow(["" if v is None else v for v in _cells(row, cols)])
        count += 1
    return count


async def write_xlsx(rows: AsyncIterator[ExportRow], cols: list[Column], out: IO[bytes]) -> int:
    workbook = Workbook(write_only=True)  # rows go to a temp file, not memory
    sheet = workbook.create_sheet("answers")
    sheet.append([c.name for c in cols])
    count = 0
    async for row in rows:
        sheet.append(_cells(row, cols))
        count += 1
    basis = workbook.create_sheet("basis")
    basis.append(["column", "basis"])
    for column in cols:
        basis.append([column.name, basis_of(column)])
    workbook.save(out)
    return count


def _row_basis(row: ExportRow, cols: list[Column]) -> dict[str, str]:
    """column -> "consent (contact) given 2026-...": what each filled cell rests on."""
    found: dict[str, str] = {}
    for column in cols:
        when = row.consents.get(column.purpose or "")
        if when is not None and column.cell(row) is not None:
            found[column.name] = f"{basis_of(column)} given {when.isoformat()}"
    return found


def _json_row(row: ExportRow, cols: list[Column]) -> dict[str, Any]:
    contact = set()
    if ConsentPurpose.CONTACT not in row.consents:
        contact = {c.name.split(":")[0] for c in cols if c.purpose == CONTACT_PURPOSE}
    return {
        "participant": row.participant,
        "run": row.run_id,
        "flow_version": row.flow_version,
        "language": row.language,
        "status": row.status,
        "source": row.source,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
        "name": neutralise(row.name) if ConsentPurpose.NAMED in row.consents else None,
        "answers": {
            step_id: {
                "value": answer.value,
                "display": neutralise(answer.display),
                "skipped": answer.skipped,
            }
            for step_id, answer in row.answers.items()
            if step_id not in contact
        },
        "consents": {purpose: when.isoformat() for purpose, when in row.consents.items()},
        "basis": _row_basis(row, cols),
    }


async def write_json(rows: AsyncIterator[ExportRow], out: IO[str], cols: list[Column]) -> int:
    out.write("[")
    count = 0
    async for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(_json_row(row, cols), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


async def write_export(
    rows: AsyncIterator[ExportRow], flows: list[Flow], fmt: Format, out: IO[bytes]
) -> int:
    """Write every row to the binary stream `out` in `fmt`; returns the row count."""
    if fmt == "xlsx":
        return await write_xlsx(rows, columns(flows), out)
    # CSV carries a byte-order mark so that Excel reads Polish or Ukrainian letters right.
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    text = io.TextIOWrapper(out, encoding=encoding, newline="", write_through=True)
    try:
        if fmt == "csv":
            return await write_csv(rows, columns(flows), text)
        return await write_json(rows, text, columns(flows))
    finally:
        text.detach()


async def rows_from_runs(
    runs: AsyncIterator[RunExport], version_numbers: dict[int, int]
) -> AsyncIterator[ExportRow]:
    """Stored runs as export rows: pseudonymous participant ids, never a Telegram id."""
    async for item in runs:
        run = item.run
        yield ExportRow(
            participant=item.participant_id,
            run_id=run.id,
            flow_version=version_numbers.get(run.flow_version_id, 0),
            language=run.language,
            status=str(run.status),
            source=run.source,
            started_at=run.started_at,
            completed_at=run.completed_at,
            answers={
                a.step_id: ExportAnswer(a.value, a.display_text or "", a.skipped)
                for a in item.answers
            },
            name=item.name,
        )


async def _prepare(
    uow: UnitOfWork, library: FlowLibrary, slug: str, where: Conditions
) -> tuple[list[Flow], AsyncIterator[ExportRow]]:
    consultation = await uow.consultations.get_by_slug(slug)
    if consultation is None:
        raise KeyError(slug)
    versions = [
        v
        for number in range(1, (consultation.current_version or 0) + 1)
        if (v := await uow.consultations.get_version(consultation, number)) is not None
    ]
    flows = [library.flow(v) for v in versions]
    numbers = {v.id: v.version for v in versions}
    return flows, uow.stream(stream_rows, consultation.id, numbers, where)


async def export_consultation(
    uow: UnitOfWork,
    library: FlowLibrary,
    slug: str,
    fmt: Format,
    out: IO[bytes],
    *,
    where: Conditions = (),
) -> int:
    """Stream every run of consultation `slug` to `out`; raises KeyError if unknown.

    `where` narrows the runs (the dashboard exports what its filters show)."""
    flows, rows = await _prepare(uow, library, slug, where)
    return await write_export(rows, flows, fmt, out)


CHUNK_SIZE = 64 * 1024


class _Chunks(io.RawIOBase):
    """A write-only stream that collects bytes until someone takes them."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer.extend(data)
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


async def stream_export(
    uow: UnitOfWork,
    library: FlowLibrary,
    slug: str,
    fmt: Format,
    *,
    where: Conditions = (),
) -> AsyncIterator[bytes]:
    """The export as chunks of bytes for an HTTP response, with flat memory.

    CSV and JSON are handed out every `CHUNK_SIZE` bytes while rows still stream from
    the database. XLSX is a zip written at the end, so it goes to a temporary file
    that spills to disk past a few MB, then out in chunks. Raises KeyError if unknown.
    """
    flows, rows = await _prepare(uow, library, slug, where)
    if fmt == "xlsx":
        with tempfile.SpooledTemporaryFile(max_size=4 * CHUNK_SIZE) as spool:
            await write_export(rows, flows, fmt, spool)
            spool.seek(0)
            while block := spool.read(CHUNK_SIZE):
                yield block
        return
    sink = _Chunks()
    # A small queue between the writer (a task) and the response: when the client
    # reads slowly the queue fills, the writer stops pulling rows, and the database
    # cursor waits; memory stays at a few chunks.
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=4)

    async def paced() -> AsyncIterator[ExportRow]:
        async for row in rows:
            if len(sink.buffer) >= CHUNK_SIZE:
                await queue.put(sink.take())
            yield row

    async def produce() -> None:
        try:
            await write_export(paced(), flows, fmt, sink)  # type: ignore[arg-type]
            if sink.buffer:
                await queue.put(sink.take())
        finally:
            await queue.put(None)

    task = asyncio.create_task(produce())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await task  # raises what the writer raised
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def crosstab_csv(
    table: CrossTable,
    row_labels: dict[str, str],
    column_labels: dict[str, str],
    *,
    corner: str,
    total: str,
) -> str:
    """A two-way table as CSV: per row its label, per column the count and the row
    percentage (one decimal), and the row's citizens; labels as staff read them, every
    cell neutralised (an option label is the flow author's text)."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = [corner]
    for key in table.column_keys:
        label = column_labels.get(key, key)
        header += [label, f"{label} %"]
    writer.writerow([neutralise(cell) for cell in [*header, total]])
    for row in table.row_keys:
        cells: list[Any] = [row_labels.get(row, row)]
        for column in table.column_keys:
            share = table.share(row, column)
            cells += [table.count(row, column), "" if share is None else f"{100 * share:.1f}"]
        writer.writerow([neutralise(cell) for cell in [*cells, table.row_totals.get(row, 0)]])
    return out.getvalue()
