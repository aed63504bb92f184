"""Moderating citizens' statements: Bogdan (Polish) and Anna propose statements in the
park survey; staff approve Bogdan's and he is told in Polish that it is live, reject
Anna's with a reason, merge Celina's duplicate into Bogdan's (her supporters' votes
go with it) and correct Bogdan's typo while keeping what he wrote. Every decision is
in the audit log; a viewer only reads; another organisation sees nothing.

The bot's `statements` step does not exist yet, so the proposals are stored the way
it will store them: `StatementRepository.add` with the author's run, pending."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from database_checks import session_of
from sqlalchemy import select

from konsulta.bootstrap import App
from storage.models import OutboxMessage, StatementStatus, Vote
from tests.review.conftest import Browser, Clock, logged_in

QUEUE = "/consultations/park-survey/statements"
#: Noon in Warsaw, where the test citizens live: no quiet hours.
NOON = datetime(2026, 12, 7, 11, tzinfo=UTC)


async def propose(app: App, pid: str, text: str, slug: str = "park-survey") -> int:
    """The citizen `pid` proposes `text` in their run of `slug`; the statement's id."""
    async with app.uow() as uow:
        citizen = await uow.citizens.get_by_participant_id(pid)
        consultation = await uow.consultations.get_by_slug(slug)
        assert citizen is not None and consultation is not None
        [run] = [
            r
            for r in await uow.runs.list_for_citizen(citizen.id)
            if r.consultation_id == consultation.id
        ]
        statement = await uow.statements.add(
            consultation.id, "ideas", text, run.language, author_run_id=run.id
        )
        await uow.commit()
        return statement.id


async def status_of(app: App, statement_id: int) -> str:
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        statement = await uow.statements.get(consultation.id, statement_id)
        assert statement is not None
        return statement.status


async def outbox(app: App) -> list[OutboxMessage]:
    async with app.uow() as uow:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session_of(uow).execute(query)).scalars().all())


def card(page: str, statement_id: int) -> str:
    """The HTML of one statement's card."""
    found = re.search(rf'<article [^>]*id="statement-{statement_id}"(.*?)</article>', page, re.S)
    assert found is not None, statement_id
    return found.group(0)


def count(page: str, status: str) -> int:
    found = re.search(rf'data-count="{status}">(\d+)<', page)
    assert found is not None, status
    return int(found.group(1))


