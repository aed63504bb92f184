"""Personal data on the dashboard: what the audit log keeps after an erasure, the
erase action for a participant a leader helped, and views audited without copying
what was viewed. Citizens as in tests/review/conftest.py (Anna, Bogdan... in Org A;
Ewa in Org B)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from konsulta import privacy
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Who
from storage.models import AuditEntry, BroadcastDelivery, OutboxMessage
from storage.repositories.review import ERASED_PARTICIPANT
from storage.types import utcnow
from tests.review.conftest import Browser, logged_in


async def _audit_rows(app: App) -> list[AuditEntry]:
    async with app.uow() as uow:
        return list((await uow.session.execute(select(AuditEntry))).scalars())


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
            await uow.session.execute(
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
        name="Park news",
        segment={"consultation": "park-survey"},
        texts={"en": "The park opens."},
    )
    async with app.uow() as uow:
        anna = await uow.citizens.get_by_participant_id(people["anna"])
        assert anna is not None
        uow.session.add(
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
