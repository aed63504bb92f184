"""The open-data packages a municipality puts on its portal, built from the numbers the
public page publishes: Org A's park survey, 24 people finished, k = 10.

Both packages are checked with the reference tooling (`frictionless.validate`). A Flow
Results package names its profile "flow-results-package"; frictionless looks a
profile name up as a JSON Schema file, so the tests validate from this folder, where
`flow-results-package` holds the specification's descriptor rules as a JSON Schema.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import frictionless
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.loader import load_flow
from konsulta import open_data
from konsulta.open_data import Catalogue, OpenFormat
from konsulta.public_numbers import Numbers
from konsulta.public_results import OTHER, Cell, breakdown, multiple_choice, single_choice

HERE = Path(__file__).resolve().parent
FLOW = load_flow(HERE.parents[1] / "tests" / "review" / "flow_a.yaml")
K = 10

# What the public page publishes of the park survey (tests/review/test_public_results):
# districts 14 and 10; satisfaction 12 gave 5, the rest "other"; toilets 11.
PARK = Numbers(
    population=24,
    languages=[Cell("en", 12), Cell("pl", 12)],
    questions=[
        ("district", [Cell("north", 14), Cell("south", 10)]),
        ("satisfaction", [Cell("5", 12), Cell(OTHER, 12)]),
        ("needs", [Cell("toilets", 11)]),
    ],
)


def catalogue(**changes: Any) -> Catalogue:
    values: dict[str, Any] = {
        "slug": "park-survey",
        "title": "The park in the centre",
        "description": "What people said about the park.",
        "publisher": "Org A",
        "licence": "CC-BY-4.0",
        "language": "en",
        "start": date(2026, 10, 1),
        "end": date(2026, 11, 30),
        "issued": datetime(2026, 12, 1, 9, tzinfo=UTC),
        "counted": datetime(2026, 12, 7, 8, 30, tzinfo=UTC),
        "k": K,
    }
    return Catalogue(**{**values, **changes})


def validate(directory: Path, monkeypatch: pytest.MonkeyPatch) -> frictionless.Report:
    monkeypatch.chdir(HERE)  # where the "flow-results-package" profile is
    return frictionless.validate(str(directory / "datapackage.json"))


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_data_package_has_one_row_per_published_answer_and_the_portal_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = open_data.datapackage(PARK, FLOW, catalogue())
    written = open_data.write(package, tmp_path)
    assert [p.name for p in written] == ["datapackage.json", "results.csv", "languages.csv"]

    report = validate(tmp_path, monkeypatch)
    assert report.valid, report.flatten(["type", "note"])

    results = rows(tmp_path / "results.csv")
    assert [(r["question_id"], r["answer"], r["answer_label"], r["people"]) for r in results] == [
        ("district", "north", "North", "14"),
        ("district", "south", "South", "10"),
        ("satisfaction", "5", "5", "12"),
        ("satisfaction", OTHER, "Other answers or no answer", "12"),
        ("needs", "toilets", "Toilets", "11"),
    ]
    assert results[0]["question"] == "Which district do you live in?"
    assert rows(tmp_path / "languages.csv") == [
        {"language": "en", "people": "12"},
        {"language": "pl", "people": "12"},
    ]
    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    # DCAT: title, description, publisher, licence, temporal coverage
    assert descriptor["title"] == "The park in the centre"
    assert descriptor["description"] == "What people said about the park."
    assert descriptor["publisher"] == "Org A"
    assert descriptor["contributors"] == [{"title": "Org A", "role": "publisher"}]
    assert descriptor["licenses"] == [
        {
            "name": "CC-BY-4.0",
            "title": "Creative Commons Attribution 4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
        }
    ]
    assert descriptor["temporal"] == {"start": "2026-10-01", "end": "2026-11-30"}
    assert descriptor["population"] == 24 and descriptor["k_anonymity"]["min_group"] == K
    # the schema itself says no number is below k
    people = descriptor["resources"][0]["schema"]["fields"][-1]
    assert people["constraints"]["minimum"] == K


def test_the_flow_results_package_defines_the_questions_and_aggregates_the_responses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_data.write(open_data.flow_results(PARK, FLOW, catalogue()), tmp_path)
    report = validate(tmp_path, monkeypatch)
    assert report.valid, report.flatten(["type", "note"])

    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    assert descriptor["profile"] == "flow-results-package"
    assert descriptor["flow_results_specification_version"] == "1.0.0-rc1"
    assert descriptor["created"] == "2026-12-01T09:00:00+00:00"  # +00:00, never Z
    assert descriptor["modified"] == "2026-12-07T08:30:00+00:00"
    # the same consultation and flow version: the same id
    again = open_data.flow_results(PARK, FLOW, catalogue(counted=datetime.now(UTC)))
    assert again.descriptor["id"] == descriptor["id"]
    [resource] = descriptor["resources"]
    assert resource["name"] == "flow-results-data"
    assert "contact_id" not in [f["name"] for f in resource["schema"]["fields"]]
    assert resource["schema"]["questions"] == {
        "district": {
            "type": "select_one",
            "label": "Which district do you live in?",
            "type_options": {
                "choices": ["north", "south"],
                "choice_labels": {"north": "North", "south": "South"},
            },
        },
        "satisfaction": {
            "type": "numeric",
            "label": "How do you rate the park?",
            "type_options": {"range": [1, 5]},
        },
        "needs": {
            "type": "select_many",
            "label": "What is missing?",
            "type_options": {
                "choices": ["benches", "toilets", "shade"],
                "choice_labels": {"benches": "Benches", "toilets": "Toilets", "shade": "Shade"},
            },
        },
    }
    data = rows(tmp_path / "flow-results-data.csv")
    assert [(r["row_id"], r["question_id"], r["response"], r["count"]) for r in data] == [
        ("district:north", "district", "north", "14"),
        ("district:south", "district", "south", "10"),
        ("satisfaction:5", "satisfaction", "5", "12"),
        (f"satisfaction:{OTHER}", "satisfaction", OTHER, "12"),
        ("needs:toilets", "needs", "toilets", "11"),
    ]
    assert json.loads(data[3]["response_metadata"]) == {
        "aggregate": "people",
        "label": "Other answers or no answer",
        "of": 24,
    }


def test_frictionless_rejects_a_package_with_a_number_below_k(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packages' schemas carry k: a cell that slipped past the rules would fail."""
    leaky = Numbers(24, None, [("district", [Cell("north", 21), Cell("south", 3)])])
    for fmt in OpenFormat:
        directory = tmp_path / fmt.value
        open_data.write(open_data.build(fmt, leaky, FLOW, catalogue()), directory)
        report = validate(directory, monkeypatch)
        assert not report.valid
        assert {e.type for e in report.tasks[0].errors} == {"constraint-error"}