async def test_staff_moderate_the_queue_and_the_author_hears_in_their_language(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App, clock: Clock
) -> None:
    clock.now = NOON
    bogdans = await propose(app, people["bogdan"], "Wiecej ławek przy stawie")
    annas = await propose(app, people["anna"], "Buy me a beer")
    staff = await logged_in(browser_factory, "staff-a@example.org")

    page = (await staff.get(QUEUE)).text
    assert count(page, "pending") == 2 and count(page, "approved") == 0
    assert "Wiecej ławek przy stawie" in card(page, bogdans)
    assert f'action="{QUEUE}/{bogdans}/approve"' in page

    # Bogdan's goes live: he hears it in Polish, from Org A, with his words.
    approved = await staff.post(f"{QUEUE}/{bogdans}/approve")
    assert approved.status_code == 303
    assert await status_of(app, bogdans) == StatementStatus.APPROVED
    [told] = await outbox(app)
    assert told.chat_id == 1002 and told.kind == "notice"
    assert told.payload["text"] == (
        "Wiadomość od: Org A\n\nDziękujemy za zgłoszoną propozycję. Została zatwierdzona i "
        "pozostali uczestnicy mogą teraz na nią głosować:\n\nWiecej ławek przy stawie"
    )
    assert told.due_at.replace(tzinfo=UTC) <= datetime.now(UTC)  # at once, by day
    page = (await staff.get(QUEUE)).text
    assert "Approved. Its author is told it is live." in page
    assert count(page, "pending") == 1 and count(page, "approved") == 1

    # Anna's is rejected, but not without a reason.
    await staff.post(f"{QUEUE}/{annas}/reject", {"reason": "  "})
    assert await status_of(app, annas) == StatementStatus.PENDING
    assert "Give a reason of at most 500 characters." in (await staff.get(QUEUE)).text
    await staff.post(f"{QUEUE}/{annas}/reject", {"reason": "Not about the park"})
    page = (await staff.get(QUEUE)).text
    assert count(page, "pending") == 0 and count(page, "rejected") == 1
    assert "Not about the park" in card(page, annas)

    # Celina proposes the same idea again; Anna agreed with it. Staff merge it into
    # Bogdan's (not into itself, nor into a statement that is not approved).
    duplicate = await propose(app, people["celina"], "More benches by the pond")
    async with app.uow() as uow:
        anna = await uow.citizens.get_by_participant_id(people["anna"])
        assert anna is not None
        [annas_run] = await uow.runs.list_for_citizen(anna.id)
        await uow.statements.vote(duplicate, anna.id, annas_run.id, Vote.AGREE)
        await uow.commit()
    await staff.post(f"{QUEUE}/{duplicate}/merge", {"into": str(duplicate)})
    await staff.post(f"{QUEUE}/{duplicate}/merge", {"into": str(annas)})
    assert await status_of(app, duplicate) == StatementStatus.PENDING
    assert "Choose another approved statement to merge it into." in (await staff.get(QUEUE)).text
    await staff.post(f"{QUEUE}/{duplicate}/merge", {"into": str(bogdans)})
    page = (await staff.get(QUEUE)).text
    assert count(page, "merged") == 1
    assert f'href="#statement-{bogdans}">#{bogdans}</a>' in card(page, duplicate)
    async with app.uow() as uow:
        assert anna is not None and annas_run.consultation_id is not None
        assert await uow.statements.votes_of(anna.id, annas_run.consultation_id) == {
            bogdans: Vote.AGREE
        }

    # A typo corrected: what is shown changes, Bogdan's own words stay beside it.
    await staff.post(f"{QUEUE}/{bogdans}/correct", {"text": "Więcej ławek przy stawie"})
    page = (await staff.get(QUEUE)).text
    shown = card(page, bogdans)
    assert '<blockquote lang="pl">Więcej ławek przy stawie</blockquote>' in shown
    assert '<q lang="pl">Wiecej ławek przy stawie</q>' in shown
    async with app.uow() as uow:
        approved_now = await uow.statements.approved(annas_run.consultation_id, "ideas")
    assert [s.text for s in approved_now] == ["Więcej ławek przy stawie"]

    # Rejecting and approving it again never tells Bogdan twice.
    await staff.post(f"{QUEUE}/{bogdans}/reject", {"reason": "Second thoughts"})
    await staff.post(f"{QUEUE}/{bogdans}/approve")
    assert await status_of(app, bogdans) == StatementStatus.APPROVED
    assert len(await outbox(app)) == 1

    async with app.uow() as uow:
        log = await uow.audit.search(organisation_id=None)
    decisions = [(e.action, e.target) for e in reversed(log) if e.action.endswith("_statement")]
    assert decisions == [
        ("approve_statement", f"park-survey/statement/{bogdans}"),
        ("reject_statement", f"park-survey/statement/{annas}"),
        ("merge_statement", f"park-survey/statement/{duplicate}"),
        ("correct_statement", f"park-survey/statement/{bogdans}"),
        ("reject_statement", f"park-survey/statement/{bogdans}"),
        ("approve_statement", f"park-survey/statement/{bogdans}"),
    ]
    details = {e.action: e.detail for e in log if e.action.endswith("_statement")}
    # No citizen's words in the audit: they would outlive the author's /delete.
    assert "ławek" not in str(details["correct_statement"])
    assert details["merge_statement"]["into"] == bogdans
    assert all(e.email == "staff-a@example.org" for e in log if e.action.endswith("_statement"))
    views = [e.detail for e in log if e.action == "view" and e.target == "park-survey"]
    assert views and all(v["page"] == "statements" for v in views)


