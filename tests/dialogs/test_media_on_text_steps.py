"""A citizen who shows rather than writes: a photo or a location sent to a text
question is kept when the question allows media (`allow_media`), and otherwise gets
the text question's short hint. A flow that asks for media where it makes no sense is
refused at load, naming the step."""

from __future__ import annotations

import gettext

import pytest
from pydantic import ValidationError

from dialogs.answers import Accepted, Problem, interpret
from dialogs.events import LocationInput, MediaInput, TextInput
from dialogs.schema import Step

TEXTS = gettext.NullTranslations()


def text_step(**extra: object) -> Step:
    return Step.model_validate({"id": "what", "kind": "text", "text": "What is wrong?", **extra})


def answer(step: Step, event: object) -> Accepted | Problem:
    return interpret(step, event, [], TEXTS, "en")  # type: ignore[arg-type]


def test_a_photo_sent_to_a_text_question_that_allows_media_is_the_answer() -> None:
    got = answer(text_step(allow_media=True), MediaInput("photo", "photo-file-1"))
    assert isinstance(got, Accepted) and got.value == {"photo": "photo-file-1"}


def test_a_shared_location_is_the_answer_too() -> None:
    got = answer(text_step(allow_media=True), LocationInput(54.46, 17.03))
    assert isinstance(got, Accepted) and got.value == {"lat": 54.46, "lon": 17.03}


def test_a_broken_point_gets_the_text_questions_hint() -> None:
    got = answer(text_step(allow_media=True), LocationInput(999.0, 17.03))
    assert isinstance(got, Problem) and got.code == "text"


@pytest.mark.parametrize(
    "event", [MediaInput("photo", "p"), LocationInput(54.46, 17.03), MediaInput("sticker", "s")]
)
def test_without_allow_media_media_gets_a_hint_and_is_not_kept(event: object) -> None:
    got = answer(text_step(), event)
    assert isinstance(got, Problem) and got.code == "text"


def test_typing_still_works_where_media_is_allowed() -> None:
    got = answer(text_step(allow_media=True), TextInput("  The lamp is out  "))
    assert isinstance(got, Accepted) and got.value == "The lamp is out"


def test_a_sticker_is_no_answer_even_where_media_is_allowed() -> None:
    got = answer(text_step(allow_media=True), MediaInput("sticker", "s"))
    assert isinstance(got, Problem)


def test_allow_media_on_a_question_that_is_not_text_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="allow_media is for a text step"):
        Step.model_validate(
            {"id": "age", "kind": "number", "text": "How old are you?", "allow_media": True}
        )
