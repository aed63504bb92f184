"""Staff take a consultation out of the dashboard as a spreadsheet form and bring it
back: the download opens in a spreadsheet, the upload is read as the same flow, and
another organisation's staff cannot download it."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl

from konsulta.bootstrap import App
from tests.review.conftest import Browser, logged_in


async def test_staff_download_a_consultation_as_xlsform_and_upload_it_again(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")

    download = await browser.get("/consultations/park-survey/form.xlsx")

    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="park-survey.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["survey", "choices", "settings"]
    back = await browser.client.post(
        "/publish",
        data={"csrf_token": browser.csrf, "do": "check"},
        files={"file": ("park-survey.xlsx", download.content, "application/octet-stream")},
    )
    assert back.status_code == 200, back.text
    assert "park-survey.xlsx has no problems: park-survey version 1." in back.text
    assert "id: park-survey" in back.text  # the flow it became, in the text box


async def test_a_broken_spreadsheet_is_listed_by_sheet_and_row(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")

    refused = await browser.client.post(
        "/publish",
        data={"csrf_token": browser.csrf, "do": "publish"},
        files={"file": ("form.xlsx", b"not a workbook", "application/octet-stream")},
    )

    assert refused.status_code == 422
    assert "not an .xlsx workbook" in refused.text


async def test_another_organisation_cannot_download_the_form(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-b@example.org")

    response = await browser.get("/consultations/park-survey/form.xlsx")

    assert response.status_code == 404
