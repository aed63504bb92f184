"""Stories of citizens talking to the dialog engine, one behaviour per story."""

from __future__ import annotations

import copy
import datetime as dt
import json

from dialogs.engine import advance, start
from dialogs.events import (
    DONE,
    SKIP,
    UNDO,
    AnswerRecord,
    ButtonPress,
    CommandInput,
    ContactInput,
    LocationInput,
    MediaInput,
    TextInput,
)
from dialogs.schema import parse_flow


def test_a_senior_is_greeted_then_asked_the_first_question(citizen):
    turn = citizen.turn
    assert [m.role for m in turn.outputs] == ["say", "question"]
    assert turn.outputs[0].text == "Hello! A few questions about where you live."
    age = turn.outputs[1]
    assert age.step_id == "age"
    assert age.expects == "number"
    assert age.progress == (1, 12)
    assert age.buttons == ()
    assert not age.allow_skip
    assert turn.state["status"] == "active"
    assert turn.state["current"] == "age"


def test_a_senior_who_types_abc_to_the_age_question_is_asked_again_kindly(citizen):
    turn = citizen.types("abc")
    assert citizen.roles() == ["hint", "question"]
    assert turn.outputs[0].text == "Please send a whole number between 50 and 120."
    assert turn.outputs[1].text == "How old are you?"
    assert turn.answered == ()
    assert citizen.current == "age"


def test_a_sticker_where_a_number_was_asked_is_a_short_hint_not_a_crash(citizen):
    turn = citizen.send(MediaInput("sticker", "CAACAgIAAx"))
    # the question is just above: only the hint, not the whole question again
    assert citizen.roles() == ["hint"]
    assert "number" in turn.outputs[0].text
    assert turn.answered == () and citizen.current == "age"


def test_an_age_out_of_range_is_refused_and_a_good_one_recorded(citizen):
    citizen.types("7")
    assert citizen.roles() == ["hint", "question"]
    turn = citizen.types(" 72 ")
    assert turn.answered == (AnswerRecord("age", 72, "72"),)
    area = citizen.question
    assert area.step_id == "area"
    assert area.progress == (2, 12)
    assert [(b.key, b.label) for b in area.buttons] == [
        ("centre", "🏙 City centre"),
        ("village", "Village"),
        ("other", "Somewhere else"),
    ]


def test_single_choice_takes_a_button_the_label_typed_or_its_number(flow, make_citizen):
    for reply in [ButtonPress("area", "village"), TextInput("  VILLAGE "), TextInput("2")]:
        citizen = make_citizen(flow)
        citizen.types("72")
        turn = citizen.send(reply)
        assert turn.answered == (AnswerRecord("area", "village", "Village"),)
    citizen = make_citizen(flow)
    citizen.types("72")
    turn = citizen.types("4")
    assert turn.outputs[0].text == "Please choose one of the buttons below."


def test_multiple_choice_toggles_edit_the_keyboard_until_done(citizen, quick):
    citizen.answer_until("needs", quick)
    question = citizen.question
    assert [b.key for b in question.buttons] == ["lift", "garden", "bus", DONE]
    assert question.buttons[-1].label == "Done"

    turn = citizen.taps("lift")
    assert citizen.roles() == ["question"]
    assert turn.outputs[0].edit
    assert [b.selected for b in turn.outputs[0].buttons] == [True, False, False, False]

    citizen.taps("bus")
    citizen.taps("lift")  # changed her mind
    citizen.taps("garden")
    turn = citizen.taps("lift")  # a third pick is one too many
    assert turn.outputs[0].role == "hint"
    assert turn.outputs[0].text == "Please choose no more than 2 options."
    assert [b.selected for b in citizen.question.buttons] == [False, True, True, False]

    turn = citizen.taps(DONE)
    assert turn.answered == (AnswerRecord("needs", ["garden", "bus"], "A garden, A bus stop"),)


