"""Closing the loop on the park survey's ideas: Frank in Los Angeles proposed "Lights
along the path"; Layla, who speaks Arabic, and Celina agreed with it; Bogdan disagreed.
Staff mark it in progress at noon in Warsaw: Layla is told at once, in Arabic; Frank
is asleep, so his message waits for his morning; Celina sent /stop and hears nothing;
Bogdan never supported it. Marking it in progress again tells nobody twice; "not
possible" needs a reason and then carries it. Every decision is audited; a viewer
reads, another organisation finds nothing.

The bot's `statements` step stores proposals and votes through `StatementRepository`;
the test does the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from konsulta.bootstrap import App
from storage.models import IdeaStatus, Vote
from tests.conftest import TEST_PSEUDONYM_SECRET
from tests.review.conftest import Browser, Clock, add_run, logged_in
from tests.review.test_moderation import card, outbox

QUEUE = "/consultations/park-survey/statements"
#: Noon in Warsaw; four in the morning in Los Angeles.
NOON = datetime(2026, 12, 7, 11, tzinfo=UTC)
IDEA = "Lights along the path"


async def frank_proposes_and_the_others_vote(app: App, people: dict[str, str]) -> int:
    """Frank (Los Angeles) proposes the idea, approved; Layla (Arabic) and Celina
    agree, Bogdan disagrees. Returns the statement's id."""
    async with app.uow() as uow:
        await uow.citizens.get_or_create(
            1006, 1006, secret=TEST_PSEUDONYM_SECRET, timezone="America/Los_Angeles"
        )
        await uow.commit()
    people["frank"] = await add_run(app, "park-survey", 1006, {"district": "north"})
    people["layla"] = await add_run(app, "park-survey", 1005, {"district": "south"}, language="ar")
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        runs = {}
        for name in ("frank", "layla", "celina", "bogdan"):
            citizen = await uow.citizens.get_by_participant_id(people[name])
            assert citizen is not None
            [run] = await uow.runs.list_for_citizen(citizen.id)
            runs[name] = (citizen, run)
        statement = await uow.statements.add(
            consultation.id, "ideas", IDEA, "en", author_run_id=runs["frank"][1].id
        )
        await uow.statements.approve(statement, None, NOON)
        for name, vote in (
            ("layla", Vote.AGREE),
            ("celina", Vote.AGREE),
            ("bogdan", Vote.DISAGREE),
        ):
            citizen, run = runs[name]
            await uow.statements.vote(statement.id, citizen.id, run.id, vote)
        await uow.citizens.set_flags(runs["celina"][0], stopped=True)
        await uow.commit()
        return statement.id


