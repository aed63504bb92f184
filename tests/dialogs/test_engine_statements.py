"""Stories of a resident who votes on statements and picks the town's top three ideas.

A `statements` step shows one statement at a time on one message, edited in place,
with agree / disagree / pass, "add my own" and "go on"; the adapter's `Deck` says
which statements (storage's ids, best first). A `priorities` step offers the most
agreed ideas by number. Hypothesis drives random taps, texts and decks: nothing
raises, every vote names a statement on screen, and no statement is voted twice.
"""

from __future__ import annotations

import gettext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.engine import advance, start
from dialogs.events import (
    DONE,
    PROPOSE,
    UNDO,
    ButtonPress,
    CommandInput,
    Deck,
    Event,
    MediaInput,
    TextInput,
    Turn,
)
from dialogs.loader import check_flow
from dialogs.schema import Flow, parse_flow

TEXTS = gettext.NullTranslations()


def town_flow(**ideas: Any) -> Flow:
    return parse_flow(
        {
            "id": "town",
            "version": 1,
            "title": "What first?",
            "organisation": "Town hall",
            "languages": ["en"],
            "default_language": "en",
            "consent": "We keep your votes.",
            "steps": [
                {
                    "id": "ideas",
                    "kind": "statements",
                    "text": "Do you agree?",
                    "options": [
                        {"key": "buses", "label": "More evening buses."},
                        {"key": "benches", "label": "More benches on pavements."},
                    ],
                    **ideas,
                },
                {"id": "top", "kind": "priorities", "ideas_from": "ideas", "text": "Pick three."},
                {"id": "more", "kind": "yes_no", "text": "Stay in touch?"},
            ],
            "ends": [{"text": "Thank you."}],
        }
    )


DECK = Deck(
    order={"ideas": ("11", "12", "13"), "top": ("13", "11", "12", "14")},
    texts={"11": "Buses.", "12": "Benches.", "13": "Trees.", "14": "Lights."},
)


class Resident:
    def __init__(self, flow: Flow, deck: Deck | None = DECK) -> None:
        self.flow, self.deck = flow, deck
        self.turn = start(flow, "en", texts=TEXTS, deck=deck)
        self.state = self.turn.state

    def send(self, event: Event) -> Turn:
        self.turn = advance(self.flow, self.state, event, texts=TEXTS, deck=self.deck)
        self.state = self.turn.state
        return self.turn

    def taps(self, key: str, step: str | None = None) -> Turn:
        return self.send(ButtonPress(step or str(self.state["current"]), key))

    @property
    def question(self) -> Any:
        return [m for m in self.turn.outputs if m.role == "question"][-1]


def test_a_resident_votes_on_one_message_edited_in_place_and_counts_up():
    anna = Resident(town_flow())
    card = anna.question
    assert card.text.endswith("« Buses. »") and card.progress == (1, 3)
    assert [b.key for b in card.buttons] == ["a11", "d11", "p11", PROPOSE, DONE]
    turn = anna.taps("a11")
    assert [(v.statement_id, v.vote) for v in turn.votes] == [("11", 1)]
    assert anna.question.edit and anna.question.progress == (2, 3)
    assert anna.question.text.endswith("« Benches. »")
    anna.taps("d12")
    turn = anna.taps("p13")
    assert [(v.statement_id, v.vote) for v in turn.votes] == [("13", 0)]
    # The last one seen: the resident is offered to add their own before going on.
    assert "last statement" in anna.question.text
    turn = anna.taps(DONE)
    assert turn.answered[0].value == 3 and turn.answered[0].display == "3 statements"
    assert anna.state["current"] == "top"


def test_a_double_tap_on_a_statement_counts_once_and_says_nothing():
    ben = Resident(town_flow())
    ben.taps("a11")
    again = ben.taps("a11")
    assert again.votes == () and again.outputs == ()
    assert ben.state["shown"] == {"ideas": ["12"]}  # Benches stays on screen


def test_typed_words_vote_and_anything_else_gets_a_kind_hint():
    cleo = Resident(town_flow())
    assert [v.vote for v in cleo.send(TextInput("agree")).votes] == [1]
    assert [v.vote for v in cleo.send(TextInput("👎")).votes] == [-1]
    turn = cleo.send(TextInput("what is this?"))
    assert turn.votes == () and turn.outputs[0].role == "hint"
    assert "Add my own" in turn.outputs[0].text
    assert [v.vote for v in cleo.send(TextInput("no")).votes] == [-1]


