"""A staff member checks a flow, plays it in the terminal as a citizen, and exports
the answers: the foundation's whole loop, through the real `konsulta` command."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from storage.engine import create_engine, create_sessionmaker
from storage.uow import UnitOfWork

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "dialogs" / "flows"


def konsulta(
    db_url: str, *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KONSULTA_DATABASE_URL": db_url, "KONSULTA_PSEUDONYM_SECRET": "test"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin.encode(),
        capture_output=True,
        env=env,
        cwd=cwd or REPO,
        timeout=120,
        check=False,
    )


# A citizen reports a broken street light in English: consent, then every question.
SERVICE_NEED_ANSWERS = "\n".join(
    [
        "1",  # I agree
        "2",  # what: street lights
        "The lamp at the bus stop is dark every night",  # describe
        "/location 54.4641 17.0285",  # place
        "/skip",  # photo
        "2",  # urgency: needs fixing soon
        "7.10.2026",  # since
        "3",  # affects: older people (toggle)
        "1",  # affects: everyone (toggle)
        "8",  # Done
        "2",  # reported before: no
        "1",  # contact: here in the chat
    ]
)


async def answers_of(db_url: str) -> dict[str, object]:
    engine = create_engine(db_url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            consultation = await uow.consultations.get_by_slug("service-need")
            assert consultation is not None
            runs = [r async for r in uow.runs.stream_for_export(consultation.id)]
        assert len(runs) == 1
        assert runs[0].run.status == "completed"
        return {a.step_id: a.value for a in runs[0].answers}
    finally:
        await engine.dispose()


async def test_a_citizen_reports_a_broken_light_in_the_simulator_and_staff_export_it(
    migrated_url: str, tmp_path: Path
) -> None:
    played = konsulta(
        migrated_url,
        "simulate",
        str(FLOWS / "service-need.yaml"),
        "--lang",
        "en",
        stdin=SERVICE_NEED_ANSWERS + "\n",
    )
    out = played.stdout.decode()
    assert played.returncode == 0, played.stderr.decode()
    assert "What is the problem about?" in out
    assert "Traceback" not in played.stderr.decode()

    answers = await answers_of(migrated_url)
    assert answers["what"] == "lighting"
    assert answers["describe"] == "The lamp at the bus stop is dark every night"
    assert answers["place"] == {"lat": 54.4641, "lon": 17.0285}
    assert answers["photo"] is None  # skipped
    assert answers["urgency"] == "soon"
    assert answers["since"] == "2026-10-07"
    assert sorted(answers["affects"]) == ["everyone", "seniors"]  # type: ignore[arg-type]
    assert answers["reported_before"] is False
    assert answers["contact_pref"] == "chat"
    assert "danger_note" not in answers and "reported_where" not in answers

    csv_file = tmp_path / "answers.csv"
    exported = konsulta(
        migrated_url, "export", "service-need", "--format", "csv", "--out", str(csv_file)
    )
    assert exported.returncode == 0, exported.stderr.decode()
    [row] = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert row["what"] == "lighting"
    assert row["affects:seniors"] == "1" and row["affects:children"] == "0"
    assert row["place:lat"] == "54.4641"
    assert row["participant"].startswith("p-")
    assert row["status"] == "completed"

    xlsx_file = tmp_path / "answers.xlsx"
    assert (
        konsulta(
            migrated_url, "export", "service-need", "--format", "xlsx", "--out", str(xlsx_file)
        ).returncode
        == 0
    )
    workbook = load_workbook(xlsx_file, read_only=True)
    sheet = workbook.active
    assert sheet is not None
    header, values = list(sheet.iter_rows(values_only=True))
    workbook.close()
    assert dict(zip(header, values, strict=False))["urgency"] == "soon"

    as_json = konsulta(migrated_url, "export", "service-need", "--format", "json")
    [run] = json.loads(as_json.stdout)
    assert run["answers"]["describe"]["value"].startswith("The lamp")


def test_a_citizen_who_stops_half_way_continues_where_they_were(migrated_url: str) -> None:
    flow = str(FLOWS / "service-need.yaml")
    first = konsulta(
        migrated_url, "simulate", flow, "--lang", "en", "--user", "ola", stdin="1\n2\n"
    )
    assert "Describe the problem" in first.stdout.decode()
    again = konsulta(migrated_url, "simulate", "service-need", "--user", "ola", stdin="")
    assert again.returncode == 0
    # The same question again, not the consent or the first question.
    assert "Describe the problem" in again.stdout.decode()
    assert "Do you agree" not in again.stdout.decode()


def test_a_citizen_who_declines_consent_leaves_nothing_but_the_refusal(migrated_url: str) -> None:
    played = konsulta(
        migrated_url, "simulate", str(FLOWS / "youth-ideas.yaml"), "--lang", "en", stdin="2\n"
    )
    assert played.returncode == 0
    assert "/start" in played.stdout.decode()
    exported = konsulta(migrated_url, "export", "youth-ideas", "--format", "json")
    assert json.loads(exported.stdout) == []


def test_the_export_of_a_consultation_without_answers_is_an_empty_file_with_headers(
    migrated_url: str, tmp_path: Path
) -> None:
    assert konsulta(migrated_url, "flows", "publish", str(FLOWS)).returncode == 0
    out = tmp_path / "empty.csv"
    assert konsulta(migrated_url, "export", "senior-housing", "--out", str(out)).returncode == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0][:3] == ["participant", "run", "flow_version"]
    assert "age" in rows[0]
    xlsx = tmp_path / "empty.xlsx"
    assert (
        konsulta(
            migrated_url, "export", "senior-housing", "--format", "xlsx", "--out", str(xlsx)
        ).returncode
        == 0
    )
    workbook = load_workbook(xlsx, read_only=True)
    sheet = workbook.active
    assert sheet is not None and len(list(sheet.iter_rows())) == 1
    workbook.close()


def test_a_broken_flow_is_refused_with_every_problem_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (FLOWS / "youth-ideas.yaml")
        .read_text(encoding="utf-8")
        .replace("goto: end", "goto: nowhere", 1),
        encoding="utf-8",
    )
    (tmp_path / "also.yaml").write_text("- just a list\n", encoding="utf-8")
    checked = konsulta(
        "sqlite+aiosqlite:///unused.db", "flows", "check", str(tmp_path), cwd=tmp_path
    )
    assert checked.returncode == 2
    lines = checked.stdout.decode().splitlines()
    assert any(line.startswith("broken.yaml:") and "'nowhere'" in line for line in lines)
    assert any(line.startswith("also.yaml: the file should be a mapping") for line in lines)
    db = tmp_path / "k.db"
    published = konsulta(f"sqlite+aiosqlite:///{db}", "flows", "publish", str(broken), cwd=tmp_path)
    assert published.returncode == 2
    assert "nothing published" in published.stderr.decode()


def test_the_bundled_flows_pass_the_check() -> None:
    checked = konsulta("sqlite+aiosqlite:///unused.db", "flows", "check", str(FLOWS))
    assert checked.returncode == 0, checked.stdout.decode()
    assert "no problems" in checked.stdout.decode()
