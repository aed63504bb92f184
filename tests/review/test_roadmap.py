"""The co-creation roadmap: a consultation goes from just published to answered, its
results public, its report resolved and its results message sent, and the roadmap's
five stages (ask, listen, decide with people, act, tell them) follow, each with the
figures behind it and the tools for it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from konsulta import broadcasts
from konsulta.bootstrap import App
from outreach.results import add_outcome
from tests.review.conftest import Browser, logged_in, seed_answers

ROADMAP = "/consultations/park-survey/roadmap"
STAGE = re.compile(
    r'<li class="card stage [a-z_]+" id="([a-z]+)">\s*<h2>.*?data-progress="([a-z_]+)"'
)


def progress(page: str) -> dict[str, str]:
    """Each stage's status as the page marks it."""
    return dict(STAGE.findall(page))


def figure(page: str, label: str) -> str:
    """The value the page shows next to `label` (the first stage that shows it)."""
    found = re.search(
        rf'<tr data-figure="{re.escape(label)}"><th scope="row">[^<]*</th>'
        r'<td class="num">([^<]*)</td>',
        page,
    )
    assert found is not None, label
    return found.group(1)


def stage(page: str, key: str) -> str:
    """The HTML of one stage."""
    found = re.search(rf'<li class="card stage [a-z_]+" id="{key}">(.*?)</li>', page, re.S)
    assert found is not None, key
    return found.group(1)


async def test_the_roadmap_follows_a_consultation_from_asking_to_telling(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    consultation = await staff.get("/consultations/park-survey")
    assert f'href="{ROADMAP}"' in consultation.text

    # Just published: people are being asked, nothing else has begun.
    page = (await staff.get(ROADMAP)).text
    assert progress(page) == {
        "ask": "under_way",
        "listen": "not_started",
        "decide": "not_started",
        "act": "not_started",
        "tell": "not_started",
    }
    assert figure(page, "Participants") == "0"
    assert figure(page, "Consultation") == "open"
    assert "Nobody has finished yet: share invite links or send a broadcast." in page
    ask = stage(page, "ask")
    assert 'href="/communities"' in ask and 'href="/consultations/park-survey/broadcasts"' in ask

    # Four citizens answer (three finish); Anna's answers include a place and a photo.
    await seed_answers(app)
    page = (await staff.get(ROADMAP)).text
    assert progress(page)["ask"] == "done"
    assert progress(page)["listen"] == "under_way"
    assert figure(page, "Participants") == "4"
    assert figure(page, "Participants who finished") == "3"
    assert figure(page, "Free-text answers") == "3"
    assert figure(page, "Free-text answers coded") == "0"
    assert figure(page, "Reports") == "1" and figure(page, "New reports") == "1"
    assert "Code the free-text answers nobody has coded yet." in page
    listen = stage(page, "listen")
    assert 'href="/consultations/park-survey/texts"' in listen
    assert 'href="/consultations/park-survey/reports"' in listen
    assert progress(page)["act"] == "not_started"

    # Staff publish the results: the people can see what was said.
    await staff.post("/consultations/park-survey/public", {"published": "1", "step": ["district"]})
    page = (await staff.get(ROADMAP)).text
    assert progress(page)["decide"] == "done"
    assert figure(page, "Public results page") == "on"
    assert figure(page, "Questions on the public page") == "1"
    assert 'href="/p/park-survey"' in stage(page, "decide")

    # Anna's report is taken in hand, then resolved.
    reports = await staff.get("/consultations/park-survey/reports")
    run_id = re.search(r'id="run-(\d+)"', reports.text)
    assert run_id is not None
    status = f"/consultations/park-survey/reports/{run_id.group(1)}/status"
    await staff.post(status, {"status": "in_progress"})
    page = (await staff.get(ROADMAP)).text
    assert progress(page)["act"] == "under_way"
    assert figure(page, "Reports in progress") == "1"
    await staff.post(status, {"status": "resolved"})
    page = (await staff.get(ROADMAP)).text
    assert progress(page)["act"] == "done"
    assert figure(page, "Reports resolved") == "1"

    # Every free-text answer coded: listening is done too.
    texts = await staff.get("/consultations/park-survey/texts")
    for answer_id in re.findall(r'id="answer-(\d+)"', texts.text):
        await staff.post(f"/consultations/park-survey/answers/{answer_id}/coding", {"mark": "idea"})
    page = (await staff.get(ROADMAP)).text
    assert figure(page, "Free-text answers coded") == "3"
    assert progress(page)["listen"] == "done"

    # A results message written is telling under way; sent, the loop is closed.
    assert progress(page)["tell"] == "not_started"
    _outcome, message = await add_outcome(app, "park-survey", {"en": "We are adding benches."})
    page = (await staff.get(ROADMAP)).text
    assert progress(page)["tell"] == "under_way"
    assert figure(page, "Results written (&#34;you said, we did&#34;)") == "1"
    await broadcasts.schedule(app, message.id)
    page = (await staff.get(ROADMAP)).text
    assert progress(page) == {
        "ask": "done",
        "listen": "done",
        "decide": "done",
        "act": "done",
        "tell": "done",
    }
    assert figure(page, "Results messages sent") == "1"


async def test_the_roadmap_speaks_polish(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await staff.post("/language", {"language": "pl", "back": ROADMAP})
    page = (await staff.get(ROADMAP)).text
    assert "Zapytaj" in page and "Wysłuchaj" in page
    assert "Zakończone" in page  # asking is done: three citizens finished


@pytest.mark.parametrize(
    "email",
    ["viewer-a@example.org", "staff-a@example.org", "admin-a@example.org", "platform@example.org"],
)
async def test_every_role_of_the_organisation_sees_the_roadmap(
    browser_factory: Callable[[], Browser], people: dict[str, str], email: str
) -> None:
    browser = await logged_in(browser_factory, email)
    page = await browser.get(ROADMAP)
    assert page.status_code == 200
    assert set(progress(page.text)) == {"ask", "listen", "decide", "act", "tell"}


async def test_another_organisations_roadmap_is_not_found_and_strangers_log_in_first(
    browser_factory: Callable[[], Browser], anonymous: Browser, people: dict[str, str]
) -> None:
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(ROADMAP)).status_code == 404
    assert (await other.get("/consultations/no-such-survey/roadmap")).status_code == 404
    assert (await other.get("/consultations/harbour-survey/roadmap")).status_code == 200
    stranger = await anonymous.get(ROADMAP)
    assert stranger.status_code == 303
    assert stranger.headers["location"] == f"/login?next={ROADMAP}"
