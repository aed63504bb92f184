"""Properties of the engine over random flows and whatever citizens might send.

Random flows have every step kind, random limits, texts full of placeholders and
format-string traps, and `next` rules that only jump forward. Random citizens send
any unicode, buttons from anywhere (old questions, unknown keys, controls), media of
every kind, NaN and infinite coordinates, and commands. Whatever happens, the engine
does not raise, its state survives JSON, and every message is one Telegram accepts.
A citizen who answers every question validly always reaches the end.
"""

from __future__ import annotations

import datetime as dt
import gettext
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.engine import CONSENT_QUESTIONS, TYPED_KINDS, advance, start, valid_preset
from dialogs.events import (
    DONE,
    SKIP,
    UNDO,
    ButtonPress,
    CommandInput,
    ContactInput,
    Event,
    LocationInput,
    MediaInput,
    Message,
    TextInput,
    Turn,
)
from dialogs.schema import Flow, Step, StepKind, parse_flow

TEXTS = gettext.NullTranslations()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIA_KINDS = ["photo", "voice", "audio", "video", "video_note", "document", "sticker", "animation"]
TRAPS = [
    "{0.__class__}",
    "{{}}",
    "{",
    "}}",
    "{{ s0 }}",
    "{{s1}}",
    "{{s5}}",
    "{{nope}}",
    "%s",
    "x" * 5000,
]


def texts_mentioning(ids: list[str]) -> st.SearchStrategy[str]:
    pieces = st.sampled_from(TRAPS + [f"{{{{{i}}}}}" for i in ids]) | st.text(max_size=15)
    return st.lists(pieces, max_size=4).map("".join)


def flow_text(ids: list[str]) -> st.SearchStrategy[Any]:
    text = texts_mentioning(ids)
    return text | st.fixed_dictionaries({"en": text, "pl": text})


@st.composite
def conditions(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    step = draw(st.sampled_from(ids))
    simple = st.sampled_from(
        [
            {"answered": step},
            {"skipped": step},
            {"step": step, "equals": draw(st.sampled_from(["o0", "o1", True, False, 3, "abc"]))},
            {"step": step, "in": ["o0", 2, True]},
            {"step": step, "contains": draw(st.sampled_from(["o1", "a", 1]))},
            {"step": step, "greater": draw(st.floats(allow_nan=False))},
            {"step": step, "less": draw(st.integers(-10, 10))},
        ]
    )
    tree = st.recursive(
        simple,
        lambda c: (
            st.lists(c, max_size=2).map(lambda x: {"all": x})
            | st.lists(c, max_size=2).map(lambda x: {"any": x})
            | c.map(lambda x: {"not": x})
        ),
        max_leaves=4,
    )
    return draw(tree)


@st.composite
def steps(draw: st.DrawFn, index: int, ids: list[str]) -> dict[str, Any]:
    # A priorities step needs a statements step before it: tests/dialogs/
    # test_engine_statements.py drives it with random inputs.
    kind = draw(st.sampled_from([k for k in StepKind if k is not StepKind.PRIORITIES]))
    data: dict[str, Any] = {"id": ids[index], "kind": kind.value, "text": draw(flow_text(ids))}
    if kind is not StepKind.MESSAGE:
        data["required"] = draw(st.booleans())
    if draw(st.booleans()):
        data["help"] = draw(flow_text(ids))
    if draw(st.integers(0, 4)) == 0:
        data["error"] = draw(flow_text(ids))
    if kind in (StepKind.SINGLE_CHOICE, StepKind.MULTIPLE_CHOICE, StepKind.RANKING):
        count = draw(st.integers(2, 4))
        data["options"] = [
            {
                "key": f"o{n}",
                "label": draw(flow_text(ids)),
                "emoji": draw(st.none() | st.just("🙂")),
            }
            for n in range(count)
        ]
        if kind is StepKind.MULTIPLE_CHOICE:
            most = draw(st.none() | st.integers(1, count))
            data["max_picks"] = most
            data["min_picks"] = draw(st.none() | st.integers(0, most or count))
        if kind is StepKind.RANKING:
            data["rank_up_to"] = draw(st.none() | st.integers(1, count))
    elif kind is StepKind.STATEMENTS:
        data["options"] = [
            {"key": f"s{n}", "label": draw(flow_text(ids))} for n in range(draw(st.integers(0, 3)))
        ]
        data["allow_proposals"] = draw(st.booleans())
    elif kind is StepKind.TEXT:
        least = draw(st.none() | st.integers(0, 5))
        data["min_length"] = least
        data["max_length"] = draw(st.none() | st.integers(max(1, least or 0), 60))
        data["allow_voice"] = draw(st.booleans())
    elif kind is StepKind.NUMBER:
        data["integer"] = draw(st.booleans())
        low = draw(st.none() | st.integers(-1000, 1000))
        width = draw(st.integers(0, 100))
        high = draw(st.none() | st.just((low or 0) + width))
        if not data["integer"]:
            low, high = (None if x is None else x / 2 for x in (low, high))
        data["min"], data["max"] = low, high
    elif kind is StepKind.SCALE:
        low = draw(st.integers(-5, 5))
        high = low + draw(st.integers(1, 10))
        data.update(min=low, max=high)
        data["min_label"] = draw(st.none() | flow_text(ids))
        data["max_label"] = draw(st.none() | flow_text(ids))
        if draw(st.booleans()):
            data["emoji"] = ["⭐"] * (high - low + 1)
    elif kind is StepKind.DATE:
        first = draw(st.none() | st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)))
        data["min_date"] = first
        data["max_date"] = draw(st.none() | st.dates(first or dt.date(2020, 1, 1)))
    elif kind is StepKind.LOCATION:
        data["allow_typed"] = draw(st.booleans())
    later = [*ids[index + 1 :], "end"]
    data["next"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"goto": st.sampled_from(later)},
                optional={"when": conditions(ids)},
            ),
            max_size=2,
        )
    )
    return data