def test_done_without_any_pick_on_a_required_question_asks_for_one(citizen, quick):
    citizen.answer_until("needs", quick)
    turn = citizen.taps(DONE)
    assert turn.outputs[0].text == "Please choose at least 1 option."
    assert citizen.current == "needs"


def test_multiple_choice_can_be_typed_as_numbers(citizen, quick):
    citizen.answer_until("needs", quick)
    turn = citizen.types("3 1")
    assert turn.answered[0].value == ["lift", "bus"]


def test_the_scale_shows_its_end_labels_and_a_low_mark_leads_to_why(citizen, quick):
    citizen.answer_until("rating", quick)
    rating = citizen.question
    assert "1 = very bad … 5 = very good" in rating.text
    assert [b.label for b in rating.buttons] == ["1", "2", "3", "4", "5"]
    citizen.taps("2")
    why = citizen.question
    assert why.text == "You gave 2. What is wrong?"
    assert why.allow_skip
    assert why.buttons[-1].key == SKIP
    assert why.buttons[-1].label == "Skip"


def test_a_good_mark_skips_the_why_question(citizen, quick):
    citizen.answer_until("rating", quick)
    turn = citizen.types("4")
    assert turn.answered == (AnswerRecord("rating", 4, "4"),)
    assert citizen.current == "wants_call"


def test_a_scale_with_emoji_shows_them_on_the_buttons(make_citizen, flow_data):
    data = flow_data()
    data["steps"][4]["emoji"] = ["😠", "🙁", "😐", "🙂", "😀"]
    citizen = make_citizen(parse_flow(data))
    citizen.types("72")
    citizen.taps("village")
    citizen.types("1")
    assert [b.label for b in citizen.question.buttons][:2] == ["😠", "🙁"]


def test_an_optional_question_can_be_skipped(citizen, quick):
    citizen.answer_until("why_low", quick)
    turn = citizen.taps(SKIP)
    assert turn.answered == (AnswerRecord("why_low", None, "", skipped=True),)
    assert citizen.current == "wants_call"


def test_a_required_question_cannot_be_skipped(citizen):
    turn = citizen.command("skip")
    assert citizen.roles() == ["notice", "question"]
    assert turn.outputs[0].text == "This question needs an answer."
    assert citizen.current == "age"


def test_yes_or_no_by_button_or_typed(flow, make_citizen, quick):
    for reply, value in [("Yes", True), ("no", False), ("1", True), ("N", False)]:
        citizen = make_citizen(flow)
        citizen.answer_until("wants_call", quick)
        assert [b.key for b in citizen.question.buttons] == ["yes", "no"]
        turn = citizen.types(reply)
        assert turn.answered[0].value is value
    citizen = make_citizen(flow)
    citizen.answer_until("wants_call", quick)
    turn = citizen.types("maybe")
    assert turn.outputs[0].text == "Please answer yes or no with the buttons below."


def test_a_forwarded_contact_is_refused_and_her_own_number_kept(citizen, quick):
    citizen.answer_until("phone", quick)
    citizen.taps("yes", "~contact")
    assert citizen.question.expects == "contact"
    turn = citizen.send(ContactInput("+48111", own=False))
    assert turn.outputs[0].role == "hint"
    turn = citizen.send(ContactInput("+48600100200"))
    assert turn.answered == (AnswerRecord("phone", {"phone": "+48600100200"}, "+48600100200"),)


def test_ranking_presses_build_an_order_that_undo_can_correct(citizen, quick):
    citizen.answer_until("priorities", quick)
    turn = citizen.taps("health")
    question = turn.outputs[0]
    assert question.edit
    assert "1. Health" in question.text
    assert [b.key for b in question.buttons] == ["housing", "transport", UNDO]
    citizen.taps(UNDO)
    assert [b.key for b in citizen.question.buttons] == ["housing", "transport", "health"]
    citizen.taps("transport")
    turn = citizen.taps("housing")
    assert turn.answered == (
        AnswerRecord("priorities", ["transport", "housing"], "1. Transport, 2. Housing"),
    )