def test_a_consultation_nobody_finished_yet_is_a_valid_package_without_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Numbers(3, None, [])
    for fmt in OpenFormat:
        directory = tmp_path / fmt.value
        open_data.write(open_data.build(fmt, empty, FLOW, catalogue(end=None)), directory)
        assert validate(directory, monkeypatch).valid
        descriptor = json.loads((directory / "datapackage.json").read_text())
        assert descriptor["temporal"] == {"start": "2026-10-01"}
        assert len((directory / descriptor["resources"][0]["path"]).read_text().splitlines()) == 1


def test_a_licence_setting_names_the_licence_and_its_address() -> None:
    package = open_data.datapackage(PARK, FLOW, catalogue(licence="CC0-1.0"))
    assert package.descriptor["licenses"] == [
        {
            "name": "CC0-1.0",
            "title": "CC0 1.0",
            "path": "https://creativecommons.org/publicdomain/zero/1.0/",
        }
    ]


counts = st.lists(st.integers(min_value=0, max_value=30), min_size=5, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    district=counts,
    scale=counts,
    needs=counts,
    pl=st.integers(min_value=0, max_value=40),
    k=st.integers(min_value=2, max_value=15),
)
def test_no_count_below_k_ever_appears_in_either_package(
    district: list[int], scale: list[int], needs: list[int], pl: int, k: int
) -> None:
    """Whatever people answered, the packages built from the public page's rules hold
    no number below k (except the population, which is at least k when anything is)."""
    population = sum(scale) + district[2]  # scale: everyone answered; district: some not
    answered = {"north": district[0], "south": district[1]}
    questions: list[tuple[str, list[Cell]]] = []
    one = single_choice(answered, ["north", "south"], sum(answered.values()) + district[2], k)
    if one:
        questions.append(("district", one))
    points = {str(p + 1): n for p, n in enumerate(scale)}
    rated = single_choice(points, list(points), population, k)
    if rated:
        questions.append(("satisfaction", rated))
    picked = {"benches": needs[0], "toilets": needs[1], "shade": needs[2]}
    several = multiple_choice(
        picked, list(picked), min(max(picked.values()), population), population, k
    )
    if several:
        questions.append(("needs", several))
    languages = breakdown(
        {"pl": min(pl, population), "en": population - min(pl, population)}, population, k
    )
    numbers = Numbers(population, languages, questions)
    for fmt in OpenFormat:
        package = open_data.build(fmt, numbers, FLOW, catalogue(k=k))
        for table in package.tables.values():
            for row in open_data.table(table):
                number = row.get("people", row.get("count"))
                assert isinstance(number, int) and number >= k
