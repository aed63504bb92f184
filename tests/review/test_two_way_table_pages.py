"""A clerk crosses two questions of Org A's park survey on its results page: who
finds stairs a problem, by district. Anna (north) does, Celina (north) and Bogdan
(south) do not, Dawid (south) stopped before the question. The table downloads as
CSV; Org B cannot see it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from konsulta.bootstrap import App
from review.export import crosstab_csv
from storage.views.dashboard import cross_table
from tests.review.conftest import Browser, logged_in
from tests.storage.test_two_way_table import PARK

TABLE = "/consultations/park-survey?rows=district&columns=stairs"
CSV = "/consultations/park-survey/crosstab.csv?rows=district&columns=stairs"


async def test_a_viewer_sees_stairs_by_district_with_row_shares(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")

    page = (await viewer.get(TABLE)).text

    table = page.split('class="data two-way"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">North</th>' in table and '<th scope="col">Yes</th>' in table
    assert '<td data-cell="north:true">1 <small>(50%)</small></td>' in table
    assert '<td data-cell="north:false">1 <small>(50%)</small></td>' in table
    assert '<td data-cell="south:true">0 <small>(0%)</small></td>' in table
    assert '<td data-cell="south:false">1 <small>(100%)</small></td>' in table
    assert "north" not in table.replace('data-cell="north', "")  # labels, never keys


async def test_picking_other_questions_keeps_the_filters(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")

    page = (await viewer.get(f"{TABLE}&language=pl&answer=needs:shade")).text

    form = page.split('id="two-way"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="language" value="pl">' in form
    assert '<input type="hidden" name="step" value="needs">' in form
    assert '<input type="hidden" name="value" value="shade">' in form
    assert '<td data-cell="south:false">1 <small>(100%)</small></td>' in page  # Bogdan only
    assert "crosstab.csv?rows=district&amp;columns=stairs&amp;language=pl&amp;step=needs" in page


async def test_the_table_follows_the_filters_and_downloads_as_csv(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post("/language", {"language": "pl"})

    response = await staff.get(f"{CSV}&language=en")

    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="park-survey-district-stairs.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        [
            "Which district do you live in? / Are stairs a problem?",
            "Tak", "Tak %", "Nie", "Nie %", "Osoby",
        ],
        ["North", "1", "50.0", "1", "50.0", "2"],
        ["South", "0", "", "0", "", "0"],
    ]  # fmt: skip
    async with app.uow() as uow:
        (entry,) = await uow.audit.search(organisation_id=None, action="export")
    assert entry.detail["format"] == "crosstab.csv"
    assert entry.detail["filters"] == "language=en"


async def test_a_question_that_is_not_a_choice_gives_no_table(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")

    page = await viewer.get("/consultations/park-survey?rows=district&columns=idea")
    download = await viewer.get("/consultations/park-survey/crosstab.csv?rows=age&columns=stairs")

    assert page.status_code == 200 and 'class="data two-way"' not in page.text
    assert download.status_code == 404


async def test_another_organisation_cannot_cross_the_park_survey(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    other = await logged_in(browser_factory, "staff-b@example.org")

    assert (await other.get(TABLE)).status_code == 404
    assert (await other.get(CSV)).status_code == 404


def test_a_label_that_looks_like_a_formula_is_neutralised_in_the_csv() -> None:
    table = cross_table(PARK.step("district"), PARK.step("stairs"), [("north", True, 1)])

    text = crosstab_csv(
        table,
        {"north": "=HYPERLINK(1)", "south": "South"},
        {"true": "+Yes", "false": "No"},
        corner="-district",
        total="Citizens",
    )

    assert text.splitlines()[:2] == [
        "'-district,'+Yes,'+Yes %,No,No %,Citizens",
        "'=HYPERLINK(1),1,100.0,0,0.0,1",
    ]
