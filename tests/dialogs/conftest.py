"""Shared pieces for the dialog engine tests: a consultation flow and a citizen driver.

The flow is a small version of the Polish senior housing co-op consultation (CoSIE),
with one question of every kind, so each story reads like a real conversation.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from typing import Any

import pytest

from dialogs.engine import advance, start
from dialogs.events import (
    ButtonPress,
    CommandInput,
    CommandName,
    ContactInput,
    Event,
    Message,
    TextInput,
    Translator,
    Turn,
)
from dialogs.schema import Flow, parse_flow

TEXTS: Translator = gettext.NullTranslations()


def senior_housing_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "senior-housing",
        "version": 1,
        "title": "Housing for seniors",
        "organisation": "Senior housing co-op",
        "languages": ["en", "pl"],
        "default_language": "en",
        "consent": "We keep your answers for one year.",
        "steps": [
            {
                "id": "welcome",
                "kind": "message",
                "text": {
                    "en": "Hello! A few questions about where you live.",
                    "pl": "Dzień dobry!",
                },
            },
            {"id": "age", "kind": "number", "text": "How old are you?", "min": 50, "max": 120},
            {
                "id": "area",
                "kind": "single_choice",
                "text": "Where do you live?",
                "options": [
                    {"key": "centre", "label": "City centre", "emoji": "🏙"},
                    {"key": "village", "label": "Village"},
                    {"key": "other", "label": "Somewhere else"},
                ],
            },
            {
                "id": "needs",
                "kind": "multiple_choice",
                "text": "What do you miss near your home?",
                "max_picks": 2,
                "options": [
                    {"key": "lift", "label": "A lift"},
                    {"key": "garden", "label": "A garden"},
                    {"key": "bus", "label": "A bus stop"},
                ],
            },
            {
                "id": "rating",
                "kind": "scale",
                "text": "How do you like your flat?",
                "min": 1,
                "max": 5,
                "min_label": "very bad",
                "max_label": "very good",
                "next": [{"when": {"step": "rating", "greater": 2}, "goto": "wants_call"}],
            },
            {
                "id": "why_low",
                "kind": "text",
                "text": "You gave {{rating}}. What is wrong?",
                "required": False,
            },
            {
                "id": "wants_call",
                "kind": "yes_no",
                "text": "May a volunteer call you?",
                "next": [{"when": {"step": "wants_call", "equals": False}, "goto": "priorities"}],
            },
            {"id": "phone", "kind": "contact", "text": "Please share your phone number."},
            {
                "id": "priorities",
                "kind": "ranking",
                "text": "What matters most?",
                "rank_up_to": 2,
                "options": [
                    {"key": "housing", "label": "Housing"},
                    {"key": "transport", "label": "Transport"},
                    {"key": "health", "label": "Health"},
                ],
            },
            {
                "id": "moved",
                "kind": "date",
                "text": "When did you move in?",
                "required": False,
                "max_date": "2026-12-31",
            },
            {"id": "place", "kind": "location", "text": "Where is it?", "required": False},
            {"id": "photo", "kind": "photo", "text": "A photo of the entrance?", "required": False},
            {"id": "story", "kind": "voice", "text": "Tell us more.", "required": False},
        ],
        "ends": [
            {"when": {"step": "wants_call", "equals": True}, "text": "Thank you! We will call."},
            {"text": "Thank you, you are {{age}} and your voice counts."},
        ],
    }
    data.update(changes)
    return data


@pytest.fixture
def flow() -> Flow:
    return parse_flow(senior_housing_data())


class Citizen:
    """Plays one citizen: keeps the state as storage would (JSON) between inputs."""

    def __init__(self, flow: Flow, language: str = "en", texts: Translator = TEXTS) -> None:
        self.flow = flow
        self.texts = texts
        self.turn = start(flow, language, texts=texts)
        self.state = self.turn.state

    def send(self, event: Event) -> Turn:
        self.turn = advance(self.flow, self.state, event, texts=self.texts)
        self.state = self.turn.state
        return self.turn

    def types(self, text: str) -> Turn:
        return self.send(TextInput(text))

    def taps(self, key: str, step_id: str | None = None) -> Turn:
        return self.send(ButtonPress(step_id or self.current, key))

    def command(self, name: CommandName) -> Turn:
        return self.send(CommandInput(name))

    @property
    def current(self) -> str:
        current = self.state["current"]
        assert isinstance(current, str)
        return current

    @property
    def question(self) -> Message:
        return [m for m in self.turn.outputs if m.role == "question"][-1]

    def roles(self) -> list[str]:
        return [m.role for m in self.turn.outputs]

    def answer_until(self, step_id: str, replies: dict[str, Callable[[Citizen], Turn]]) -> None:
        """Answer with `replies[current]` until `step_id` is asked."""
        while self.current != step_id:
            replies[self.current](self)


@pytest.fixture
def citizen(flow: Flow) -> Citizen:
    return Citizen(flow)


@pytest.fixture
def make_citizen() -> type[Citizen]:
    return Citizen


#: A quick way through the sample flow, one reply per question.
QUICK: dict[str, Callable[[Citizen], Turn]] = {
    "age": lambda c: c.types("72"),
    "area": lambda c: c.taps("village"),
    "needs": lambda c: c.types("1,3"),
    "rating": lambda c: c.taps("2"),
    "why_low": lambda c: c.types("The lift is broken"),
    "wants_call": lambda c: c.taps("yes"),
    # The contact consent is asked first; agreeing shows the phone question itself.
    "phone": lambda c: (
        c.taps("yes", "~contact")
        if c.question.step_id == "~contact"
        else c.send(ContactInput("+48600000000"))
    ),
    "priorities": lambda c: c.types("3,1"),
    "moved": lambda c: c.command("skip"),
    "place": lambda c: c.command("skip"),
    "photo": lambda c: c.command("skip"),
    "story": lambda c: c.command("skip"),
}


@pytest.fixture
def quick() -> dict[str, Callable[[Citizen], Turn]]:
    return QUICK


@pytest.fixture
def texts() -> Translator:
    return TEXTS


@pytest.fixture
def flow_data() -> Callable[..., dict[str, Any]]:
    """The sample flow as YAML would give it, with top-level keys replaced."""
    return senior_housing_data