@st.composite
def flows(draw: st.DrawFn) -> Flow:
    count = draw(st.integers(1, 7))
    ids = [f"s{n}" for n in range(count)]
    ends = draw(
        st.lists(
            st.fixed_dictionaries({"text": flow_text(ids)}, optional={"when": conditions(ids)}),
            min_size=1,
            max_size=2,
        )
    )
    return parse_flow(
        {
            "id": "random-flow",
            "version": 1,
            "title": "Random",
            "organisation": "Tests",
            "languages": ["en", "pl"],
            "default_language": "en",
            "consent": "ok",
            "steps": [draw(steps(n, ids)) for n in range(count)],
            "ends": ends,
        }
    )


def events(flow: Flow) -> st.SearchStrategy[Event]:
    ids = [s.id for s in flow.steps]
    keys = ["o0", "o1", "o2", "o3", SKIP, DONE, UNDO, "yes", "no", "-1", "0", "1", "5", "10"]
    return st.one_of(
        st.builds(TextInput, st.text()),
        st.builds(
            TextInput,
            st.sampled_from(["1", "2", "1,2", "3 1", "yes", "no", "1,5", "7.12.2026", "  "]),
        ),
        st.builds(
            ButtonPress,
            st.sampled_from(ids) | st.text(max_size=5),
            st.sampled_from(keys) | st.text(max_size=5),
        ),
        st.builds(
            MediaInput,
            st.sampled_from(MEDIA_KINDS),
            st.text(max_size=10),
            st.none() | st.integers(-1, 10**6),
        ),
        st.builds(LocationInput, st.floats(), st.floats()),
        st.builds(ContactInput, st.text(max_size=15), st.booleans()),
        st.builds(CommandInput, st.sampled_from(["back", "skip", "restart", "repeat"])),
    )


def check_turn(flow: Flow, turn: Turn) -> None:
    state = turn.state
    assert json.loads(json.dumps(state, allow_nan=False)) == state
    for message in turn.outputs:
        assert message.text.strip()
        assert len(message.text) <= 4096
        assert all(button.label.strip() for button in message.buttons)
    questions = {s.id for s in flow.questions}
    assert set(state["answers"]) <= questions
    assert set(state["answers"]) <= set(state["history"])
    if state["status"] == "active":
        kind = flow.step(state["current"]).kind
        if kind is StepKind.STATEMENTS and not turn.outputs:
            return  # a second tap on a statement already voted on changes nothing
        last = turn.outputs[-1]
        # the question (or a consent it needs first), or (after a photo or the like
        # sent to a question answered by typing, or to a statement on screen) a short
        # hint under the question shown
        typed = kind in TYPED_KINDS or kind is StepKind.STATEMENTS
        assert last.role == "question" or (last.role == "hint" and typed)
        assert last.step_id in (state["current"], *CONSENT_QUESTIONS.values())
    else:
        assert state["current"] is None


