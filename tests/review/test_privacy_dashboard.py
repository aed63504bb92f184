"""Personal data on the dashboard: what the audit log keeps after an erasure, the
erase action for a participant a leader helped, and views audited without copying
what was viewed. Citizens as in tests/review/conftest.py (Anna, Bogdan... in Org A;
Ewa in Org B)."""

from __future__ import annotations

import base64
import json
import os
import pwd
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from database_checks import session_of
from sqlalchemy import select

from bot.cli import build_parser
from konsulta import privacy
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Who
from konsulta.leaders import assist
from review.security import hash_password
from storage.models import (
    Answer,
    AuditEntry,
    BroadcastDelivery,
    ConsentPurpose,
    Leader,
    OutboxMessage,
)
from storage.repositories.review import ERASED_PARTICIPANT
from storage.types import utcnow
from tests.conftest import TEST_PSEUDONYM_SECRET
from tests.review.conftest import Browser, logged_in, password_of


async def _audit_rows(app: App) -> list[AuditEntry]:
    async with app.uow() as uow:
        return list((await session_of(uow).execute(select(AuditEntry))).scalars())


def _mentions(rows: list[AuditEntry], needle: str) -> list[str]:
    found = []
    for row in rows:
        text = json.dumps([row.email, row.target, row.detail], default=str)
        if needle in text:
            found.append(row.action)
    return found


async def test_after_delete_the_audit_keeps_what_staff_did_but_not_whom_to(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    anna = people["anna"]
    await browser.get(f"/citizens/{anna}")
    await browser.post(f"/citizens/{anna}/reply", {"text": "Hello Anna"})
    await browser.post("/consultations/park-survey/reports/1/status", {"status": "in_progress"})
    page = await browser.get("/consultations/park-survey/texts?q=pond")
    answer_id = re.search(r'id="answer-(\d+)"', page.text)
    assert answer_id is not None
    await browser.post(
        f"/consultations/park-survey/answers/{answer_id.group(1)}/coding", {"mark": "idea"}
    )
    await browser.get(f"/citizens/{people['bogdan']}")
    before = await _audit_rows(app)
    assert {"view_thread", "reply"} <= set(_mentions(before, anna))

    # Anna sends /delete and taps "yes" (the same erasure the bot runs).
    await privacy.erase(app, Who("telegram", 1001, 1001), "en", Delivery(1001))

    after = await _audit_rows(app)
    assert len(after) == len(before)  # nothing of what staff did is lost
    assert _mentions(after, anna) == []
    by_id = {row.id: row for row in after}
    erased = [row for row in before if row.target and _names_anna(row.target, anna, answer_id)]
    assert sorted(row.action for row in erased) == ["code", "reply", "report_status", "view_thread"]
    for row in erased:
        kept = by_id[row.id]
        assert kept.target == ERASED_PARTICIPANT
        assert (kept.action, kept.email, kept.created_at) == (row.action, row.email, row.created_at)
    # Bogdan, who is still here, is still named.
    assert _mentions(after, people["bogdan"]) == ["view_thread"]


def _names_anna(target: str, anna: str, answer_id: re.Match[str]) -> bool:
    return target in {
        anna,
        "park-survey/run/1",
        f"park-survey/answer/{answer_id.group(1)}",
    }


async def _mydata(app: App, telegram_id: int) -> dict[str, Any]:
    """/mydata as the bot runs it; the JSON file read back from its outbox row."""
    await privacy.my_data(
        app, Who("telegram", telegram_id, telegram_id), "en", Delivery(telegram_id)
    )
    async with app.uow() as uow:
        row = (
            await session_of(uow).execute(
                select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)
            )
        ).scalar_one()
    content = base64.b64decode(row.payload["document"]["content_base64"])
    data: dict[str, Any] = json.loads(content)
    return data