def test_a_ranked_option_pressed_again_is_an_old_button(citizen, quick):
    citizen.answer_until("priorities", quick)
    citizen.taps("health")
    turn = citizen.taps("health")
    assert citizen.roles() == ["notice", "question"]
    assert turn.answered == ()


def test_ranking_can_be_typed(citizen, quick):
    citizen.answer_until("priorities", quick)
    assert citizen.types("3, 1").answered[0].value == ["health", "housing"]


def test_dates_are_read_in_every_usual_way_and_checked(flow, make_citizen, quick):
    for typed in ["7.12.2026", "07/12/2026", "2026-12-07"]:
        citizen = make_citizen(flow)
        citizen.answer_until("moved", quick)
        turn = citizen.types(typed)
        # shown back as the citizen's language writes dates (tests/i18n has them all)
        assert turn.answered == (AnswerRecord("moved", "2026-12-07", "7 December 2026"),)
    turn = citizen.command("back")
    turn = citizen.types("1.1.2027")
    assert turn.outputs[0].text == (
        "Please send a date on or before 31 December 2026, for example 31.12.2026."
    )


def test_a_location_with_impossible_coordinates_is_refused(citizen, quick):
    citizen.answer_until("place", quick)
    for lat, lon in [(float("nan"), 1.0), (float("inf"), 0.0), (91.0, 0.0)]:
        turn = citizen.send(LocationInput(lat, lon))
        assert citizen.roles() == ["hint", "question"]
    turn = citizen.send(LocationInput(52.23, 21.01))
    assert turn.answered[0].value == {"lat": 52.23, "lon": 21.01}


def test_a_place_can_be_typed_instead_of_shared(citizen, quick):
    citizen.answer_until("place", quick)
    assert citizen.types(" Nowa Wieś ").answered[0].value == {"place": "Nowa Wieś"}


def test_photo_and_voice_questions_take_media(citizen, quick):
    citizen.answer_until("photo", quick)
    turn = citizen.types("here it is")
    assert turn.outputs[0].text == "Please send a photo."
    turn = citizen.send(MediaInput("photo", "AgAD1"))
    assert turn.answered[0].value == {"photo": "AgAD1"}
    turn = citizen.send(MediaInput("voice", "AwAD2", duration=12))
    assert turn.answered[0].value == {"voice": "AwAD2", "duration": 12}
    assert turn.completed


def test_free_text_also_takes_a_voice_note(citizen, quick):
    citizen.answer_until("why_low", quick)
    turn = citizen.send(MediaInput("voice", "AwAD9", duration=3))
    assert turn.answered[0].value == {"voice": "AwAD9", "duration": 3}
    assert turn.answered[0].display == "Voice note"


def test_back_returns_to_the_previous_question_and_clears_its_answer(citizen):
    citizen.types("72")
    turn = citizen.command("back")
    assert citizen.roles() == ["question"]
    assert citizen.current == "age"
    assert turn.cleared == ("age",)
    assert turn.state["answers"] == {}
    turn = citizen.command("back")
    assert citizen.roles() == ["notice", "question"]
    assert turn.outputs[0].text == "You are at the first question."


def test_back_after_a_branch_forgets_the_branch(citizen, quick):
    citizen.answer_until("wants_call", quick)  # rating 2 went through why_low
    citizen.command("back")
    assert citizen.current == "why_low"
    citizen.command("back")
    turn = citizen.taps("5")
    assert citizen.current == "wants_call"
    assert "why_low" not in turn.state["answers"]


def test_an_old_button_is_ignored_and_never_overwrites_an_answer(citizen, quick):
    citizen.answer_until("needs", quick)
    turn = citizen.send(ButtonPress("area", "centre"))
    assert citizen.roles() == ["notice", "question"]
    assert turn.outputs[0].text == (
        "That button belongs to an earlier question. Here is the current one."
    )
    assert turn.answered == ()
    assert turn.state["answers"]["area"]["value"] == "village"
    turn = citizen.send(ButtonPress("needs", "unknown"))
    assert citizen.roles() == ["notice", "question"]


