"""Counting a two-way table from the pairs of answers the database groups: the park
survey (tests/review/flow_a.yaml) crossed by district, satisfaction, missing things
and stairs."""

from __future__ import annotations

from pathlib import Path

from dialogs.loader import load_flow
from storage.views.dashboard import answer_labels, cross_table

PARK = load_flow(Path(__file__).resolve().parent.parent / "review" / "flow_a.yaml")


def test_districts_by_stairs_count_citizens_with_row_shares() -> None:
    pairs = [("north", True, 3), ("north", False, 1), ("south", False, 2)]

    table = cross_table(PARK.step("district"), PARK.step("stairs"), pairs)

    assert table.row_keys == ["north", "south"]
    assert table.column_keys == ["true", "false"]
    assert [[table.count(r, c) for c in table.column_keys] for r in table.row_keys] == [
        [3, 1],
        [0, 2],
    ]
    assert table.share("north", "true") == 0.75
    assert table.share("south", "true") == 0.0
    assert table.row_totals == {"north": 4, "south": 2}
    assert table.total == 6


def test_several_missing_things_count_once_each_and_the_row_counts_the_citizen_once() -> None:
    pairs = [("north", ["benches", "toilets"], 2), ("north", ["benches"], 1)]

    table = cross_table(PARK.step("district"), PARK.step("needs"), pairs)

    assert table.column_keys == ["benches", "toilets", "shade"]
    assert [table.count("north", c) for c in table.column_keys] == [3, 2, 0]
    assert table.row_totals["north"] == 3
    assert table.share("north", "benches") == 1.0
    assert table.share("south", "benches") is None  # nobody from the south answered


def test_missing_things_as_rows_put_a_citizen_in_each_row_they_picked() -> None:
    pairs = [(["benches", "shade"], 4, 1), (["benches"], 5.0, 2)]

    table = cross_table(PARK.step("needs"), PARK.step("satisfaction"), pairs)

    assert table.column_keys == ["1", "2", "3", "4", "5"]
    assert table.count("benches", "5") == 2 and table.count("benches", "4") == 1
    assert table.count("shade", "4") == 1
    assert table.row_totals == {"benches": 3, "shade": 1}


def test_an_option_a_later_version_dropped_is_kept_after_the_others() -> None:
    table = cross_table(PARK.step("district"), PARK.step("stairs"), [("east", True, 1)])

    assert table.row_keys == ["north", "south", "east"]
    assert table.count("east", "true") == 1


def test_labels_are_the_options_in_the_flows_language_and_yes_no_in_the_staffs() -> None:
    assert answer_labels(PARK, PARK.step("district"), "pl") == {
        "north": "Północ",
        "south": "Południe",
    }
    assert answer_labels(PARK, PARK.step("stairs"), "en", yes="Tak", no="Nie") == {
        "true": "Tak",
        "false": "Nie",
    }
