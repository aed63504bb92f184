"""Three people out of work for a long time answer the job centre's bundled template
`skills-for-work` to its end, each in their own language and down a different branch:
the translations come from the template's catalogs, the branches skip what does not
apply, and each hears the end message meant for them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dialogs.events import ContactInput, Turn
from dialogs.loader import load_flow
from dialogs.schema import Flow

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
Reply = Callable[[Any], Turn]


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(FLOWS / "skills-for-work.yaml")


def shares_a_phone(citizen: Any) -> Turn:
    # The contact consent is asked first; agreeing shows the phone question itself.
    if citizen.question.step_id == "~contact":
        return citizen.taps("yes", "~contact")
    return citizen.send(ContactInput("+48600123456"))


def play(citizen: Any, replies: dict[str, Reply]) -> Turn:
    """Answer each question with its reply until the end; every question asked must
    have a reply, so a branch that should have been skipped fails the story."""
    while citizen.state["current"] is not None:
        replies[citizen.current](citizen)
    return citizen.turn


def test_a_polish_woman_with_a_business_idea_asks_for_a_call(flow, make_citizen):
    citizen = make_citizen(flow, "pl")
    assert "Przerwa w pracy może zdarzyć się każdemu" in citizen.turn.outputs[0].text
    turn = play(
        citizen,
        {
            "how_long": lambda c: c.taps("2_5y"),
            "barriers": lambda c: c.types("1,4"),
            "business": lambda c: c.taps("yes"),
            "business_idea": lambda c: c.types("Szycie i naprawa ubrań"),
            "business_help": lambda c: c.types("2,3"),
            "learn_how": lambda c: c.types("1"),
            "learn_when": lambda c: c.types("1"),
            "digital": lambda c: c.taps("2"),
            "digital_course": lambda c: c.taps("yes"),
            "support": lambda c: c.taps("childcare"),
            "one_change": lambda c: c.types("Więcej kursów w mniejszych miejscowościach"),
            "callback": lambda c: c.taps("yes"),
            "phone": shares_a_phone,
            "call_time": lambda c: c.taps("morning"),
        },
    )
    assert turn.completed
    assert turn.outputs[-1].role == "end"
    assert "Doradca fundacji odezwie się w ciągu tygodnia (pora: Rano)" in turn.outputs[-1].text
    answers = turn.state["answers"]
    assert answers["business_help"]["value"] == ["grant", "mentor"]
    assert answers["phone"]["value"] == {"phone": "+48600123456"}
    assert "wanted_work" not in answers


def test_a_ukrainian_man_who_wants_a_job_skips_the_business_questions(flow, make_citizen):
    citizen = make_citizen(flow, "uk")
    assert citizen.state["language"] == "uk"
    assert citizen.question.text == "Як довго триває перерва в роботі? Це питання можна пропустити."
    turn = play(
        citizen,
        {
            "how_long": lambda c: c.command("skip"),
            "barriers": lambda c: c.types("3,5"),
            "business": lambda c: c.taps("no"),
            "wanted_work": lambda c: c.taps("full_time"),
            "learn_how": lambda c: c.types("3"),
            "learn_when": lambda c: c.types("3,4"),
            "digital": lambda c: c.taps("4"),
            "support": lambda c: c.taps("transport"),
            "one_change": lambda c: c.command("skip"),
            "callback": lambda c: c.taps("no"),
        },
    )
    assert turn.completed
    assert turn.outputs[-1].text.startswith("Дякуємо! На основі відповідей центр зайнятості")
    answers = turn.state["answers"]
    assert {"business_idea", "business_help", "digital_course", "phone"}.isdisjoint(answers)
    assert answers["how_long"]["value"] is None


def test_an_arabic_speaker_not_sure_about_a_business_hears_about_the_spring_meetings(
    flow, make_citizen
):
    citizen = make_citizen(flow, "ar")
    assert citizen.state["language"] == "ar"
    turn = play(
        citizen,
        {
            "how_long": lambda c: c.taps("over_5y"),
            "barriers": lambda c: c.types("6"),
            "business": lambda c: c.taps("unsure"),
            "business_help": lambda c: c.types("1,4"),
            "learn_how": lambda c: c.types("2,4"),
            "learn_when": lambda c: c.types("2"),
            "digital": lambda c: c.taps("1"),
            "digital_course": lambda c: c.taps("no"),
            "support": lambda c: c.taps("none"),
            "one_change": lambda c: c.types("مترجم في المكتب"),
            "callback": lambda c: c.taps("no"),
        },
    )
    assert turn.completed
    assert "في الربيع سينظّم مكتب العمل والمؤسسة" in turn.outputs[-1].text
    answers = turn.state["answers"]
    assert "business_idea" not in answers
    assert answers["barriers"]["value"] == ["discrimination"]