@SETTINGS
@given(st.data(), flows(), st.sampled_from(["en", "pl", "uk"]))
def test_nothing_a_citizen_sends_breaks_the_engine(data, flow, language):
    turn = start(flow, language, texts=TEXTS)
    check_turn(flow, turn)
    for event in data.draw(st.lists(events(flow), max_size=25)):
        state = turn.state
        turn = advance(flow, state, event, texts=TEXTS)
        check_turn(flow, turn)
        stored = json.loads(json.dumps(state))
        assert advance(flow, stored, event, texts=TEXTS) == turn


def valid_reply(data: st.DataObject, step: Step, question: Message) -> list[Event]:
    """Events that answer `step` correctly, in one of the ways a citizen might.

    Options are typed by number only when no label has a digit: a label "2" would
    rightly win over the second option.
    """
    draw = data.draw
    if question.step_id in CONSENT_QUESTIONS.values():
        # A consent the question needs first: yes or no, tapped (a no passes it over).
        return [ButtonPress(question.step_id, draw(st.sampled_from(["yes", "no"])))]
    typed = not any(c.isdigit() for b in question.buttons for c in b.label)
    if not step.required and draw(st.integers(0, 3)) == 0:
        return [draw(st.sampled_from([CommandInput("skip"), ButtonPress(step.id, SKIP)]))]
    keys = [o.key for o in step.options]
    match step.kind:
        case StepKind.SINGLE_CHOICE:
            n = draw(st.integers(0, len(keys) - 1))
            replies = [ButtonPress(step.id, keys[n]), TextInput(str(n + 1))]
            return [draw(st.sampled_from(replies if typed else replies[:1]))]
        case StepKind.MULTIPLE_CHOICE:
            least = step.min_picks if step.min_picks is not None else int(step.required)
            count = draw(st.integers(max(least, 1), step.max_picks or len(keys)))
            picked = draw(st.permutations(range(len(keys))))[:count]
            if typed and draw(st.booleans()):
                return [TextInput(", ".join(str(n + 1) for n in picked))]
            return [*(ButtonPress(step.id, keys[n]) for n in picked), ButtonPress(step.id, DONE)]
        case StepKind.RANKING:
            order = draw(st.permutations(range(len(keys))))[: step.rank_up_to or len(keys)]
            if typed and draw(st.booleans()):
                return [TextInput(" ".join(str(n + 1) for n in order))]
            return [ButtonPress(step.id, keys[n]) for n in order[: len(keys) - 1] or order]
        case StepKind.TEXT:
            least = max(step.min_length or 0, 1)
            most = step.max_length or least + 20
            return [TextInput(draw(st.text("abcéąż", min_size=least, max_size=most)))]
        case StepKind.NUMBER:
            low = math.ceil((step.min if step.min is not None else -1e6) * 2)
            high = math.floor((step.max if step.max is not None else 1e6) * 2)
            if step.integer:
                value = draw(st.integers(math.ceil(low / 2), math.floor(high / 2)))
                return [TextInput(str(value))]
            typed = f"{draw(st.integers(low, high)) / 2:.1f}"
            return [TextInput(draw(st.sampled_from([typed, typed.replace(".", ",")])))]
        case StepKind.SCALE:
            point = str(draw(st.integers(int(step.min or 0), int(step.max or 0))))
            return [draw(st.sampled_from([ButtonPress(step.id, point), TextInput(point)]))]
        case StepKind.YES_NO:
            key = draw(st.sampled_from(["yes", "no"]))
            return [draw(st.sampled_from([ButtonPress(step.id, key), TextInput(key.upper())]))]
        case StepKind.DATE:
            day = draw(
                st.dates(step.min_date or dt.date(1900, 1, 1), step.max_date or dt.date(2100, 1, 1))
            )
            ways = [day.isoformat(), f"{day.day}.{day.month}.{day.year}", day.strftime("%d/%m/%Y")]
            return [TextInput(draw(st.sampled_from(ways)))]
        case StepKind.LOCATION:
            if step.allow_typed and draw(st.booleans()):
                return [TextInput("Nowa Wieś")]
            lat = draw(st.floats(-90, 90))
            return [LocationInput(lat, draw(st.floats(-180, 180)))]
        case StepKind.PHOTO:
            return [MediaInput("photo", "AgAD")]
        case StepKind.VOICE:
            return [MediaInput("voice", "AwAD", duration=draw(st.none() | st.integers(0, 600)))]
        case StepKind.CONTACT:
            return [ContactInput("+48600100200")]
        case StepKind.STATEMENTS:
            votes = [b.key for b in question.buttons if b.key[:1] in "adp" and b.key[1:]]
            return [ButtonPress(step.id, votes[0] if votes else DONE)]
    raise AssertionError(f"no question is of kind {step.kind}")


