"""Personal data on the dashboard: what the audit log keeps after an erasure, the
erase action for a participant a leader helped, and views audited without copying
what was viewed. Citizens as in tests/review/conftest.py (Anna, Bogdan... in Org A;
Ewa in Org B)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from sqlalchemy import select

from konsulta import privacy
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Who
from storage.models import AuditEntry
from storage.repositories.review import ERASED_PARTICIPANT
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
