"""A town edits a translated consultation, and nobody's translation work is lost.

The staff member rewords two questions of the service-need report; the translator's
catalogs are refreshed; the old translations come back marked fuzzy, are counted as
fuzzy, are not shown to citizens, and publishing refuses the now incomplete languages
until a translator confirms them, or until staff choose `--allow-incomplete`, when the
citizen reads the Polish original for those two texts only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.commands import flows as flows_command
from bot.commands import i18n as i18n_command
from dialogs.loader import check_flow_file
from konsulta.bootstrap import running_app
from konsulta.catalogs import ROOT, extract_flow_template, flow_coverage, msgids, read_catalog
from konsulta.settings import Settings

FLOWS = ROOT / "dialogs" / "flows"
OLD_URGENCY = "Jak pilne to jest?"
NEW_URGENCY = "Jak pilna jest ta sprawa?"  # a small edit: fuzzy matching finds it
OLD_PHONE = "Prosimy udostępnić numer telefonu przyciskiem poniżej."
NEW_PHONE = "Wystarczy nacisnąć przycisk poniżej, a zobaczymy numer."  # rewritten: by place


@pytest.fixture
def edited_flow(tmp_path: Path) -> Path:
    """A copy of service-need with two questions reworded in its Polish YAML."""
    shutil.copytree(FLOWS / "service-need.locales", tmp_path / "service-need.locales")
    text = (FLOWS / "service-need.yaml").read_text(encoding="utf-8")
    assert OLD_URGENCY in text and OLD_PHONE in text
    edited = text.replace(OLD_URGENCY, NEW_URGENCY).replace(OLD_PHONE, NEW_PHONE)
    path = tmp_path / "service-need.yaml"
    path.write_text(edited, encoding="utf-8")
    assert i18n_command.extract([path], [], bot=False) == 0
    return path


def test_an_edited_question_keeps_its_translations_as_fuzzy(edited_flow: Path) -> None:
    english = read_catalog(edited_flow.parent / "service-need.locales" / "en.po", "en")
    urgency, phone = english[NEW_URGENCY], english[NEW_PHONE]
    assert urgency is not None and urgency.fuzzy and urgency.string == "How urgent is it?"
    assert phone is not None and phone.fuzzy
    assert phone.string == "Share your phone number with the button below."
    # the translator sees what changed (Poedit and Weblate show the previous msgid)
    po_text = (edited_flow.parent / "service-need.locales" / "en.po").read_text()
    assert f'#| msgid "{OLD_URGENCY}"\nmsgid "{NEW_URGENCY}"' in po_text
    assert OLD_URGENCY not in msgids(english)

    _flow, coverages = flow_coverage(edited_flow)
    for coverage in coverages:
        if coverage.language == "pl":
            assert coverage.complete
            continue
        assert {m.msgid for m in coverage.fuzzy} == {NEW_URGENCY, NEW_PHONE}
        assert not coverage.missing
        assert coverage.translated == coverage.total - 2


def test_a_fuzzy_translation_is_not_shown_to_citizens(edited_flow: Path) -> None:
    loaded, problems = check_flow_file(edited_flow)
    assert loaded is not None
    urgency = loaded.step("urgency")
    assert loaded.text_for(urgency.text, "en") is None
    assert loaded.localize(urgency.text, "en") == NEW_URGENCY  # the Polish original
    assert loaded.localize(loaded.step("describe").text, "en").startswith("Describe")
    # ...and `flows check` says so, so nobody publishes it by accident
    assert any("has no 'en' version" in str(p) for p in problems)


def test_status_counts_translated_fuzzy_and_missing(
    edited_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert i18n_command.status(edited_flow.parent, "service-need", show_missing=True) == 0
    out = capsys.readouterr().out
    assert "consultation" in out and "translated" in out and "fuzzy" in out
    english = next(line for line in out.splitlines() if line.split()[:2] == ["service-need", "en"])
    assert english.split()[2:5] == ["46/48", "2", "0"]
    assert "fuzzy: step urgency: text: Jak pilna jest ta sprawa?" in out


async def test_publishing_refuses_incomplete_languages_unless_allowed(
    edited_flow: Path, migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=migrated_url)
    refused = await flows_command.publish(settings, [edited_flow], open_now=True)
    assert refused == flows_command.EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert "'uk' is 96% translated (46 of 48; 2 fuzzy, 0 missing)" in err
    assert "fuzzy: step phone: text: Wystarczy nacisnąć przycisk poniżej" in err
    assert "--allow-incomplete" in err

    published = await flows_command.publish(
        settings, [edited_flow], open_now=True, allow_incomplete=True
    )
    assert published == 0
    async with running_app(settings) as app, app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("service-need")
        assert consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        flow = app.flows.flow(version)  # rebuilt from the stored YAML and translations
    assert flow.localize(flow.step("urgency").text, "uk") == NEW_URGENCY
    assert flow.localize(flow.step("describe").text, "uk").startswith("Опишіть")
    assert flow.localize(flow.title, "ar").startswith("أبلغ")


def test_stock_pybabel_extracts_a_flow_with_the_registered_method(tmp_path: Path) -> None:
    out = tmp_path / "service-need.pot"
    flow = FLOWS / "service-need.yaml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel-flows.cfg",
            "-o",
            str(out),
            str(flow.relative_to(ROOT)),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    template = read_catalog(out)
    assert msgids(template) == msgids(extract_flow_template(flow))
    pavement = template["Chodnik lub droga"]
    assert pavement is not None
    assert pavement.auto_comments == ["step what: option pavement"]
    assert pavement.locations[0][0].endswith("service-need.yaml")