def test_restart_clears_everything_and_starts_again(citizen, quick):
    citizen.answer_until("needs", quick)
    turn = citizen.command("restart")
    assert turn.restarted
    assert turn.cleared == ("age", "area")
    assert citizen.roles() == ["say", "question"]
    assert turn.state["answers"] == {}
    assert turn.state["history"] == []


def test_repeat_shows_the_current_question_again(citizen, quick):
    citizen.answer_until("needs", quick)
    citizen.taps("bus")
    turn = citizen.command("repeat")
    assert citizen.roles() == ["question"]
    assert not turn.outputs[0].edit
    assert [b.selected for b in turn.outputs[0].buttons] == [False, False, True, False]


def test_the_end_message_depends_on_the_answers(flow, make_citizen, quick):
    citizen = make_citizen(flow)
    citizen.answer_until("story", quick)
    turn = citizen.command("skip")
    assert turn.completed
    assert turn.outputs[-1].role == "end"
    assert turn.outputs[-1].text == "Thank you! We will call."
    assert turn.state["status"] == "completed"
    assert turn.state["current"] is None

    citizen = make_citizen(flow)
    replies = dict(quick, wants_call=lambda c: c.taps("no"))
    citizen.answer_until("story", replies)
    turn = citizen.command("skip")
    assert turn.outputs[-1].text == "Thank you, you are 72 and your voice counts."


def test_after_the_end_every_input_gets_a_kind_notice(citizen, quick):
    citizen.answer_until("story", quick)
    citizen.command("skip")
    for event in [TextInput("hello"), CommandInput("back"), ButtonPress("story", SKIP)]:
        turn = citizen.send(event)
        assert citizen.roles() == ["notice"]
        assert turn.outputs[0].text == "This consultation is finished. Thank you for taking part."
        assert not turn.completed


def test_the_custom_error_text_of_a_step_is_used(make_citizen, flow_data):
    data = flow_data()
    data["steps"][1]["error"] = "Just the number of years, like 75, please."
    citizen = make_citizen(parse_flow(data))
    turn = citizen.types("old enough")
    assert turn.outputs[0].text == "Just the number of years, like 75, please."


def test_answers_that_look_like_templates_are_shown_literally(make_citizen, flow_data):
    data = flow_data()
    data["steps"][5]["text"] = "You said {{why_low}} ({0.__class__} {{}})"
    data["steps"].insert(6, {"id": "echo", "kind": "message", "text": "Noted: {{why_low}}"})
    citizen = make_citizen(parse_flow(data))
    citizen.types("72")
    citizen.taps("village")
    citizen.types("1")
    citizen.taps("1")
    assert citizen.question.text == "You said  ({0.__class__} {{}})"
    turn = citizen.types("{0.__class__} {{age}} {}")
    assert turn.outputs[0].text == "Noted: {0.__class__} {{age}} {}"


def test_the_state_survives_json_and_is_never_modified_in_place(citizen, texts):
    before = copy.deepcopy(citizen.state)
    stored = json.loads(json.dumps(citizen.state))
    turn = advance(citizen.flow, stored, TextInput("72"), texts=texts)
    assert citizen.state == before
    assert stored == before
    assert json.loads(json.dumps(turn.state)) == turn.state
    assert turn.state["answers"]["age"] == {"value": 72, "display": "72", "skipped": False}


def test_a_citizen_mid_way_through_version_1_finishes_version_1(
    flow, quick, make_citizen, texts, flow_data
):
    citizen = make_citizen(flow)
    citizen.answer_until("rating", quick)
    version_2 = parse_flow(
        flow_data(version=2, steps=[{"id": "q", "kind": "text", "text": "New?"}])
    )
    published = {(flow.id, 1): flow, (flow.id, 2): version_2}

    # The adapter loads the version the state pins, not the newest one.
    pinned = published[(citizen.state["flow_id"], citizen.state["version"])]
    turn = advance(pinned, citizen.state, ButtonPress("rating", "4"), texts=texts)
    assert turn.answered[0].step_id == "rating"
    assert turn.state["version"] == 1

    # Given the wrong version by mistake, the engine says so kindly and changes nothing.
    wrong = advance(version_2, citizen.state, ButtonPress("rating", "4"), texts=texts)
    assert [m.role for m in wrong.outputs] == ["notice"]
    assert wrong.state == citizen.state
    assert wrong.answered == ()


