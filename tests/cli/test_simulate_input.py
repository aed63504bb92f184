"""Whatever a person types into the terminal simulator is read as something sensible."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.commands.simulate import Quit, parse_line, render
from dialogs.events import (
    Button,
    ButtonPress,
    CommandInput,
    ContactInput,
    LocationInput,
    MediaInput,
    Message,
    TextInput,
)

QUESTION = Message(
    "Which floor?", "question", "floor", (Button("ground", "Ground"), Button("high", "High"))
)


def test_typing_a_button_number_taps_that_button() -> None:
    assert parse_line("2\n", QUESTION) == ButtonPress("floor", "high")
    assert parse_line("3", QUESTION) == TextInput("3")  # no third button: plain text


def test_commands_and_shared_things() -> None:
    assert parse_line("/back", QUESTION) == CommandInput("back")
    assert parse_line("/SKIP", QUESTION) == CommandInput("skip")
    assert parse_line("/location 54,46 17,02", None) == LocationInput(54.46, 17.02)
    assert parse_line("/contact +48 600 100 200", None) == ContactInput("+48600100200")
    assert isinstance(parse_line("/quit", None), Quit)
    voice = parse_line("/voice 12", None)
    assert isinstance(voice, MediaInput) and voice.kind == "voice" and voice.duration == 12


def test_the_question_shows_progress_and_numbered_buttons() -> None:
    shown = render(Message("Which floor?", "question", "floor", QUESTION.buttons, progress=(2, 9)))
    assert shown.splitlines() == ["(2/9) Which floor?", "  1) Ground", "  2) High"]


@given(st.text(), st.booleans())
def test_any_typed_line_is_understood_without_an_error(line: str, with_question: bool) -> None:
    event = parse_line(line, QUESTION if with_question else None)
    assert event is not None
