"""Stories of answers a deep link presets: the senior's co-op poster names the area.

The engine records a preset single-choice answer exactly as a tap, shows the question
with the chosen answer under it, and walks on; "back" asks the question again and the
citizen's own choice wins; a consent the question waits for is asked first.
"""

from __future__ import annotations

import gettext
from typing import Any

from dialogs.engine import start
from dialogs.events import AnswerRecord
from dialogs.schema import Flow, parse_flow

TEXTS = gettext.NullTranslations()


def linked(flow: Flow, preset: dict[str, str], make_citizen: Any) -> Any:
    """A citizen (tests/dialogs/conftest.py) who came by a link with `preset`."""
    citizen = make_citizen(flow)
    citizen.turn = start(flow, "en", texts=TEXTS, preset=preset)
    citizen.state = citizen.turn.state
    return citizen


def test_the_area_on_the_poster_is_not_asked_and_back_still_changes_it(flow, make_citizen):
    senior = linked(flow, {"area": "village"}, make_citizen)
    assert senior.current == "age"
    turn = senior.types("78")
    # The area question is shown answered, with no buttons, and the next one asked.
    [chosen] = [m for m in turn.outputs if m.step_id == "area"]
    assert chosen.role == "say" and not chosen.buttons
    assert chosen.text == "Where do you live?\n\n✓ Village"
    assert AnswerRecord("area", "village", "Village", False) in turn.answered
    assert senior.current == "needs"
    assert senior.state["history"] == ["age", "area"]
    assert "preset" not in senior.state  # used once

    senior.command("back")
    assert senior.current == "area"
    assert [b.key for b in senior.question.buttons] == ["centre", "village", "other"]
    senior.taps("centre")
    assert senior.state["answers"]["area"]["value"] == "centre"
    assert senior.current == "needs"


def test_a_preset_waits_for_the_consent_to_be_named(flow_data, make_citizen):
    data = flow_data(name_consent="The co-op board would like to know who you are.")
    steps = data["steps"]
    data["steps"] = [steps[0], steps[2], steps[1], *steps[3:]]  # the area asked first
    senior = linked(parse_flow(data), {"area": "centre"}, make_citizen)
    assert senior.current == "area"
    assert senior.question.step_id == "~named"
    assert senior.state["answers"] == {}
    turn = senior.taps("no", "~named")
    assert senior.state["answers"]["area"]["value"] == "centre"
    assert [m.step_id for m in turn.outputs] == ["area", "age"]
    assert senior.current == "age"


def test_a_wrong_preset_is_left_out_and_the_question_asked(flow, make_citizen):
    for preset in ({"area": "moon"}, {"nowhere": "village"}, {"rating": "5"}):
        senior = linked(flow, preset, make_citizen)
        assert senior.turn == start(flow, "en", texts=TEXTS)
        senior.types("78")
        assert senior.current == "area"
        assert senior.question.buttons