@SETTINGS
@given(st.data(), flows())
def test_a_citizen_who_answers_validly_always_reaches_the_end(data, flow):
    turn = start(flow, "en", texts=TEXTS)
    bound = 4 * len(flow.steps) + 5
    sent = 0
    while not turn.completed:
        step = flow.step(turn.state["current"])
        question = [m for m in turn.outputs if m.role == "question"][-1]
        for event in valid_reply(data, step, question):
            turn = advance(flow, turn.state, event, texts=TEXTS)
            check_turn(flow, turn)
            assert not [m for m in turn.outputs if m.role in ("hint", "notice")], turn.outputs
            sent += 1
        assert sent <= bound
    assert turn.state["status"] == "completed"
    assert turn.outputs[-1].role == "end"


def presets(flow: Flow) -> st.SearchStrategy[dict[Any, Any]]:
    """What a deep link might preset: real and unknown steps, real and foreign keys,
    and the odd non-string a broken adapter could pass."""
    ids = st.sampled_from([s.id for s in flow.steps]) | st.text(max_size=6)
    keys = st.sampled_from(["o0", "o1", "o3", "yes", SKIP, DONE, ""]) | st.text(max_size=6)
    return st.dictionaries(ids | st.integers(), keys | st.none() | st.integers(), max_size=4)


@SETTINGS
@given(st.data(), flows(), st.sampled_from(["en", "pl", "uk"]))
def test_no_preset_a_link_carries_breaks_the_engine(data, flow, language):
    preset = data.draw(presets(flow))
    turn = start(flow, language, texts=TEXTS, preset=preset)
    check_turn(flow, turn)
    if not valid_preset(flow, preset):
        # Nothing usable: the citizen is asked exactly as without a link.
        assert turn == start(flow, language, texts=TEXTS)
    for event in data.draw(st.lists(events(flow), max_size=15)):
        turn = advance(flow, turn.state, event, texts=TEXTS)
        check_turn(flow, turn)


@SETTINGS
@given(st.data(), flows())
def test_a_valid_preset_is_recorded_exactly_as_the_tap(data, flow):
    choices = [s for s in flow.questions if s.kind is StepKind.SINGLE_CHOICE]
    if not choices:
        return
    step = data.draw(st.sampled_from(choices))
    key = data.draw(st.sampled_from([o.key for o in step.options]))
    # The same citizen twice: once tapping `key` when asked, once with it preset.
    tapped = start(flow, "en", texts=TEXTS)
    preset = start(flow, "en", texts=TEXTS, preset={step.id: key})
    preset_records = [a for a in preset.answered if a.step_id == step.id]
    bound = 4 * len(flow.steps) + 5
    for _ in range(bound):
        without_preset = {k: v for k, v in preset.state.items() if k != "preset"}
        if tapped.state["current"] == step.id:
            assert preset.state["current"] != step.id  # never asked with the preset
            tapped = advance(flow, tapped.state, ButtonPress(step.id, key), texts=TEXTS)
            assert [a for a in tapped.answered if a.step_id == step.id] == preset_records
            continue
        assert without_preset == tapped.state
        if tapped.completed or tapped.state["status"] != "active":
            break
        question = [m for m in tapped.outputs if m.role == "question"][-1]
        for event in valid_reply(data, flow.step(tapped.state["current"]), question):
            tapped = advance(flow, tapped.state, event, texts=TEXTS)
            preset = advance(flow, preset.state, event, texts=TEXTS)
            check_turn(flow, preset)
            preset_records += [a for a in preset.answered if a.step_id == step.id]
    assert tapped.completed