async def test_mydata_holds_what_staff_made_of_the_answers_and_who_looked(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    anna = people["anna"]
    await browser.post("/consultations/park-survey/tags", {"name": "seating"})
    page = await browser.get("/consultations/park-survey/texts?q=pond")
    answer_id = re.search(r'id="answer-(\d+)"', page.text)
    tag_id = re.search(r'name="tags" value="(\d+)"[^>]*> seating', page.text)
    assert answer_id is not None and tag_id is not None
    await browser.post(
        f"/consultations/park-survey/answers/{answer_id.group(1)}/coding",
        {"tags": tag_id.group(1), "mark": "need", "follow_up": "1"},
    )
    await browser.post(
        "/consultations/park-survey/reports/1/status", {"status": "resolved", "ask": "1"}
    )
    await browser.get(f"/citizens/{anna}")
    await browser.post(f"/citizens/{anna}/reply", {"text": "Benches come in spring."})
    await browser.get(f"/citizens/{people['bogdan']}")

    data = await _mydata(app, 1001)

    # Staff coding, beside the answer it codes.
    [run] = data["runs"]
    idea = next(a for a in run["answers"] if a["step"] == "idea")
    assert idea["staff_coding"]["tags"] == ["seating"]
    assert idea["staff_coding"]["mark"] == "need" and idea["staff_coding"]["follow_up"] is True
    assert "staff_coding" not in next(a for a in run["answers"] if a["step"] == "age")
    # The report's status.
    assert run["report_status"] == "resolved"
    # Messages that quote her answers: the follow-up and the reply, as queued and in
    # the thread with the organisation.
    texts = [m["text"] for m in data["messages_to_you"]]
    assert any("Has it been fixed?" in (t or "") for t in texts)
    assert "A message from Org A:\n\nBenches come in spring." in texts
    assert {m["organisation"] for m in data["messages_with_staff"]} == {"Org A"}
    assert "Benches come in spring." in [m["text"] for m in data["messages_with_staff"]]
    # The audit entries about her: what, when, which organisation; not the e-mail.
    actions = sorted(entry["action"] for entry in data["audit"])
    assert actions == ["code", "reply", "report_status", "view_thread"]
    assert {entry["organisation"] for entry in data["audit"]} == {"Org A"}
    assert {entry["by"] for entry in data["audit"]} == {"staff"}
    whole = json.dumps(data)
    assert "staff-a@example.org" not in whole
    assert people["bogdan"] not in whole and "A playground" not in whole


async def test_mydata_names_broadcasts_received_and_leaves_out_files_already_sent(
    app: App, people: dict[str, str]
) -> None:
    from konsulta import broadcasts

    created = await broadcasts.create(
        app,
        organisation_id=await broadcasts.organisation_named(app, "org-a"),
        name="Park news",
        segment={"consultation": "park-survey"},
        texts={"en": "The park opens."},
    )
    async with app.uow() as uow:
        anna = await uow.citizens.get_by_participant_id(people["anna"])
        assert anna is not None
        uow.add(
            BroadcastDelivery(
                broadcast_id=created.id, citizen_id=anna.id, status="pending", due_at=utcnow()
            )
        )
        await uow.commit()
    first = await _mydata(app, 1001)
    [received] = first["broadcasts"]
    assert (received["name"], received["kind"], received["status"]) == (
        "Park news",
        "broadcast",
        "pending",
    )
    # The first file, still waiting in the outbox, is listed by name, not copied in.
    second = await _mydata(app, 1001)
    [waiting] = [m for m in second["messages_to_you"] if m.get("file")]
    assert waiting["file"] == "my-data.json" and "content_base64" not in json.dumps(second)


async def _assisted_participant(app: App) -> str:
    """A leader of Org A helps a person without a phone answer the park survey, as
    konsulta.leaders.assist does it; returns the person's participant id (`a-...`)."""
    async with app.uow() as uow:
        organisation = await uow.organisations.get_by_slug("org-a")
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert organisation is not None and consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        leader_citizen = await uow.citizens.get_or_create(9001, 9001, secret=TEST_PSEUDONYM_SECRET)
        leader = Leader(citizen_id=leader_citizen.id, organisation_id=organisation.id)
        uow.add(leader)
        community = await uow.communities.create(organisation.id, "Seniors' club", ["en"])
        person = await assist.begin(app, uow, leader, community, consultation)
        consent = await uow.consents.record(
            person.id, ConsentPurpose.PARTICIPATION, "v1", True, consultation_id=consultation.id
        )
        run = await uow.runs.create(
            citizen_id=person.id,
            consultation_id=consultation.id,
            flow_version_id=version.id,
            state={},
            language="en",
            source="assisted",
            consent_record_id=consent.id,
        )
        await uow.answers.upsert(run.id, "idea", "A bench by the bus stop", display_text="x")
        await assist.end(uow, leader, completed=True)
        await uow.commit()
        return person.participant_id


async def test_an_admin_erases_a_participant_a_leader_helped_after_a_confirmation(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    pid = await _assisted_participant(app)
    admin = await logged_in(browser_factory, "admin-a@example.org")
    thread = await admin.get(f"/citizens/{pid}")
    assert f'href="/citizens/{pid}/erase"' in thread.text
    # A citizen with Telegram erases themselves with /delete: no erase link or page.
    anna = people["anna"]
    assert "/erase" not in (await admin.get(f"/citizens/{anna}")).text
    assert (await admin.get(f"/citizens/{anna}/erase")).status_code == 404
    assert (await admin.post(f"/citizens/{anna}/erase", {"confirm": "1"})).status_code == 404

    confirm = await admin.get(f"/citizens/{pid}/erase")
    assert confirm.status_code == 200 and "This cannot be undone." in confirm.text
    # Without the confirmation field the post only leads back to the question.
    unconfirmed = await admin.post(f"/citizens/{pid}/erase")
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == f"/citizens/{pid}/erase"
    async with app.uow() as uow:
        assert await uow.citizens.get_by_participant_id(pid) is not None

    done = await admin.post(f"/citizens/{pid}/erase", {"confirm": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/consultations"
    async with app.uow() as uow:
        assert await uow.citizens.get_by_participant_id(pid) is None
        answers = (await session_of(uow).execute(select(Answer.value))).scalars().all()
    assert "A bench by the bus stop" not in answers
    assert (await admin.get(f"/citizens/{pid}")).status_code == 404
    rows = await _audit_rows(app)
    [erased] = [row for row in rows if row.action == "erase"]
    assert erased.email == "admin-a@example.org" and erased.target == ERASED_PARTICIPANT
    assert _mentions(rows, pid) == []  # the leader's assist.start/end rows too
    assert "erased participant" in (await admin.get("/audit?action=erase")).text


async def test_only_the_organisations_admin_may_erase(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    pid = await _assisted_participant(app)
    async with app.uow() as uow:
        org_b = await uow.organisations.get_by_slug("org-b")
        assert org_b is not None
        await uow.staff.create(
            "admin-b@example.org",
            hash_password(password_of("admin-b@example.org")),
            "admin",
            org_b.id,
            "en",
        )
        await uow.commit()
    for email, status in (
        ("viewer-a@example.org", 403),
        ("staff-a@example.org", 403),
        ("admin-b@example.org", 404),
    ):
        browser = await logged_in(browser_factory, email)
        await browser.get("/consultations")  # a page with the CSRF token
        assert (await browser.get(f"/citizens/{pid}/erase")).status_code == status, email
        posted = await browser.post(f"/citizens/{pid}/erase", {"confirm": "1"})
        assert posted.status_code == status, email
        assert "/erase" not in (await browser.get(f"/citizens/{pid}")).text
    async with app.uow() as uow:
        assert await uow.citizens.get_by_participant_id(pid) is not None
    assert [row.action for row in await _audit_rows(app) if row.action == "erase"] == []


async def test_looking_at_free_texts_reports_and_photos_is_audited_without_the_content(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    await viewer.get("/consultations/park-survey/texts?q=pond")
    await viewer.get("/consultations/park-survey/reports?status=new")
    await viewer.get("/photos/1/photo")  # Anna's photo (the Bot API has no such file)
    views = [row for row in await _audit_rows(app) if row.action == "view"]
    assert [(row.target, row.detail["page"]) for row in views] == [
        ("park-survey", "texts"),
        ("park-survey", "reports"),
        ("park-survey/run/1", "photo"),
    ]
    assert {row.email for row in views} == {"viewer-a@example.org"}
    texts, reports, photo = views
    assert texts.detail["search"] is True and texts.detail["flagged"] is False
    assert texts.detail["shown"] == 1 and reports.detail["status"] == "new"
    assert photo.detail["step"] == "photo"
    # What the pages showed is not copied: no words, answers or participant ids.
    logged = json.dumps([[row.target, row.detail] for row in views])
    for said in ("pond", "benches", "54.46", *people.values()):
        assert said not in logged
    # A photo of another organisation is a 404 and logs nothing.
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get("/photos/1/photo")).status_code == 404
    assert len([row for row in await _audit_rows(app) if row.action == "view"]) == 3
    # Anna sees that her photo was looked at; after /delete the row no longer names her.
    data = await _mydata(app, 1001)
    assert [e["detail"]["page"] for e in data["audit"] if e["action"] == "view"] == ["photo"]
    await privacy.erase(app, Who("telegram", 1001, 1001), "en", Delivery(1001))
    [after] = [row for row in await _audit_rows(app) if row.id == photo.id]
    assert after.target == ERASED_PARTICIPANT and after.detail == photo.detail


async def test_cli_export_broadcast_and_results_are_audited_with_the_os_account(
    app: App, people: dict[str, str], tmp_path: Path
) -> None:
    async def konsulta(*argv: str) -> int:
        args = build_parser().parse_args(argv)
        code: int = await args.handler(args, app.settings)
        return code

    out = tmp_path / "park.csv"
    assert await konsulta("export", "park-survey", "--format", "csv", "--out", str(out)) == 0
    assert await konsulta("export", "no-such-survey") == 1  # nothing exported, nothing logged
    assert (
        await konsulta(
            "broadcast",
            "create",
            "--name",
            "Park news",
            "--segment",
            '{"consultation": "park-survey"}',
            "--text",
            "en=The park opens.",
            "--organisation",
            "org-a",
        )
        == 0
    )
    async with app.uow() as uow:
        [created] = await uow.broadcasts.recent()
    assert await konsulta("broadcast", "send", str(created.id)) == 0
    assert await konsulta("broadcast", "cancel", str(created.id)) == 0
    assert await konsulta("results", "add", "park-survey", "--text", "en=Benches come.") == 0

    rows = [row for row in await _audit_rows(app) if row.email == "cli"]
    assert [(row.action, row.detail.get("action")) for row in rows] == [
        ("export", None),
        ("broadcast", "create"),
        ("broadcast", "schedule"),
        ("broadcast", "cancel"),
        ("results", None),
    ]
    me = pwd.getpwuid(os.getuid()).pw_name
    assert {row.detail["os_user"] for row in rows} == {me}
    async with app.uow() as uow:
        org_a = await uow.organisations.get_by_slug("org-a")
    assert org_a is not None
    assert rows[0].organisation_id == org_a.id and rows[0].target == "park-survey"
    assert rows[0].detail["format"] == "csv" and rows[0].detail["to"] == str(out)
    assert rows[-1].organisation_id == org_a.id  # the results' consultation's organisation
    assert rows[1].target == f"broadcast:{created.id}"


async def test_a_person_who_never_agreed_to_a_leaders_help_leaves_no_id_in_the_audit(
    app: App,
) -> None:
    async with app.uow() as uow:
        organisation = await uow.organisations.get_by_slug("org-a")
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert organisation is not None and consultation is not None
        leader_citizen = await uow.citizens.get_or_create(9002, 9002, secret=TEST_PSEUDONYM_SECRET)
        leader = Leader(citizen_id=leader_citizen.id, organisation_id=organisation.id)
        uow.add(leader)
        community = await uow.communities.create(organisation.id, "Youth club", ["en"])
        person = await assist.begin(app, uow, leader, community, consultation)
        pid = person.participant_id
        await assist.end(uow, leader, completed=False)  # no consent: erased at once
        await uow.commit()
    async with app.uow() as uow:
        assert await uow.citizens.get_by_participant_id(pid) is None
    rows = [row for row in await _audit_rows(app) if row.action.startswith("assist.")]
    assert [(row.action, row.target) for row in rows] == [
        ("assist.start", ERASED_PARTICIPANT),
        ("assist.end", ERASED_PARTICIPANT),
    ]
    assert _mentions(rows, pid) == []
