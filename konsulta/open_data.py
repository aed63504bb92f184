"""Open-data packages of a consultation's public results, for a municipality's portal.

Two formats, both Frictionless Data Packages (a `datapackage.json` beside CSV files):

- `datapackage`: a plain Data Package, `results.csv` (one row per published cell:
  question, answer, people) and, when it may be shown, `languages.csv`;
- `floip`: a FLOIP Flow Results package (the open standard for answers collected by
  chat, SMS and voice flows), with the questions and their choices in the resource
  schema's `questions`, as the specification asks.

Both publish exactly what the public page publishes (`konsulta.public_numbers`, the
k-anonymity rules of `konsulta.public_results`): aggregated cells of the questions
staff made public, never a person's row, a pseudonym or free text. The one deviation
from Flow Results follows from that: its resource rows are responses of contacts, and
individual responses must not be published, so each row here is one published cell
(a question, a response, the number of people who gave it) and `contact_id` is
absent. `docs/public.md` says so for the people who read the package.

The descriptor carries the DCAT fields an open-data portal asks for (title,
description, publisher, licence, temporal coverage, keywords, language). This module
owns the two formats; building is pure (`datapackage`, `flow_results`), `write` puts
a package in a directory.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from dialogs.schema import Flow, Step, StepKind
from konsulta import public_numbers
from konsulta.flow_library import FlowLibrary
from konsulta.public_numbers import Numbers, option_keys
from konsulta.public_results import OTHER, Cell
from storage import public_views
from storage.models import Consultation
from storage.uow import UnitOfWork

__all__ = [
    "FLOW_RESULTS_VERSION",
    "LICENCES",
    "Catalogue",
    "OpenFormat",
    "Package",
    "build",
    "datapackage",
    "files",
    "flow_results",
    "published_package",
    "table",
    "write",
    "zipped",
]


class OpenFormat(StrEnum):
    FLOIP = "floip"
    DATAPACKAGE = "datapackage"


#: The Flow Results specification version the packages follow.
FLOW_RESULTS_VERSION = "1.0.0-rc1"
#: A fixed namespace for the packages' ids: the same consultation and flow version
#: always give the same id (Flow Results' "a new package per flow change").
PACKAGE_NAMESPACE = uuid.UUID("5b0e6a52-8f57-4d2e-9c39-7c1d1b0b2c0e")
#: What `KONSULTA_OPEN_DATA_LICENCE` may name, with the licence's title and address.
LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": (
        "Creative Commons Attribution 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "CC-BY-SA-4.0": (
        "Creative Commons Attribution Share-Alike 4.0",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    "CC0-1.0": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "ODC-BY-1.0": (
        "Open Data Commons Attribution License 1.0",
        "https://opendatacommons.org/licenses/by/1-0/",
    ),
    "ODbL-1.0": (
        "Open Data Commons Open Database License 1.0",
        "https://opendatacommons.org/licenses/odbl/1-0/",
    ),
    "PDDL-1.0": (
        "Open Data Commons Public Domain Dedication and License 1.0",
        "https://opendatacommons.org/licenses/pddl/1-0/",
    ),
}
#: The published name of the merged cell ("other answers or no answer").
OTHER_LABEL = "Other answers or no answer"

Row = list[str | int]


@dataclass(frozen=True)
class Catalogue:
    """The DCAT description of a package: what a portal shows about the data set."""

    slug: str
    title: str
    description: str
    publisher: str
    licence: str  # a key of LICENCES
    language: str
    start: date | None  # temporal coverage
    end: date | None
    issued: datetime  # when the results were first published
    counted: datetime  # when these numbers were counted
    k: int
    landing_page: str | None = None
    keywords: list[str] = field(default_factory=lambda: ["public consultation"])


@dataclass(frozen=True)
class Package:
    """A descriptor and its CSV files (file name -> rows, header first)."""

    descriptor: dict[str, Any]
    tables: dict[str, list[Row]]


def _labels(step: Step, flow: Flow, language: str) -> dict[str, str]:
    if step.kind is StepKind.YES_NO:
        return {"true": "yes", "false": "no"}
    if step.kind is StepKind.SCALE:
        return {key: key for key in option_keys(step)}
    return {option.key: flow.localize(option.label, language) for option in step.options}


def _timestamp(moment: datetime) -> str:
    """RFC 3339 with a numeric offset (Flow Results asks for +00:00, not Z)."""
    return moment.isoformat(timespec="seconds")


def _common(catalogue: Catalogue) -> dict[str, Any]:
    """The Data Package and DCAT properties both formats share."""
    title, path = LICENCES[catalogue.licence]
    temporal: dict[str, str] = {}
    if catalogue.start is not None:
        temporal["start"] = catalogue.start.isoformat()
    if catalogue.end is not None:
        temporal["end"] = catalogue.end.isoformat()
    descriptor: dict[str, Any] = {
        "name": catalogue.slug,
        "title": catalogue.title,
        "description": catalogue.description,
        "licenses": [{"name": catalogue.licence, "title": title, "path": path}],
        "contributors": [{"title": catalogue.publisher, "role": "publisher"}],
        "publisher": catalogue.publisher,
        "keywords": catalogue.keywords,
        "language": catalogue.language,
        "issued": _timestamp(catalogue.issued),
        "created": _timestamp(catalogue.counted),
        "temporal": temporal,
        "k_anonymity": {
            "min_group": catalogue.k,
            "rule": "no published number stands for fewer than min_group people",
        },
    }
    if catalogue.landing_page:
        descriptor["homepage"] = catalogue.landing_page
    return descriptor


def _cells(
    numbers: Numbers, flow: Flow, language: str
) -> list[tuple[Step, dict[str, str], list[Cell]]]:
    steps = {s.id: s for s in flow.questions}
    return [
        (steps[step_id], _labels(steps[step_id], flow, language), cells)
        for step_id, cells in numbers.questions
    ]


def datapackage(numbers: Numbers, flow: Flow, catalogue: Catalogue) -> Package:
    """A Frictionless Data Package: `results.csv` (and `languages.csv` when shown)."""
    language = catalogue.language
    results: list[Row] = [["question_id", "question", "answer", "answer_label", "people"]]
    for step, labels, cells in _cells(numbers, flow, language):
        question = flow.localize(step.text, language)
        for cell in cells:
            label = OTHER_LABEL if cell.key == OTHER else labels.get(cell.key, cell.key)
            results.append([step.id, question, cell.key, label, cell.count])
    people = {
        "name": "people",
        "type": "integer",
        "title": "People who finished and gave this answer",
        "constraints": {"required": True, "minimum": catalogue.k},
    }
    resources: list[dict[str, Any]] = [
        {
            "name": "results",
            "path": "results.csv",
            "title": "Published answers, per question",
            "description": (
                f"One row per published answer: the number of people, among the "
                f"{numbers.population} who finished, who gave it. Answers given by fewer "
                f"than {catalogue.k} people are merged into '{OTHER}'; on a "
                "several-answers question they are left out."
            ),
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": {
                "fields": [
                    {"name": "question_id", "type": "string", "constraints": {"required": True}},
                    {"name": "question", "type": "string"},
                    {"name": "answer", "type": "string", "constraints": {"required": True}},
                    {"name": "answer_label", "type": "string"},
                    people,
                ],
                "primaryKey": ["question_id", "answer"],
            },
        }
    ]
    tables = {"results.csv": results}
    if numbers.languages is not None:
        languages: list[Row] = [["language", "people"]]
        languages.extend([cell.key, cell.count] for cell in numbers.languages)
        tables["languages.csv"] = languages
        resources.append(
            {
                "name": "languages",
                "path": "languages.csv",
                "title": "People who finished, by the language they answered in",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": [{"name": "language", "type": "string"}, people],
                    "primaryKey": ["language"],
                },
            }
        )
    descriptor = {
        "profile": "tabular-data-package",
        **_common(catalogue),
        "population": numbers.population,
        "resources": resources,
    }
    return Package(descriptor, tables)


def _question(step: Step, flow: Flow, labels: dict[str, str], language: str) -> dict[str, Any]:
    """A Flow Results question: its type, label and full choice definitions."""
    label = flow.localize(step.text, language)
    if step.kind is StepKind.SCALE:
        return {
            "type": "numeric",
            "label": label,
            "type_options": {"range": [step.min, step.max]},
        }
    kind = "select_many" if step.kind is StepKind.MULTIPLE_CHOICE else "select_one"
    keys = option_keys(step)
    return {
        "type": kind,
        "label": label,
        "type_options": {"choices": keys, "choice_labels": {k: labels[k] for k in keys}},
    }


def flow_results(numbers: Numbers, flow: Flow, catalogue: Catalogue) -> Package:
    """A FLOIP Flow Results package whose rows are published cells, not responses."""
    language = catalogue.language
    counted = _timestamp(catalogue.counted)
    rows: list[Row] = [
        ["timestamp", "row_id", "question_id", "response", "count", "response_metadata"]
    ]
    questions: dict[str, Any] = {}
    for step, labels, cells in _cells(numbers, flow, language):
        questions[step.id] = _question(step, flow, labels, language)
        for cell in cells:
            metadata = {"aggregate": "people", "of": numbers.population}
            if cell.key == OTHER:
                metadata["label"] = OTHER_LABEL
            rows.append(
                [
                    counted,
                    f"{step.id}:{cell.key}",
                    step.id,
                    cell.key,
                    cell.count,
                    json.dumps(metadata, ensure_ascii=False, sort_keys=True),
                ]
            )
    package_id = uuid.uuid5(PACKAGE_NAMESPACE, f"{catalogue.slug}:{flow.version}")
    descriptor = {
        "profile": "flow-results-package",
        "flow_results_specification_version": FLOW_RESULTS_VERSION,
        "id": str(package_id),
        **_common(catalogue),
        "created": _timestamp(catalogue.issued),
        "modified": counted,
        "population": numbers.population,
        "resources": [
            {
                "name": "flow-results-data",
                "path": "flow-results-data.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": (
                    "Aggregated: one row per published cell (question, response, number "
                    f"of people among the {numbers.population} who finished), not one per "
                    "response, so that no contact can be singled out; no contact_id."
                ),
                "schema": {
                    "fields": [
                        {"name": "timestamp", "title": "Timestamp", "type": "datetime"},
                        {"name": "row_id", "title": "Row ID", "type": "string"},
                        {"name": "question_id", "title": "Question ID", "type": "string"},
                        {"name": "response", "title": "Response", "type": "string"},
                        {
                            "name": "count",
                            "title": "People",
                            "type": "integer",
                            "constraints": {"required": True, "minimum": catalogue.k},
                        },
                        {
                            "name": "response_metadata",
                            "title": "Response Metadata",
                            "type": "object",
                        },
                    ],
                    "primaryKey": ["row_id"],
                    "questions": questions,
                },
            }
        ],
    }
    return Package(descriptor, {"flow-results-data.csv": rows})


def build(fmt: OpenFormat, numbers: Numbers, flow: Flow, catalogue: Catalogue) -> Package:
    return (flow_results if fmt is OpenFormat.FLOIP else datapackage)(numbers, flow, catalogue)


def _neutral(value: str | int) -> str | int:
    """Spreadsheet formula injection: a text cell never starts with = + - @."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        try:
            float(value)  # a negative scale point stays a number
        except ValueError:
            return "'" + value
    return value


