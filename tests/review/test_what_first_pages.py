"""Staff open every page of "What should change first?" once residents have voted and
picked their top three: the answers show as words (how many statements, the ideas
in order), never as statement ids, and no page fails on the two new step kinds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from konsulta.bootstrap import App
from tests.review.conftest import Browser, add_run, logged_in
from tests.review.test_providers import publish_in_org_a

BASE = "/consultations/what-first"
WHAT_FIRST = Path(__file__).resolve().parents[2] / "dialogs" / "flows" / "what-first.yaml"


async def test_every_page_of_a_consultation_with_statements_opens(
    app: App, browser_factory: Callable[[], Browser]
) -> None:
    await publish_in_org_a(app, WHAT_FIRST)
    for n in range(3):
        await add_run(
            app,
            "what-first",
            6100 + n,
            {"area": "centre", "age": "45_64", "ideas": 8, "top": ["1", "2", "3"]},
            display={
                "ideas": "8 stwierdzeń",
                "top": "1. Autobusy wieczorem, 2. Ławki, 3. Lekarz",
            },
            language="pl",
        )
    staff = await logged_in(browser_factory, "staff-a@example.org")
    for page in ("", "/texts", "/statements", "/opinions", "/links", "/roadmap", "/export.csv"):
        response = await staff.get(f"{BASE}{page}")
        assert response.status_code == 200, page
    overview = (await staff.get(BASE)).text
    assert "Stwierdzenia do oceny" in overview or "Statements to vote on" in overview