async def test_supporters_hear_what_became_of_the_idea_once_in_their_language(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App, clock: Clock
) -> None:
    clock.now = NOON
    idea = await frank_proposes_and_the_others_vote(app, people)
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = (await staff.get(QUEUE)).text
    assert f'action="{QUEUE}/{idea}/idea-status"' in card(page, idea)
    assert 'data-idea-status=""' in card(page, idea)

    marked = await staff.post(f"{QUEUE}/{idea}/idea-status", {"status": "in_progress"})
    assert marked.status_code == 303
    told = await outbox(app)
    assert sorted(m.chat_id for m in told) == [1005, 1006]  # not Celina (/stop), not Bogdan
    by_chat = {m.chat_id: m for m in told}
    layla, frank = by_chat[1005], by_chat[1006]
    assert layla.kind == frank.kind == "notice"
    assert layla.payload["text"] == (
        "رسالة من \u2068Org A\u2069:\n\nبدأ العمل على فكرة اقترحتموها أو أيّدتموها:\n\n" + IDEA
    )
    assert layla.due_at.replace(tzinfo=UTC) <= datetime.now(UTC)  # daytime: at once
    assert frank.payload["text"] == (
        "A message from Org A:\n\nWork has started on an idea you proposed or agreed with:"
        "\n\n" + IDEA
    )
    # 4:00 in Los Angeles: it waits for 8:00 there.
    assert frank.due_at.replace(tzinfo=UTC) == datetime(2026, 12, 7, 16, tzinfo=UTC)
    page = (await staff.get(QUEUE)).text
    assert "Status saved. Supporters told: 2." in page
    assert 'data-idea-status="in_progress"' in card(page, idea)

    # The same status again: nobody hears twice.
    await staff.post(f"{QUEUE}/{idea}/idea-status", {"status": "in_progress"})
    assert len(await outbox(app)) == 2
    assert "nobody is told again" in (await staff.get(QUEUE)).text

    # "Not possible" needs a reason, and the supporters read it.
    await staff.post(f"{QUEUE}/{idea}/idea-status", {"status": "not_possible", "reason": " "})
    assert "Say why it is not possible" in (await staff.get(QUEUE)).text
    assert len(await outbox(app)) == 2
    await staff.post(
        f"{QUEUE}/{idea}/idea-status",
        {"status": "not_possible", "reason": "The path {belongs} to the forest service"},
    )
    told = await outbox(app)
    assert len(told) == 4
    later = {m.chat_id: m.payload["text"] for m in told[2:]}
    assert later[1006].endswith(
        "is not possible:\n\n" + IDEA + "\n\nThe reason: The path {belongs} to the forest service"
    )
    assert "السبب: \u2068The path {belongs} to the forest service\u2069" in later[1005]
    page = (await staff.get(QUEUE)).text
    assert "The path {belongs} to the forest service" in card(page, idea)

    # Back to in progress: each status reaches each supporter at most once.
    await staff.post(f"{QUEUE}/{idea}/idea-status", {"status": "in_progress"})
    assert len(await outbox(app)) == 4
    assert "Status saved. Supporters told: 0." in (await staff.get(QUEUE)).text

    async with app.uow() as uow:
        log = await uow.audit.search(organisation_id=None)
    marks = [e.detail for e in reversed(log) if e.action == "idea_status"]
    assert [(d["was"], d["status"], d["supporters_told"]) for d in marks] == [
        (None, "in_progress", 2),
        ("in_progress", "not_possible", 2),
        ("not_possible", "in_progress", 0),
    ]
    assert marks[1]["reason"] == "The path {belongs} to the forest service"
    assert all(
        e.target == f"park-survey/statement/{idea}" for e in log if e.action == "idea_status"
    )


async def test_only_an_approved_idea_gets_a_status(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        pending = await uow.statements.add(consultation.id, "ideas", "Shade", "en")
        await uow.commit()
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post(f"{QUEUE}/{pending.id}/idea-status", {"status": "done"})
    assert "Only an approved idea has a status." in (await staff.get(QUEUE)).text
    await staff.post(f"{QUEUE}/{pending.id}/idea-status", {"status": "finished"})
    assert "Choose what became of the idea." in (await staff.get(QUEUE)).text
    async with app.uow() as uow:
        found = await uow.statements.get(pending.consultation_id, pending.id)
        assert found is not None and found.idea_status is None


@pytest.mark.parametrize(
    "email", ["staff-a@example.org", "admin-a@example.org", "platform@example.org"]
)
async def test_staff_admins_and_the_platform_close_the_loop(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App, email: str
) -> None:
    idea = await frank_proposes_and_the_others_vote(app, people)
    browser = await logged_in(browser_factory, email)
    assert (
        await browser.post(f"{QUEUE}/{idea}/idea-status", {"status": "done"})
    ).status_code == 303
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        found = await uow.statements.get(consultation.id, idea)
        assert found is not None and found.idea_status == IdeaStatus.DONE


async def test_a_viewer_sees_the_status_but_cannot_set_it_and_another_organisation_finds_nothing(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    idea = await frank_proposes_and_the_others_vote(app, people)
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    page = (await viewer.get(QUEUE)).text
    assert IDEA in page and "/idea-status" not in page
    assert (await viewer.post(f"{QUEUE}/{idea}/idea-status", {"status": "done"})).status_code == 403
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.post(f"{QUEUE}/{idea}/idea-status", {"status": "done"})).status_code == 404
    staff = await logged_in(browser_factory, "staff-a@example.org")
    forged = await staff.post(f"{QUEUE}/{idea}/idea-status", {"status": "done"}, csrf=False)
    assert forged.status_code == 403
    assert await outbox(app) == []