def test_a_broken_state_gets_a_notice_not_a_crash(flow, texts):
    for state in [
        {},
        {"flow_id": flow.id},
        {**start(flow, "en", texts=texts).state, "current": "x"},
    ]:
        turn = advance(flow, state, TextInput("72"), texts=texts)
        assert [m.role for m in turn.outputs] == ["notice"]


def test_a_closed_consultation_does_not_start(flow, texts, flow_data):
    data = flow_data(closes="2026-01-31")
    closed = parse_flow(data)
    turn = start(closed, "en", texts=texts, today=dt.date(2026, 2, 1))
    assert [m.role for m in turn.outputs] == ["notice"]
    assert turn.state["status"] == "closed"
    again = advance(closed, turn.state, TextInput("72"), texts=texts)
    assert [m.role for m in again.outputs] == ["notice"]
    assert start(closed, "en", texts=texts, today=dt.date(2026, 1, 31)).state["current"] == "age"


def test_the_flow_speaks_the_citizens_language(flow, make_citizen):
    citizen = make_citizen(flow, "pl")
    assert citizen.turn.outputs[0].text == "Dzień dobry!"
    assert citizen.state["language"] == "pl"
    assert make_citizen(flow, "uk").state["language"] == "en"


def test_long_answers_never_make_a_message_too_long_for_telegram(make_citizen, flow_data):
    data = flow_data()
    data["steps"][5]["text"] = "{{why_low}}"
    data["steps"].insert(6, {"id": "echo", "kind": "message", "text": "{{why_low}} " * 3})
    citizen = make_citizen(parse_flow(data))
    citizen.types("72")
    citizen.taps("village")
    citizen.types("1")
    citizen.taps("1")
    assert citizen.question.text == "…"  # nothing to echo yet
    turn = citizen.types("x" * 4000)
    assert all(0 < len(m.text) <= 4096 for m in turn.outputs)


def reach_the_phone_question(citizen, quick):
    """Up to the phone question, past the contact consent asked before it."""
    citizen.answer_until("phone", quick)
    if citizen.question.step_id == "~contact":
        citizen.taps("yes", "~contact")
    assert citizen.question.step_id == "phone"


def test_a_phone_number_typed_on_a_contact_step_is_stored_in_e164(citizen, quick):
    reach_the_phone_question(citizen, quick)
    turn = citizen.types("call my neighbour")
    assert [m.role for m in turn.outputs] == ["hint", "question"]
    assert "512 345 678" in turn.outputs[0].text
    turn = citizen.types("600 123 456")
    assert turn.answered == (AnswerRecord("phone", {"phone": "+48600123456"}, "+48600123456"),)


def test_skip_typed_back_from_the_request_keyboard_skips_an_optional_contact_step(
    flow_data, make_citizen, quick
):
    data = flow_data()
    for step in data["steps"]:
        if step["id"] == "phone":
            step["required"] = False
    citizen = make_citizen(parse_flow(data))
    reach_the_phone_question(citizen, quick)
    assert citizen.question.allow_skip
    turn = citizen.types("skip!")
    assert turn.answered == (AnswerRecord("phone", None, "", skipped=True),)


def test_a_flow_may_dial_typed_numbers_from_another_country(flow_data, make_citizen, quick):
    citizen = make_citizen(parse_flow(flow_data(phone_region="UA")))
    reach_the_phone_question(citizen, quick)
    turn = citizen.types("067 123 4567")
    assert turn.answered[0].value == {"phone": "+380671234567"}
