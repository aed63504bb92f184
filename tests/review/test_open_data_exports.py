"""A municipality puts a consultation's results on its open-data portal.

Org A's park survey: 24 people finished, two stopped half-way, k is the default 10.
Staff publish some questions on the dashboard; an operator then runs
`konsulta export park-survey --format floip|datapackage --out DIR` and gets the same
numbers the public page shows, as packages frictionless accepts, with nothing that
stands for fewer than 10 people and no pseudonym; a visitor downloads the same
packages from the public page.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import frictionless
import pytest

from konsulta.bootstrap import App
from konsulta.public_results import OTHER
from tests.cli.test_simulate_and_export import konsulta
from tests.review.conftest import Browser, logged_in
from tests.review.test_public_results import PUBLISHED, SECRET_IDEA, finished, publish

__all__ = ["finished"]  # the fixture, imported for this module's tests

PROFILES = Path(__file__).resolve().parents[1] / "services"  # "flow-results-package"


def numbers_in(directory: Path) -> list[int]:
    """Every count in a package's CSV files."""
    found = []
    for path in directory.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as stream:
            for row in csv.DictReader(stream):
                found.append(int(row.get("people") or row["count"]))
    return found


async def test_an_operator_exports_the_published_results_as_open_data_packages(
    browser_factory: Callable[[], Browser],
    app: App,
    migrated_url: str,
    finished: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    assert (await publish(staff, PUBLISHED)).status_code == 303

    for fmt in ("datapackage", "floip"):
        out = tmp_path / fmt
        done = konsulta(migrated_url, "export", "park-survey", "--format", fmt, "--out", str(out))
        assert done.returncode == 0, done.stderr.decode()
        monkeypatch.chdir(PROFILES)
        report = frictionless.validate(str(out / "datapackage.json"))
        assert report.valid, report.flatten(["type", "note"])
        assert numbers_in(out) and min(numbers_in(out)) >= 10
        text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
        assert SECRET_IDEA not in text and "How old are you?" not in text
        assert "Are stairs a problem?" not in text  # not published
        assert not re.findall(r"\bp-[0-9a-f]{6,}", text)  # no pseudonym
        descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
        assert descriptor["title"] == "The park in the centre"
        assert descriptor["publisher"] == "Org A"
        assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
        assert descriptor["temporal"]["start"]

    with (tmp_path / "datapackage" / "results.csv").open(encoding="utf-8") as stream:
        results = [(r["question_id"], r["answer"], r["people"]) for r in csv.DictReader(stream)]
    # the public page's numbers: districts 14 and 10, 12 gave 5, toilets 11
    assert results == [
        ("district", "north", "14"),
        ("district", "south", "10"),
        ("satisfaction", "5", "12"),
        ("satisfaction", OTHER, "12"),
        ("needs", "toilets", "11"),
    ]

    async with app.uow() as uow:
        entries = await uow.audit.search(organisation_id=None, action="export")
    assert sorted(e.detail["format"] for e in entries) == ["datapackage", "floip"]
    assert {e.target for e in entries} == {"park-survey"}


async def test_a_consultation_whose_results_are_not_published_has_no_package(
    app: App, migrated_url: str, finished: None, tmp_path: Path
) -> None:
    out = tmp_path / "package"
    refused = konsulta(
        migrated_url, "export", "park-survey", "--format", "floip", "--out", str(out)
    )
    assert refused.returncode == 2
    assert b"not published" in refused.stderr
    assert not out.exists()
    no_dir = konsulta(migrated_url, "export", "park-survey", "--format", "datapackage")
    assert no_dir.returncode == 2 and b"--out DIR" in no_dir.stderr
    async with app.uow() as uow:
        assert await uow.audit.search(organisation_id=None, action="export") == []


async def test_a_visitor_downloads_the_same_packages_from_the_public_page(
    browser_factory: Callable[[], Browser],
    anonymous: Browser,
    finished: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (await anonymous.get("/public/park-survey/datapackage.zip")).status_code == 404
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, PUBLISHED)
    page = await anonymous.get("/public/park-survey")
    assert 'href="/public/park-survey/datapackage.zip"' in page.text
    assert 'href="/public/park-survey/floip.zip"' in page.text
    for fmt in ("datapackage", "floip"):
        download = await anonymous.get(f"/public/park-survey/{fmt}.zip")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert "set-cookie" not in download.headers
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            archive.extractall(tmp_path)
        folder = tmp_path / f"park-survey-{fmt}"
        monkeypatch.chdir(PROFILES)
        report = frictionless.validate(str(folder / "datapackage.json"))
        assert report.valid, report.flatten(["type", "note"])
        assert min(numbers_in(folder)) >= 10
        descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        assert descriptor["homepage"] == "http://testserver/p/park-survey"
    assert (await anonymous.get("/public/park-survey/xlsx.zip")).status_code == 404
    await publish(staff, PUBLISHED, on=False)
    assert (await anonymous.get("/public/park-survey/floip.zip")).status_code == 404