def files(package: Package) -> dict[str, bytes]:
    """The package's files by name: `datapackage.json` first, then the CSV files (UTF-8,
    a header row)."""
    out = {
        "datapackage.json": (
            json.dumps(package.descriptor, ensure_ascii=False, indent=2) + "\n"
        ).encode("utf-8")
    }
    for name, rows in package.tables.items():
        stream = io.StringIO(newline="")
        writer = csv.writer(stream)
        writer.writerow(rows[0])
        writer.writerows([_neutral(value) for value in row] for row in rows[1:])
        out[name] = stream.getvalue().encode("utf-8")
    return out


def write(package: Package, directory: Path) -> list[Path]:
    """Write `datapackage.json` and the CSV files into `directory` (created if needed);
    the paths written, the descriptor first."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files(package).items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


def zipped(package: Package, folder: str) -> bytes:
    """The package as a ZIP archive of one folder (a download from the public page)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files(package).items():
            archive.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


def table(rows: Sequence[Row]) -> list[dict[str, str | int]]:
    """Rows as dicts (header first), for tests and readers."""
    return [dict(zip((str(h) for h in rows[0]), row, strict=True)) for row in rows[1:]]


def catalogue_of(
    consultation: Consultation,
    flow: Flow,
    publisher: str,
    *,
    licence: str,
    k: int,
    counted: datetime,
    landing_page: str | None = None,
) -> Catalogue:
    """The DCAT description from the flow (title, description, dates) and the
    consultation (published since, closed): nothing about any person."""
    language = flow.default_language
    title = flow.localize(flow.title, language)
    description = (
        flow.localize(flow.description, language)
        if flow.description is not None
        else f"Results of the public consultation \u201c{title}\u201d by {publisher}."
    )
    start = flow.opens or consultation.created_at.date()
    end = flow.closes
    if end is None and consultation.closed_at is not None:
        end = consultation.closed_at.date()
    return Catalogue(
        slug=consultation.slug,
        title=title,
        description=description,
        publisher=publisher,
        licence=licence,
        language=language,
        start=start,
        end=end,
        issued=consultation.public_since or counted,
        counted=counted,
        k=k,
        landing_page=landing_page,
    )


async def published_package(
    uow: UnitOfWork,
    flows: FlowLibrary,
    slug: str,
    fmt: OpenFormat,
    *,
    k: int,
    licence: str,
    counted: datetime,
    landing_page: str | None = None,
) -> Package | None:
    """The package of a consultation whose results staff published, or None (not
    there, not published, or no published version: alike, as on the public page)."""
    found = await uow.read(public_views.published_consultation, slug)
    current = None if found is None else await flows.current(uow, found)
    if found is None or current is None:
        return None
    flow = current[1]
    publisher = await uow.read(public_views.organisation_name, found.organisation_id)
    numbers = await public_numbers.count(uow, found, flow, k)
    catalogue = catalogue_of(
        found, flow, publisher, licence=licence, k=k, counted=counted, landing_page=landing_page
    )
    return build(fmt, numbers, flow, catalogue)
