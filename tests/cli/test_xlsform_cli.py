"""Staff move consultations between Konsulta and spreadsheets with the real `konsulta`
command: a published consultation leaves as XLSForm, comes back as a flow file that
passes the check, and a form with rows Konsulta cannot play is refused row by row."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tests.cli.test_simulate_and_export import FLOWS, konsulta


def test_a_published_consultation_goes_out_as_xlsform_and_comes_back_as_a_flow(
    migrated_url: str, tmp_path: Path
) -> None:
    published = konsulta(migrated_url, "flows", "publish", str(FLOWS / "youth-ideas.yaml"))
    assert published.returncode == 0, published.stderr.decode()
    form = tmp_path / "youth.xlsx"

    exported = konsulta(
        migrated_url, "flows", "export", "youth-ideas", "--format", "xlsform", "--out", str(form)
    )
    assert exported.returncode == 0, exported.stderr.decode()
    book = openpyxl.load_workbook(form)
    assert book.sheetnames == ["survey", "choices", "settings"]
    header = [cell.value for cell in book["survey"][1]]
    assert "label::Українська (uk)" in header and "relevant" in header

    flow_file = tmp_path / "youth-ideas.yaml"
    imported = konsulta(migrated_url, "flows", "import", str(form), "--out", str(flow_file))
    assert imported.returncode == 0, imported.stderr.decode()
    checked = konsulta(migrated_url, "flows", "check", str(flow_file))
    assert checked.returncode == 0, checked.stdout.decode()


def test_an_unknown_consultation_cannot_be_exported(migrated_url: str, tmp_path: Path) -> None:
    done = konsulta(migrated_url, "flows", "export", "nothing-here", "--out", str(tmp_path / "x"))
    assert done.returncode == 1
    assert "no published consultation 'nothing-here'" in done.stderr.decode()


def test_a_form_with_rows_konsulta_cannot_play_is_refused_row_by_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    for row in (
        ["type", "name", "label::Polski (pl)", "relevant"],
        ["time", "hour", "O której?", ""],
        ["text", "why", "Dlaczego?", "${hour} > 3"],
        ["note", "thanks", "Dziękujemy", ""],
    ):
        survey.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_id", "organisation", "consent"])
    settings.append(["times", "Gmina", "Zapisujemy odpowiedzi."])
    form = tmp_path / "times.xlsx"
    book.save(form)
    out = tmp_path / "times.yaml"

    done = konsulta(
        "sqlite+aiosqlite:///unused.db", "flows", "import", str(form), "--out", str(out)
    )

    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "times.xlsx: survey row 2: type 'time' is not supported; use text or date",
        "times.xlsx: survey row 3: relevant ${hour} > 3: ${hour} is not a question asked "
        "before this row",
        "2 problem(s); nothing written",
    ]
    assert not out.exists()
