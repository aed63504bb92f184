"""What staff see and do on each page, with the citizens of tests/review/conftest.py:
Anna (north, 71, community 7, reported a place and a photo), Bogdan (south, Polish,
a formula for an idea), Celina (north, community 7, consented to be named), Dawid
(south, stopped after two questions) in Org A; Ewa in Org B."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable

import openpyxl
from database_checks import session_of
from sqlalchemy import select

from dialogs.events import TextInput
from konsulta.bootstrap import App
from konsulta.conversations import Conversations, Who
from storage.models import OutboxMessage, ThreadMessage
from tests.review.conftest import FLOW_A, Browser, logged_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_consultations_page_counts_started_consented_and_completed(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    page = _text((await browser.get("/consultations")).text)
    # 4 started, 4 consented, 3 completed: 75%.
    assert "The park in the centre park-survey open 1 4 4 3 75%" in page
    assert "By language" in page and "By community" in page and "Over time" in page
    assert "<svg" in (await browser.get("/consultations")).text


async def test_a_consultation_shows_a_chart_per_question_and_the_drop_off(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    html = (await browser.get("/consultations/park-survey")).text
    page = _text(html)
    assert 'data-count="started">4<' in html and 'data-count="completed">3<' in html
    assert "North 2 (50%)" in page and "South 2 (50%)" in page  # district bars
    assert "Benches 2 (50%)" in page and "Shade 1 (25%)" in page  # picked options
    assert "Yes 1 (33%)" in page and "No 2 (67%)" in page  # stairs
    assert html.count('class="card question"') == 8
    # Drop-off: Dawid answered district and age and stopped at the next question, the
    # rating (which he reached, and did not answer).
    assert "How old are you? 4 0" in page and "How do you rate the park? 4 1" in page


async def test_filters_narrow_every_number_and_the_cross_tab_asks_another_answer(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    north = await browser.get("/consultations/park-survey?answer=district:north")
    assert 'data-count="started">2<' in north.text
    assert "Benches 2 (67%)" in _text(north.text)  # Anna and Celina both want benches
    polish = await browser.get("/consultations/park-survey?language=pl")
    assert 'data-count="started">1<' in polish.text
    community = await browser.get("/consultations/park-survey?community=7")
    assert 'data-count="started">2<' in community.text
    late = await browser.get("/consultations/park-survey?since=2026-11-04&until=2026-11-30")
    assert 'data-count="started">2<' in late.text
    toilets = await browser.get("/consultations/park-survey?answer=needs:toilets")
    assert 'data-count="started">1<' in toilets.text
    nonsense = await browser.get(
        "/consultations/park-survey?answer=nope:x&since=yesterday&community=drop table"
    )
    assert nonsense.status_code == 200 and 'data-count="started">0<' in nonsense.text


async def test_exports_hold_what_the_filters_show_safely_and_pseudonymously(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    response = await browser.get("/consultations/park-survey/export.csv")
    assert response.headers["content-disposition"] == 'attachment; filename="park-survey.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["participant"] for row in rows} == {
        people[name] for name in ("anna", "bogdan", "celina", "dawid")
    }
    by_person = {row["participant"]: row for row in rows}
    assert by_person[people["bogdan"]]["idea"].startswith("'=")  # formula neutralised
    assert by_person[people["celina"]]["name"] == "Celina Kowalska"  # consented
    assert by_person[people["anna"]]["name"] == ""  # did not
    north = await browser.get("/consultations/park-survey/export.json?answer=district:north")
    assert {r["participant"] for r in json.loads(north.content)} == {
        people["anna"],
        people["celina"],
    }
    xlsx = await browser.get("/consultations/park-survey/export.xlsx?language=pl")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)["answers"]
    header, *values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 and dict(zip(header, values[0], strict=False))["district"] == "south"
    async with app.uow() as uow:
        exports = await uow.audit.search(organisation_id=None, action="export")
    assert [e.detail["format"] for e in exports] == ["xlsx", "json", "csv"]
    assert exports[1].detail["filters"] == "step=district&value=north"


async def test_staff_code_free_text_with_their_codebook_and_find_it_again(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    await browser.post("/consultations/park-survey/tags", {"name": "seating"})
    await browser.post("/consultations/park-survey/tags", {"name": "children"})
    assert "More benches" not in (await browser.get("/consultations/park-survey/texts?q=%25")).text
    page = await browser.get("/consultations/park-survey/texts?q=BENCHES")
    assert "More benches near the pond" in page.text
    assert "A playground" not in page.text
    answer_id = re.search(r'id="answer-(\d+)"', page.text)
    assert answer_id is not None
    tag_id = re.search(r'name="tags" value="(\d+)"[^>]*> seating', page.text)
    assert tag_id is not None
    saved = await browser.post(
        f"/consultations/park-survey/answers/{answer_id.group(1)}/coding",
        {"tags": tag_id.group(1), "mark": "need", "follow_up": "1", "back": "/x"},
    )
    assert saved.status_code == 303
    tagged = await browser.get(f"/consultations/park-survey/texts?tag={tag_id.group(1)}")
    assert "More benches" in tagged.text and "A playground" not in tagged.text
    assert "seating 1 (100%)" in _text(tagged.text)  # the tag-count chart
    flagged = await browser.get("/consultations/park-survey/texts?flagged=1&mark=need")
    assert "More benches" in flagged.text and "A playground" not in flagged.text
    # The formula-looking answer is shown as text, never as markup.
    everything = await browser.get("/consultations/park-survey/texts")
    assert "=HYPERLINK(&#34;http://evil&#34;)" in everything.text


async def test_a_report_can_be_resolved_and_the_citizen_is_asked_if_it_is_fixed(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    page = await browser.get("/consultations/park-survey/reports")
    assert "54.46410, 17.02870" in page.text
    assert "openstreetmap.org/?mlat=54.4641&amp;mlon=17.0287" in page.text
    assert '<img class="thumb" src="/photos/1/photo"' in page.text
    run_id = re.search(r'id="run-(\d+)"', page.text)
    assert run_id is not None
    await browser.post(
        f"/consultations/park-survey/reports/{run_id.group(1)}/status",
        {"status": "resolved", "ask": "1"},
    )
    resolved = await browser.get("/consultations/park-survey/reports?status=resolved")
    assert f'id="run-{run_id.group(1)}"' in resolved.text
    assert (
        'id="run-' not in (await browser.get("/consultations/park-survey/reports?status=new")).text
    )
    async with app.uow() as uow:
        [message] = (await session_of(uow).execute(select(OutboxMessage))).scalars().all()
    assert message.kind == "followup"
    assert message.payload["text"].startswith("A message from Org A:")
    assert "Has it been fixed?" in message.payload["text"]


async def test_a_reply_goes_out_in_the_outbox_and_the_citizens_answer_comes_back(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    sent = await browser.post(
        f"/citizens/{people['anna']}/reply", {"text": "We will add benches in spring."}
    )
    assert sent.status_code == 303
    async with app.uow() as uow:
        [message] = (await session_of(uow).execute(select(OutboxMessage))).scalars().all()
    assert message.kind == "reply" and message.chat_id == 1001
    assert message.payload["text"] == "A message from Org A:\n\nWe will add benches in spring."

    # Anna, with no dialog open, answers in Telegram: it joins Org A's thread.
    outcome = await Conversations(app).handle(
        Who("telegram", 1001, 1001), TextInput("Thank you, that is wonderful!"), delivery=None
    )
    assert outcome.messages[0].text == "Thank you. I have passed your message on."
    thread = await browser.get(f"/citizens/{people['anna']}")
    assert "We will add benches in spring." in thread.text
    assert "Thank you, that is wonderful!" in thread.text
    assert "More benches near the pond" in thread.text  # her answers
    # Someone staff never wrote to gets the consultations menu, as before.
    other = await Conversations(app).handle(
        Who("telegram", 1002, 1002), TextInput("hello?"), delivery=None
    )
    assert other.messages[0].expects == "pick"  # the menu of consultations
    async with app.uow() as uow:
        stored = (await session_of(uow).execute(select(ThreadMessage.text))).scalars().all()
        views = await uow.audit.search(organisation_id=None, action="view_thread")
    assert "hello?" not in stored
    assert [v.target for v in views] == [people["anna"]]


async def test_publishing_shows_problems_by_step_then_publishes_and_closes(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    good = FLOW_A.read_text()
    broken = (
        good.replace("version: 1", "version: 2")
        .replace("goto", "x")
        .replace("    min: 1\n    max: 5\n", "    min: 1\n    max: 50\n")
    )
    checked = await browser.post("/publish", {"yaml": broken, "do": "publish"})
    assert checked.status_code == 422
    assert "satisfaction" in checked.text and "between 2 and 11 points" in checked.text
    if shutil.which("dot"):
        assert "<svg" in checked.text  # the flow drawn, problems in red
    newer = good.replace("version: 1", "version: 2").replace("Which district", "What district")
    response = await browser.client.post(
        "/publish",
        data={"csrf_token": browser.csrf, "do": "publish", "open": "1"},
        files={"file": ("park.yaml", newer.encode(), "application/yaml")},
    )
    assert (
        response.status_code == 303 and response.headers["location"] == "/consultations/park-survey"
    )
    foreign = good.replace("Org A", "Org B").replace("park-survey", "stolen-survey")
    refused = await browser.post("/publish", {"yaml": foreign, "do": "publish"})
    assert "belongs to another organisation" in refused.text
    await browser.post("/consultations/park-survey/status", {"status": "closed"})
    template = await browser.get("/consultations/park-survey/template.pot")
    assert 'msgid "What district do you live in?"' in template.text
    assert "#. district: text" in template.text
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None and consultation.current_version == 2
        assert consultation.status == "closed"
        actions = [e.action for e in await uow.audit.search(organisation_id=None)]
    assert actions[:2] == ["close", "publish"]


async def test_the_audit_log_filters_by_action_and_person_within_the_organisation(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.get(f"/citizens/{people['anna']}")
    other = await logged_in(browser_factory, "staff-b@example.org")
    await other.get(f"/citizens/{people['ewa']}")
    log = _text((await staff.get("/audit?action=view_thread")).text)
    assert f"staff-a@example.org view_thread {people['anna']}" in log
    assert people["ewa"] not in log  # Org B's actions are not Org A's business
    mine = _text((await staff.get("/audit?email=staff-a@example.org&action=login")).text)
    assert "staff-a@example.org login" in mine and "view_thread" not in mine.split("Details")[1]


async def test_the_dashboard_speaks_polish_when_asked(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    await browser.post("/language", {"language": "pl", "back": "/consultations"})
    page = await browser.get("/consultations")
    assert "Konsultacje" in page.text and "Wyloguj" in page.text
    assert '<html lang="pl">' in page.text


async def test_staff_send_the_results_to_the_participants_of_their_consultation_only(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    created = await browser.post(
        "/consultations/park-survey/broadcasts",
        {
            "name": "Benches",
            "kind": "result",
            "row-0-kind": "finished",
            "text_en": "Twelve new benches are coming in spring.",
            "text_pl": "Wiosną pojawi się dwanaście nowych ławek.",
        },
    )
    assert created.status_code == 303
    detail_url = created.headers["location"]
    detail = _text((await browser.get(detail_url)).text)
    # Anna and Celina (en) and Bogdan (pl) finished; Dawid did not; Ewa is Org B's.
    assert "3 citizens would get it now." in detail
    assert "Twelve new benches are coming in spring." in detail
    assert "English · 2" in detail and "Polish · 1" in detail  # languages by name
    scheduled = await browser.post(detail_url + "/schedule", {"at": ""})
    assert scheduled.status_code == 303
    listing = _text((await browser.get("/consultations/park-survey/broadcasts")).text)
    assert "Benches result scheduled" in listing

    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(detail_url)).status_code == 404
    assert (await other.post(detail_url + "/cancel", {})).status_code == 404
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    assert (await viewer.get(detail_url)).status_code == 200
    assert (await viewer.post(detail_url + "/cancel", {})).status_code == 403
    async with app.uow() as uow:
        logged = await uow.audit.search(organisation_id=None, action="broadcast")
    assert [e.detail["action"] for e in logged] == ["schedule", "create"]


async def test_the_preview_warns_who_will_not_get_the_results_in_their_language(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    created = await browser.post(
        "/consultations/park-survey/broadcasts",
        {"name": "Benches", "kind": "result", "row-0-kind": "finished", "text_en": "New benches."},
    )
    detail = _text((await browser.get(created.headers["location"])).text)
    # Bogdan reads Polish and answered in Polish: no Polish text, so English for him
    assert "3 citizens would get it now." in detail
    assert "Some recipients will not get this in their own language." in detail
    assert "1 recipient reads pl and will get the en text" in detail
    assert "read en" not in detail


async def test_a_citizen_who_deletes_their_data_leaves_no_thread_coding_or_report_behind(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    from sqlalchemy import func

    from storage.models import AnswerCoding, ReportStatus

    browser = await logged_in(browser_factory, "staff-a@example.org")
    await browser.post(f"/citizens/{people['anna']}/reply", {"text": "Hello Anna"})
    await browser.post("/consultations/park-survey/reports/1/status", {"status": "in_progress"})
    page = await browser.get("/consultations/park-survey/texts?q=pond")
    answer_id = re.search(r'id="answer-(\d+)"', page.text)
    assert answer_id is not None
    await browser.post(
        f"/consultations/park-survey/answers/{answer_id.group(1)}/coding", {"mark": "idea"}
    )
    async with app.uow() as uow:
        anna = await uow.citizens.get_by_participant_id(people["anna"])
        assert anna is not None
        await uow.citizens.erase(anna)
        await uow.commit()
    async with app.uow() as uow:
        for model in (ThreadMessage, AnswerCoding, ReportStatus):
            count = await session_of(uow).scalar(select(func.count()).select_from(model))
            assert count == 0, model
    assert (await browser.get(f"/citizens/{people['anna']}")).status_code == 404


async def test_a_hostile_step_id_is_shown_as_text_and_never_breaks_the_page(
    browser_factory: Callable[[], Browser],
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    good = FLOW_A.read_text()
    for hostile in ("<meta http-equiv=refresh content=0;url=//evil.example>", "%(x)s"):
        pasted = good.replace("id: district", f'id: "{hostile}"', 1)
        checked = await browser.post("/publish", {"yaml": pasted, "do": "check"})
        assert checked.status_code == 422, hostile
        assert "<meta http-equiv" not in checked.text
        assert "is not a valid id" in checked.text


async def test_the_status_form_sends_staff_back_only_within_the_dashboard(
    browser_factory: Callable[[], Browser],
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    for back, expected in (
        ("https://evil.example/login", "/consultations"),
        ("//evil.example", "/consultations"),
        ("/consultations/park-survey", "/consultations/park-survey"),
    ):
        moved = await browser.post(
            "/consultations/park-survey/status", {"status": "open", "back": back}
        )
        assert moved.status_code == 303 and moved.headers["location"] == expected


async def test_messages_telegram_refused_are_counted_on_the_consultation_page(
    app: App, browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    """A message the sender gave up on (a 400 it cannot fix) is not silently gone:
    staff see how many of their participants' messages were refused."""
    async with app.uow() as uow:
        anna = await uow.citizens.find(1001)
        assert anna is not None
        await uow.outbox.queue(1001, "reply", [{"text": "Hello"}], citizen_id=anna.id)
        await uow.commit()
    async with app.uow() as uow:
        [row] = await uow.outbox.claim_due(limit=1)
        await uow.outbox.mark_failed(row.id, "Bad Request: chat not found")
        await uow.commit()

    browser = await logged_in(browser_factory, "staff-a@example.org")
    page = _text((await browser.get("/consultations/park-survey")).text)
    assert "1 message to this consultation's participants could not be delivered" in page
    # Another consultation's page says nothing of it.
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert "could not be delivered" not in (await other.get("/consultations/harbour-survey")).text