def test_the_buttons_words_typed_add_an_idea_or_go_on():
    gil = Resident(town_flow())
    gil.send(TextInput("add my own"))
    assert "Write your idea" in gil.question.text
    gil.send(TextInput("Benches by the river"))
    turn = gil.send(TextInput("go on!"))
    assert turn.answered[0].step_id == "ideas" and gil.state["current"] == "top"


def test_a_resident_adds_an_idea_typed_or_spoken_and_goes_on_voting():
    dana = Resident(town_flow())
    dana.taps(PROPOSE)
    assert "Write your idea" in dana.question.text and dana.question.edit
    assert dana.send(TextInput("ok")).outputs[0].role == "hint"  # too short to be an idea
    turn = dana.send(TextInput("  A  pool   for the town "))
    assert [(p.step_id, p.text) for p in turn.proposals] == [("ideas", "A pool for the town")]
    assert dana.question.text.endswith("« Buses. »")  # back to the statement she was on
    turn = dana.send(MediaInput("voice", "voice-1", 7))
    assert [(p.voice_file_id, p.voice_duration) for p in turn.proposals] == [("voice-1", 7)]
    dana.taps(PROPOSE)
    dana.taps(UNDO)
    assert dana.question.text.endswith("« Buses. »")


def test_the_top_three_are_picked_by_number_or_typed_and_back_undoes_them():
    eve = Resident(town_flow())
    eve.taps(DONE)
    top = eve.question
    assert "1. Trees.\n2. Buses.\n3. Benches.\n4. Lights." in top.text
    assert [b.label for b in top.buttons] == ["1", "2", "3", "4"]
    eve.taps("12")
    eve.taps(UNDO)
    eve.taps("14")
    assert "✅ Lights." in eve.question.text
    eve.taps("13")
    turn = eve.taps("11")
    assert turn.answered[0].value == ["14", "13", "11"]
    eve.send(CommandInput("back"))
    assert eve.state["current"] == "top"
    turn = eve.send(TextInput("3, 1, 2"))
    assert turn.answered[0].value == ["12", "13", "11"]


def test_no_ideas_yet_passes_over_the_priorities_and_no_deck_uses_the_flows_seeds():
    empty = Deck(order={"ideas": ("11",), "top": ()}, texts={"11": "Buses."})
    fay = Resident(town_flow(allow_proposals=False), empty)
    turn = fay.taps("a11")
    assert fay.state["current"] == "more"
    assert [a.step_id for a in turn.answered] == ["ideas", "top"]
    simulated = Resident(town_flow(), deck=None)
    assert simulated.question.text.endswith("« More evening buses. »")
    assert [b.key for b in simulated.question.buttons][:3] == ["abuses", "dbuses", "pbuses"]


def test_the_flow_checks_name_a_priorities_step_without_its_statements():
    flow = town_flow()
    broken = flow.model_copy(
        update={"steps": [flow.steps[1].model_copy(update={"ideas_from": "nowhere"})]}
    )
    problems = check_flow(broken, "town.yaml")
    assert any("ideas_from 'nowhere' is not a statements step" in p.message for p in problems)
    with pytest.raises(ValueError, match="needs ideas_from"):
        parse_flow(
            {
                **flow.model_dump(mode="json", by_alias=True),
                "steps": [{"id": "top", "kind": "priorities", "text": "Pick."}],
            }
        )


EVENTS = st.one_of(
    st.builds(
        ButtonPress,
        st.sampled_from(["ideas", "top", "more", "other"]),
        st.sampled_from(["a11", "d12", "p13", "a99", "11", "13", PROPOSE, DONE, UNDO, "yes"]),
    ),
    st.builds(TextInput, st.text(max_size=30) | st.sampled_from(["agree", "1 2 3", "no"])),
    st.builds(MediaInput, st.just("voice"), st.just("v"), st.none()),
    st.builds(CommandInput, st.sampled_from(["back", "skip", "restart", "repeat"])),
)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(EVENTS, max_size=25), allow=st.booleans())
def test_random_inputs_never_raise_and_each_vote_is_for_the_statement_on_screen(events, allow):
    resident = Resident(town_flow(allow_proposals=allow))
    voted: list[str] = []
    for event in events:
        on_screen = resident.state.get("shown", {}).get("ideas", [])
        turn = resident.send(event)
        for vote in turn.votes:
            assert [vote.statement_id] == on_screen
            assert vote.statement_id not in voted or turn.restarted
            voted.append(vote.statement_id)
        if turn.restarted or "ideas" in turn.cleared:
            voted.clear()
        assert allow or not turn.proposals
        for message in turn.outputs:
            assert 0 < len(message.text) <= 4096
