"""Translating a consultation on the dashboard. Org A's library-hours survey
(tests/review/library.yaml) is Polish, listed in English and Ukrainian, and was
published with only its title and consent in English. A translator's Ukrainian `.po`
comes in through the dashboard, is checked, and becomes the next version; a viewer may
read and download but not change; Org B sees nothing of it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from konsulta.bootstrap import App
from konsulta.publishing import publish, read_flow
from tests.review.conftest import HERE, Browser, logged_in

LIBRARY = HERE / "library.yaml"
PAGE = "/consultations/library-hours/translations"

UK_PO = """msgid ""
msgstr ""
"Language: uk\\n"
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Godziny otwarcia biblioteki"
msgstr "Години роботи бібліотеки"

msgid "Co tydzień"
msgstr "Щотижня"

msgid "Co jeszcze? ({{visits}})"
msgstr "Що ще? ({{visits}})"

msgid "Stary tekst"
msgstr "Старий текст"
""".encode()


@pytest.fixture
async def library(app: App) -> None:
    flow, yaml_text = read_flow(LIBRARY, allow_incomplete=True)
    async with app.uow() as uow:
        await publish(uow, flow, yaml_text, open_now=True)
        await uow.commit()


async def upload(
    browser: Browser, data: bytes, language: str = "uk", name: str = "uk.po"
) -> object:
    return await browser.client.post(
        PAGE,
        data={"csrf_token": browser.csrf, "language": language},
        files={"file": (name, data, "text/x-gettext-translation")},
    )


async def current(app: App) -> tuple[int, dict[str, dict[str, str]]]:
    async with app.uow(read_only=True) as uow:
        consultation = await uow.consultations.get_by_slug("library-hours")
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
    return version.version, version.translations


def percent(html: str, language: str) -> str:
    row = html.split(f'data-language="{language}"', 1)[1]
    return row.split('data-percent="', 1)[1].split('"', 1)[0]


async def test_staff_upload_a_ukrainian_po_and_coverage_rises(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    before = (await staff.get(PAGE)).text
    assert percent(before, "uk") == "0" and percent(before, "en") == "25"

    response = await upload(staff, UK_PO)

    assert response.status_code == 303
    assert response.headers["location"] == f"{PAGE}?language=uk"
    after = (await staff.get(f"{PAGE}?language=uk")).text
    assert percent(after, "uk") == "37" and percent(after, "en") == "25"
    assert "Published as version 4: uk has 3 of 8 texts." in after
    assert 'uk.po, line 15: "Stary tekst" is not a text of this consultation' in after
    number, translations = await current(app)
    assert number == 4
    assert translations["uk"]["Co tydzień"] == "Щотижня"
    assert translations["uk"]["Rzadko"] == "Rzadko"  # the Polish stands in until translated
    assert translations["en"]["Godziny otwarcia biblioteki"] == "Library opening hours"
    async with app.uow(read_only=True) as uow:
        (entry,) = await uow.audit.search(organisation_id=None, action="translate")
    assert (entry.email, entry.target) == ("staff-a@example.org", "library-hours")
    assert entry.detail == {"language": "uk", "source": "uk.po", "version": 4, "texts": 3}

    again = await upload(staff, UK_PO)  # the same file once more publishes nothing
    assert again.status_code == 303
    assert "Nothing changed" in (await staff.get(PAGE)).text
    assert (await current(app))[0] == 4


async def test_a_po_that_drops_a_placeholder_publishes_nothing(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    broken = UK_PO.replace(b'({{visits}})"\n\nmsgid "Stary', b'"\n\nmsgid "Stary')

    response = await upload(staff, broken)

    assert response.status_code == 422
    assert "Nothing was published" in response.text
    assert "uk.po:12: the translation must keep the placeholders {{visits}} (it has -)" in (
        response.text
    )
    assert (await current(app))[0] == 3


async def test_an_admin_fills_in_english_side_by_side(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    admin = await logged_in(browser_factory, "admin-a@example.org")
    editor = (await admin.get(f"{PAGE}?language=en")).text
    assert "Library opening hours</textarea>" in editor

    response = await admin.post(
        f"{PAGE}/en",
        {
            "msgid": ["Godziny otwarcia biblioteki", "Rzadko", "Dziękujemy!"],
            "msgstr": ["Library opening hours", "Rarely", "Thank you!"],
        },
    )

    assert response.status_code == 303
    assert percent((await admin.get(PAGE)).text, "en") == "50"
    number, translations = await current(app)
    assert number == 4 and translations["en"]["Rzadko"] == "Rarely"


async def test_a_viewer_reads_and_downloads_but_cannot_change(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")

    page = await viewer.get(PAGE)
    english = await viewer.get(f"{PAGE}/en.po")
    template = await viewer.get("/consultations/library-hours/template.pot")

    assert page.status_code == 200 and "Upload a translation" not in page.text
    assert english.status_code == 200
    assert english.headers["content-disposition"] == ('attachment; filename="library-hours-en.po"')
    assert 'msgstr "Library opening hours"' in english.text
    assert template.status_code == 200
    assert (await upload(viewer, UK_PO)).status_code == 403
    edit = await viewer.post(f"{PAGE}/uk", {"msgid": ["Rzadko"], "msgstr": ["Рідко"]})
    assert edit.status_code == 403
    assert (await current(app))[0] == 3


async def test_another_organisation_finds_no_translations(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    other = await logged_in(browser_factory, "staff-b@example.org")

    assert (await other.get(PAGE)).status_code == 404
    assert (await other.get(f"{PAGE}/uk.po")).status_code == 404
    assert (await upload(other, UK_PO)).status_code == 404
    edit = await other.post(f"{PAGE}/uk", {"msgid": ["Rzadko"], "msgstr": ["Рідко"]})
    assert edit.status_code == 404
    assert (await current(app))[0] == 3


async def test_publishing_shows_the_texts_each_language_has(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")

    checked = await staff.post(
        "/publish", {"yaml": (HERE / "flow_a.yaml").read_text(), "do": "check"}
    )
    broken = await staff.post("/publish", {"yaml": LIBRARY.read_text(), "do": "check"})

    assert checked.status_code == 200
    assert percent(checked.text, "pl") == "100" and percent(checked.text, "en") == "100"
    assert broken.status_code == 422  # English and Ukrainian texts are missing
    assert percent(broken.text, "pl") == "100" and percent(broken.text, "uk") == "0"


async def test_a_polish_clerk_reads_what_is_wrong_with_the_file_in_polish(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post("/language", {"language": "pl"})

    wrong_language = await upload(staff, UK_PO, language="en", name="tlumaczenie.po")
    no_file = await staff.client.post(PAGE, data={"csrf_token": staff.csrf, "language": "uk"})

    assert wrong_language.status_code == 422
    assert "Nic nie zostało opublikowane" in wrong_language.text
    assert "Plik tlumaczenie.po jest katalogiem dla języka „uk”, a nie „en”" in (
        wrong_language.text
    )
    assert "Prosimy wybrać plik .po do przesłania." in no_file.text
    assert (await current(app))[0] == 3


async def test_two_translators_one_after_the_other_keep_each_others_work(
    browser_factory: Callable[[], Browser], app: App, library: None
) -> None:
    first = await logged_in(browser_factory, "staff-a@example.org")
    second = await logged_in(browser_factory, "admin-a@example.org")
    await first.get(f"{PAGE}?language=uk")  # both open the Ukrainian editor
    await second.get(f"{PAGE}?language=uk")
    untouched = ["Jak często odwiedza Pan/Pani bibliotekę?", "Dziękujemy!"]

    await first.post(
        f"{PAGE}/uk",
        {"msgid": ["Co tydzień", *untouched], "msgstr": ["Щотижня", "", ""], "shown": ["", "", ""]},
    )
    await second.post(
        f"{PAGE}/uk",
        {
            "msgid": ["Co tydzień", *untouched],
            "msgstr": ["", "", "Дякуємо!"],
            "shown": ["", "", ""],
        },
    )

    number, translations = await current(app)
    assert number == 5
    assert translations["uk"]["Co tydzień"] == "Щотижня"  # the second page showed it empty
    assert translations["uk"]["Dziękujemy!"] == "Дякуємо!"
