"""Stories of consent per purpose in the engine: being contacted, being named."""

from __future__ import annotations

from dialogs.events import ConsentDecision, ContactInput
from dialogs.loader import check_flow
from dialogs.schema import parse_flow


def test_a_senior_who_says_no_to_contact_is_never_asked_for_her_phone(
    flow_data, make_citizen, quick
):
    flow = parse_flow(flow_data(contact_consent="Only the caretaker sees your number."))
    citizen = make_citizen(flow)
    citizen.answer_until("phone", quick)
    asked = citizen.question
    assert asked.step_id == "~contact"
    assert asked.text.startswith("Only the caretaker sees your number.")
    assert [b.key for b in asked.buttons] == ["yes", "no"]
    turn = citizen.taps("no", "~contact")
    assert turn.consents == (ConsentDecision("contact", False, "~contact", "No"),)
    assert turn.answered == ()
    assert citizen.current == "priorities"
    assert "phone" not in citizen.state["answers"]
    assert citizen.state["consents"] == {"contact": False}


def test_a_phone_shared_before_agreeing_is_not_taken(flow_data, make_citizen, quick):
    citizen = make_citizen(parse_flow(flow_data()))
    citizen.answer_until("phone", quick)
    turn = citizen.send(ContactInput("+48600100200"))
    assert turn.answered == ()
    assert [m.role for m in turn.outputs] == ["hint", "question"]
    assert citizen.question.step_id == "~contact"


def test_agreeing_to_contact_asks_for_the_phone_and_skip_means_no(flow_data, make_citizen, quick):
    citizen = make_citizen(parse_flow(flow_data()))
    citizen.answer_until("phone", quick)
    turn = citizen.types("yes")
    assert turn.consents[0].granted is True
    assert citizen.question.step_id == "phone"
    other = make_citizen(parse_flow(flow_data()))
    other.answer_until("phone", quick)
    turn = other.command("skip")
    assert turn.consents[0].granted is False
    assert other.current == "priorities"


def test_restarting_asks_the_contact_consent_again(flow_data, make_citizen, quick):
    citizen = make_citizen(parse_flow(flow_data()))
    citizen.answer_until("phone", quick)
    citizen.taps("no", "~contact")
    citizen.command("restart")
    assert "consents" not in citizen.state
    citizen.answer_until("phone", quick)
    assert citizen.question.step_id == "~contact"  # asked again


def test_the_naming_consent_is_asked_before_the_first_question(flow_data, make_citizen):
    flow = parse_flow(flow_data(name_consent="Your name helps the co-op write back to you."))
    citizen = make_citizen(flow)
    first = citizen.question
    assert first.step_id == "~named"
    assert first.text.startswith("Your name helps the co-op")
    turn = citizen.taps("yes", "~named")
    assert turn.consents == (ConsentDecision("named", True, "~named", "Yes"),)
    assert citizen.question.step_id == "age"
    citizen.types("72")
    citizen.command("back")
    assert citizen.question.step_id == "age"  # decided once per run


def test_a_location_marked_contact_data_needs_contact_consent_at_load(flow_data):
    data = flow_data()
    data["steps"] = [
        {"id": "home", "kind": "location", "text": "Where do you live?", "contact_data": True}
    ]
    data["ends"] = [{"text": "Thanks."}]
    problems = check_flow(parse_flow(data), "home.yaml")
    assert any("contact_data needs contact_consent" in str(p) for p in problems)
    data["contact_consent"] = "We visit you at home."
    problems = check_flow(parse_flow(data), "home.yaml")
    assert not any("contact_data needs" in str(p) for p in problems)
    assert parse_flow(data).steps[0].purpose == "contact"


def test_a_contact_consent_withdrawn_at_the_phone_question_passes_over_it(
    flow_data, make_citizen, quick
):
    citizen = make_citizen(parse_flow(flow_data()))
    citizen.answer_until("phone", quick)
    citizen.taps("yes", "~contact")
    assert citizen.question.step_id == "phone"
    # /consents withdrew it meanwhile (konsulta/consents.py marks the state).
    citizen.state["consents"]["contact"] = False
    turn = citizen.send(ContactInput("+48600100200"))
    assert turn.answered == ()
    assert citizen.current == "priorities"