async def test_the_author_is_not_woken_at_night_nor_written_to_after_stop(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)  # 22:30 in Warsaw
    night = await propose(app, people["anna"], "Lights along the path")
    stopped = await propose(app, people["celina"], "A drinking fountain")
    async with app.uow() as uow:
        celina = await uow.citizens.get_by_participant_id(people["celina"])
        assert celina is not None
        await uow.citizens.set_flags(celina, stopped=True)
        await uow.commit()
    staff = await logged_in(browser_factory, "staff-a@example.org")

    await staff.post(f"{QUEUE}/{night}/approve")
    [waiting] = await outbox(app)
    assert waiting.chat_id == 1001
    assert waiting.payload["text"].endswith("can now vote on it:\n\nLights along the path")
    assert waiting.due_at.replace(tzinfo=UTC) == datetime(2026, 12, 8, 7, tzinfo=UTC)
    assert "Approved. Its author is told it is live." in (await staff.get(QUEUE)).text

    await staff.post(f"{QUEUE}/{stopped}/approve")
    assert await status_of(app, stopped) == StatementStatus.APPROVED
    assert len(await outbox(app)) == 1
    page = (await staff.get(QUEUE)).text
    assert "Approved." in page and "Its author is told" not in page


@pytest.mark.parametrize(
    "email", ["staff-a@example.org", "admin-a@example.org", "platform@example.org"]
)
async def test_staff_admins_and_the_platform_moderate(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App, email: str
) -> None:
    pending = await propose(app, people["anna"], "Shade for the playground")
    browser = await logged_in(browser_factory, email)
    page = (await browser.get(QUEUE)).text
    assert f'action="{QUEUE}/{pending}/approve"' in page
    assert (await browser.post(f"{QUEUE}/{pending}/approve")).status_code == 303
    assert await status_of(app, pending) == StatementStatus.APPROVED


async def test_a_viewer_reads_the_queue_but_cannot_decide(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    pending = await propose(app, people["anna"], "Shade for the playground")
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    page = await viewer.get(QUEUE)
    assert page.status_code == 200
    assert "Shade for the playground" in page.text and "/approve" not in page.text
    for verb, form in (
        ("approve", {}),
        ("reject", {"reason": "no"}),
        ("merge", {"into": str(pending)}),
        ("correct", {"text": "Shade"}),
    ):
        assert (await viewer.post(f"{QUEUE}/{pending}/{verb}", form)).status_code == 403
    assert await status_of(app, pending) == StatementStatus.PENDING
    assert await outbox(app) == []


async def test_a_form_without_its_csrf_token_is_refused(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    pending = await propose(app, people["anna"], "Shade for the playground")
    staff = await logged_in(browser_factory, "staff-a@example.org")
    assert (await staff.post(f"{QUEUE}/{pending}/approve", csrf=False)).status_code == 403
    assert await status_of(app, pending) == StatementStatus.PENDING


async def test_another_organisations_statements_are_not_found(
    browser_factory: Callable[[], Browser],
    anonymous: Browser,
    people: dict[str, str],
    app: App,
) -> None:
    ours = await propose(app, people["anna"], "Shade for the playground")
    theirs = await propose(app, people["ewa"], "A harbour café", slug="harbour-survey")
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(QUEUE)).status_code == 404
    assert (await other.post(f"{QUEUE}/{ours}/approve")).status_code == 404
    assert (await other.post(f"{QUEUE}/{ours}/reject", {"reason": "x"})).status_code == 404
    assert await status_of(app, ours) == StatementStatus.PENDING
    # Their own statement's id under our consultation's address is just as unknown.
    staff = await logged_in(browser_factory, "staff-a@example.org")
    assert (await staff.post(f"{QUEUE}/{theirs}/approve")).status_code == 404
    assert (await staff.post(f"{QUEUE}/{ours}/merge", {"into": str(theirs)})).status_code == 303
    assert await status_of(app, ours) == StatementStatus.PENDING
    stranger = await anonymous.get(QUEUE)
    assert stranger.status_code == 303
    assert stranger.headers["location"] == f"/login?next={QUEUE}"


async def test_the_queue_is_linked_from_the_consultation_and_the_roadmap_and_speaks_polish(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    await propose(app, people["bogdan"], "Więcej cienia")
    staff = await logged_in(browser_factory, "staff-a@example.org")
    assert f'href="{QUEUE}"' in (await staff.get("/consultations/park-survey")).text
    roadmap = (await staff.get("/consultations/park-survey/roadmap")).text
    decide = re.search(r'id="decide">(.*?)</li>', roadmap, re.S)
    assert decide is not None and f'href="{QUEUE}"' in decide.group(1)
    await staff.post("/language", {"language": "pl", "back": QUEUE})
    page = (await staff.get(QUEUE)).text
    assert "Czekające na moderację" in page and "Zatwierdź" in page and "Popraw literówkę" in page
