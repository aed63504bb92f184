"""The CoSIE case-study templates (issue 20) a municipality and its NGOs get out of the
box, and the feedback on a contracted service: each one checks clean, speaks all
twelve languages in full, and is played to its end by three residents, in Polish,
Arabic and Ukrainian, each down a different branch and each hearing the end message
meant for them.

To add a template: name it in TEMPLATES and give it three journeys in JOURNEYS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dialogs.events import ContactInput, MediaInput, Turn
from dialogs.loader import check_flow_file, load_flow
from dialogs.schema import Condition, Flow
from konsulta.settings import Settings

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
TWELVE = {"pl", "en", "uk", "ru", "et", "es", "hu", "nl", "it", "sv", "fi", "ar"}
TEMPLATES = [
    "rural-household",
    "social-services-redesign",
    "after-prison",
    "disability-services",
    "child-health",
    "service-feedback",
]
Reply = Callable[[Any], Turn]


def shares_a_phone(citizen: Any) -> Turn:
    # The contact consent is asked first; agreeing shows the phone question itself.
    if citizen.question.step_id == "~contact":
        return citizen.taps("yes", "~contact")
    return citizen.send(ContactInput("+48600123456"))


@dataclass(frozen=True)
class Journey:
    """One resident's way through a template: a reply for every question they are
    asked, the words their end message holds and the questions they never see."""

    template: str
    language: str
    who: str
    replies: dict[str, Reply]
    ends_with: str
    never_asked: set[str] = field(default_factory=set)
    answers: dict[str, Any] = field(default_factory=dict)


JOURNEYS = [
    Journey(
        "rural-household",
        "pl",
        "a farming family that finds ends hard to meet hears where to get help now",
        {
            "household": lambda c: c.taps("generations"),
            "farm": lambda c: c.taps("main"),
            "farm_kind": lambda c: c.taps("livestock"),
            "income": lambda c: c.taps("under_3k"),
            "strains": lambda c: c.types("1,4,5"),
            "seasonal": lambda c: c.taps("abroad"),
            "off_season": lambda c: c.types("2,3"),
            "transport": lambda c: c.taps("lift"),
            "services_hard": lambda c: c.types("1,6"),
            "make_ends": lambda c: c.taps("2"),
            "cut_back": lambda c: c.types("1,3"),
            "support": lambda c: c.types("2,3,5"),
            "one_change": lambda c: c.types("Autobus do miasta także w soboty"),
            "meeting": lambda c: c.taps("yes"),
        },
        "Gminnego Ośrodka Pomocy Społecznej",
        answers={"income": "under_3k", "off_season": ["family", "borrowing"]},
    ),
    Journey(
        "rural-household",
        "ar",
        "a family without a farm or seasonal work, managing fine, asks for the meeting",
        {
            "household": lambda c: c.taps("children"),
            "farm": lambda c: c.taps("no"),
            "income": lambda c: c.command("skip"),
            "strains": lambda c: c.types("1,7"),
            "seasonal": lambda c: c.taps("no"),
            "transport": lambda c: c.taps("bus"),
            "services_hard": lambda c: c.command("skip"),
            "make_ends": lambda c: c.taps("4"),
            "support": lambda c: c.types("1,7"),
            "one_change": lambda c: c.command("skip"),
            "meeting": lambda c: c.taps("yes"),
        },
        "سنرسل الدعوة إلى الاجتماع في قاعة القرية",
        never_asked={"farm_kind", "off_season", "cut_back"},
        answers={"income": None},
    ),
    Journey(
        "rural-household",
        "uk",
        "a couple working in town in season, getting by, hears about next year's plan",
        {
            "household": lambda c: c.taps("couple"),
            "farm": lambda c: c.taps("side"),
            "farm_kind": lambda c: c.taps("own_use"),
            "income": lambda c: c.taps("varies"),
            "strains": lambda c: c.types("3"),
            "seasonal": lambda c: c.taps("city"),
            "off_season": lambda c: c.types("1"),
            "transport": lambda c: c.taps("own_car"),
            "services_hard": lambda c: c.types("4"),
            "make_ends": lambda c: c.taps("3"),
            "cut_back": lambda c: c.types("5"),
            "support": lambda c: c.types("6"),
            "one_change": lambda c: c.types("Більше роботи взимку"),
            "meeting": lambda c: c.taps("no"),
        },
        "Дякуємо! На основі відповідей гміна та асоціація підготують план підтримки",
    ),
    Journey(
        "social-services-redesign",
        "pl",
        "a carer who waits long and met disrespect signs up for the workshop by phone",
        {
            "services": lambda c: c.types("2,7"),
            "for_whom": lambda c: c.taps("relative"),
            "overall": lambda c: c.taps("2"),
            "works": lambda c: c.types("3"),
            "hard": lambda c: c.types("1,4,7"),
            "wait_time": lambda c: c.taps("longer"),
            "respect": lambda c: c.taps("2"),
            "respect_story": lambda c: c.types("Usłyszałam, że przesadzam z potrzebami mamy"),
            "change_first": lambda c: c.taps("one_person"),
            "how_contact": lambda c: c.types("2,4"),
            "workshop": lambda c: c.taps("yes"),
            "workshop_needs": lambda c: c.types("2"),
            "phone": shares_a_phone,
            "one_more": lambda c: c.command("skip"),
        },
        "zadzwoni w ciągu dwóch tygodni",
        answers={"hard": ["waiting", "respect", "retelling"], "phone": {"phone": "+48600123456"}},
    ),
    Journey(
        "social-services-redesign",
        "ar",
        "someone treated well who keeps their number wants to hear more about the workshop",
        {
            "services": lambda c: c.types("1,5"),
            "for_whom": lambda c: c.taps("family"),
            "overall": lambda c: c.taps("4"),
            "works": lambda c: c.types("1,4"),
            "hard": lambda c: c.command("skip"),
            "respect": lambda c: c.taps("5"),
            "change_first": lambda c: c.taps("hours"),
            "how_contact": lambda c: c.types("1"),
            "workshop": lambda c: c.taps("maybe"),
            "workshop_needs": lambda c: c.types("4"),
            "phone": lambda c: c.taps("no", "~contact"),
            "one_more": lambda c: c.types("مترجم في المركز"),
        },
        "سنرسل الدعوة إلى ورشة العمل",
        never_asked={"wait_time", "respect_story"},
    ),
    Journey(
        "social-services-redesign",
        "uk",
        "a mother tired of forms, not up for a workshop, hears which changes come first",
        {
            "services": lambda c: c.types("1,3"),
            "for_whom": lambda c: c.taps("child"),
            "overall": lambda c: c.taps("3"),
            "works": lambda c: c.command("skip"),
            "hard": lambda c: c.types("2,3"),
            "respect": lambda c: c.taps("1"),
            "respect_story": lambda c: c.command("skip"),
            "change_first": lambda c: c.taps("simpler_forms"),
            "how_contact": lambda c: c.types("3"),
            "workshop": lambda c: c.taps("no"),
            "one_more": lambda c: c.command("skip"),
        },
        "Дякуємо! На основі відповідей центр і асоціація виберуть перші зміни",
        never_asked={"wait_time", "workshop_needs", "phone"},
    ),
    Journey(
        "after-prison",
        "pl",
        "a man leaving prison soon, with nowhere to live, asks the association to call",
        {
            "situation": lambda c: c.taps("soon_out"),
            "release_day": lambda c: c.types("1,3"),
            "needs": lambda c: c.types("1,2"),
            "housing": lambda c: c.taps("none"),
            "work": lambda c: c.taps("looking"),
            "work_barriers": lambda c: c.types("1,6"),
            "offices": lambda c: c.taps("2"),
            "offices_where": lambda c: c.types("1,2"),
            "trust": lambda c: c.taps("peer"),
            "priorities": lambda c: c.types("1,2,3"),
            "one_thing": lambda c: c.types("Pomógł mi kolega, który sam siedział"),
            "wants_contact": lambda c: c.taps("yes"),
            "phone": shares_a_phone,
            "contact_time": lambda c: c.taps("evening"),
        },
        "Pracownik stowarzyszenia odezwie się w ciągu kilku dni (pora: Wieczorem)",
        answers={"work_barriers": ["record", "rejected"], "phone": {"phone": "+48600123456"}},
    ),
    Journey(
        "after-prison",
        "uk",
        "a woman skips what she would rather not say and stays anonymous",
        {
            "situation": lambda c: c.command("skip"),
            "needs": lambda c: c.command("skip"),
            "housing": lambda c: c.command("skip"),
            "work": lambda c: c.command("skip"),
            "offices": lambda c: c.taps("4"),
            "trust": lambda c: c.command("skip"),
            "priorities": lambda c: c.command("skip"),
            "one_thing": lambda c: c.command("skip"),
            "wants_contact": lambda c: c.taps("no"),
        },
        "Дякуємо! На основі анкет місто й організація спланують допомогу",
        never_asked={"release_day", "work_barriers", "offices_where", "phone", "contact_time"},
        answers={"situation": None},
    ),
    Journey(
        "after-prison",
        "ar",
        "someone in a night shelter, with a job, hears that housing is urgent",
        {
            "situation": lambda c: c.taps("out_recent"),
            "needs": lambda c: c.types("1,3"),
            "housing": lambda c: c.taps("shelter"),
            "work": lambda c: c.taps("working"),
            "offices": lambda c: c.taps("5"),
            "trust": lambda c: c.taps("ngo"),
            "priorities": lambda c: c.types("2,3,5"),
            "one_thing": lambda c: c.types("مترجم في مركز الرعاية"),
            "wants_contact": lambda c: c.taps("no"),
        },
        "عدم وجود مكان ثابت للسكن أمر عاجل",
        never_asked={"release_day", "work_barriers", "offices_where", "phone"},
        answers={"housing": "shelter"},
    ),
    Journey(
        "disability-services",
        "pl",
        "a woman with too few assistance hours, rarely asked about them, is invited to talk",
        {
            "who_answers": lambda c: c.taps("self"),
            "age": lambda c: c.taps("adult"),
            "assistance": lambda c: c.taps("too_few"),
            "assistance_for": lambda c: c.types("1,2"),
            "assistance_choice": lambda c: c.taps("office"),
            "going_out": lambda c: c.taps("door_to_door"),
            "transport_problems": lambda c: c.types("1,2"),
            "decisions": lambda c: c.taps("2"),
            "decisions_help": lambda c: c.types("1,5"),
            "priorities": lambda c: c.types("1,3,5"),
            "comment": lambda c: c.types("Przewóz w weekend"),
        },
        "ośrodek zaprosi osoby z niepełnosprawnością na spotkanie",
        never_asked={"carer_note", "care_hours", "respite", "respite_form"},
        answers={"transport_problems": ["booking", "hours"]},
    ),
    Journey(
        "disability-services",
        "ar",
        "a mother answers for her son and has never heard of respite care",
        {
            "who_answers": lambda c: c.taps("carer"),
            "age": lambda c: c.taps("child"),
            "assistance": lambda c: c.taps("not_needed"),
            "going_out": lambda c: c.taps("family_car"),
            "decisions": lambda c: c.taps("4"),
            "priorities": lambda c: c.types("2,3,1"),
            "care_hours": lambda c: c.taps("all_day"),
            "respite": lambda c: c.taps("unaware"),
            "respite_form": lambda c: c.types("1,4"),
            "comment": lambda c: c.command("skip"),
        },
        "معلومات عن كيفية طلب الرعاية المؤقتة البديلة",
        never_asked={"assistance_for", "assistance_choice", "transport_problems"},
        answers={"respite_form": ["hours_home", "emergency"]},
    ),
    Journey(
        "disability-services",
        "uk",
        "an older man answers with his daughter's help and is always asked",
        {
            "who_answers": lambda c: c.taps("with_help"),
            "age": lambda c: c.taps("senior"),
            "assistance": lambda c: c.taps("enough"),
            "assistance_for": lambda c: c.types("3"),
            "assistance_choice": lambda c: c.taps("person"),
            "going_out": lambda c: c.taps("alone"),
            "transport_problems": lambda c: c.command("skip"),
            "decisions": lambda c: c.taps("5"),
            "priorities": lambda c: c.types("4,6,5"),
            "comment": lambda c: c.types("Усе добре, дякую"),
        },
        "Дякуємо! Результати й план послуг на наступний рік",
        never_asked={"carer_note", "decisions_help", "care_hours", "respite"},
        answers={"decisions": 5},
    ),
    Journey(
        "child-health",
        "pl",
        "a mother with no safe playground nearby names her neighbourhood, not her address",
        {
            "ages": lambda c: c.types("2,3"),
            "family_meals": lambda c: c.taps("weekly"),
            "cooking_hard": lambda c: c.types("1,2"),
            "sweet_drinks": lambda c: c.taps("weekly"),
            "active_days": lambda c: c.taps("2_3"),
            "screens": lambda c: c.taps("2_4h"),
            "play_barriers": lambda c: c.types("1,4"),
            "where_to_play": lambda c: c.types("Osiedle Niepodległości, przy ul. Szczecińskiej"),
            "school_lunch": lambda c: c.taps("yes"),
            "school_food": lambda c: c.taps("2"),
            "school_food_why": lambda c: c.types("1,5"),
            "help": lambda c: c.types("2,4,7"),
            "one_change": lambda c: c.types("Przejście dla pieszych przy szkole"),
        },
        "Miejsca wskazane przez rodziców trafią do planu placów zabaw",
        answers={"ages": ["3_6", "7_10"], "school_food_why": ["unhealthy", "no_water"]},
    ),
    Journey(
        "child-health",
        "ar",
        "a father whose children eat at home asks for the family cooking workshops",
        {
            "ages": lambda c: c.types("4"),
            "family_meals": lambda c: c.taps("daily"),
            "cooking_hard": lambda c: c.types("3,4"),
            "sweet_drinks": lambda c: c.taps("rarely"),
            "active_days": lambda c: c.taps("4_5"),
            "screens": lambda c: c.taps("1_2h"),
            "play_barriers": lambda c: c.command("skip"),
            "school_lunch": lambda c: c.taps("no"),
            "help": lambda c: c.types("4,6"),
            "one_change": lambda c: c.command("skip"),
        },
        "سنرسل مواعيد ورش الطبخ المجانية للأسر",
        never_asked={"where_to_play", "school_food", "school_food_why"},
    ),
    Journey(
        "child-health",
        "uk",
        "a parent content with school lunches but short of free sport hears the city's plan",
        {
            "ages": lambda c: c.types("3"),
            "family_meals": lambda c: c.taps("rarely"),
            "cooking_hard": lambda c: c.command("skip"),
            "sweet_drinks": lambda c: c.taps("daily"),
            "active_days": lambda c: c.taps("0_1"),
            "screens": lambda c: c.taps("over_4h"),
            "play_barriers": lambda c: c.types("2,5"),
            "school_lunch": lambda c: c.taps("sometimes"),
            "school_food": lambda c: c.taps("4"),
            "help": lambda c: c.types("1"),
            "one_change": lambda c: c.types("Більше безкоштовних секцій"),
        },
        "Дякуємо! На основі відповідей місто, школи та фонд підготують план дій",
        never_asked={"where_to_play", "school_food_why"},
        answers={"play_barriers": ["cost", "screens"]},
    ),
    Journey(
        "service-feedback",
        "pl",
        "a daughter who answers for her mother rates home care low, says what goes wrong, "
        "does not know where to complain and records a voice note",
        {
            "provider": lambda c: c.taps("home_care"),
            "user": lambda c: c.taps("relative"),
            "how_long": lambda c: c.taps("1_3y"),
            "overall": lambda c: c.taps("2"),
            "what_wrong": lambda c: c.types("1,2"),
            "on_time": lambda c: c.taps("rarely"),
            "access": lambda c: c.taps("hard"),
            "access_barriers": lambda c: c.types("2,3"),
            "respect": lambda c: c.taps("2"),
            "respect_what": lambda c: c.types("2,4"),
            "say_in": lambda c: c.taps("no"),
            "complaint": lambda c: c.taps("dont_know"),
            "still_needed": lambda c: c.taps("yes"),
            "comment": lambda c: c.send(MediaInput("voice", "voice-of-the-daughter", 40)),
        },
        "Uwagę lub skargę można złożyć bezpośrednio w wydziale",
        never_asked={"provider_other"},
        answers={
            "what_wrong": ["late", "staff_change"],
            "respect_what": ["talked_over", "privacy"],
            "comment": {"voice": "voice-of-the-daughter", "duration": 40},
        },
    ),
    Journey(
        "service-feedback",
        "uk",
        "a man at the night shelter, treated with respect but given a bed too briefly, "
        "hears that low ratings are checked at the contract review",
        {
            "provider": lambda c: c.taps("shelter"),
            "user": lambda c: c.taps("self"),
            "how_long": lambda c: c.taps("under_3m"),
            "overall": lambda c: c.taps("1"),
            "what_wrong": lambda c: c.types("3"),
            "on_time": lambda c: c.taps("sometimes"),
            "access": lambda c: c.taps("effort"),
            "respect": lambda c: c.taps("4"),
            "say_in": lambda c: c.taps("sometimes"),
            "complaint": lambda c: c.taps("know"),
            "still_needed": lambda c: c.taps("unsure"),
            "comment": lambda c: c.types("Потрібно більше місць узимку"),
        },
        "Низькі оцінки відділ перевіряє в постачальника",
        never_asked={"provider_other", "access_barriers", "respect_what"},
        answers={"overall": 1, "what_wrong": ["rushed"]},
    ),
    Journey(
        "service-feedback",
        "ar",
        "someone content with a service not on the list names it, skips the comment "
        "and will not need it any more",
        {
            "provider": lambda c: c.taps("other"),
            "provider_other": lambda c: c.types("مركز الاستشارات للمهاجرين، شارع ووجيتسكا"),
            "user": lambda c: c.taps("self"),
            "how_long": lambda c: c.taps("over_3y"),
            "overall": lambda c: c.taps("5"),
            "on_time": lambda c: c.taps("always"),
            "access": lambda c: c.taps("easy"),
            "respect": lambda c: c.taps("5"),
            "say_in": lambda c: c.taps("yes"),
            "complaint": lambda c: c.taps("know"),
            "still_needed": lambda c: c.taps("no"),
            "comment": lambda c: c.command("skip"),
        },
        "يناقش القسم النتائج الإجمالية مع مقدّمي الخدمات",
        never_asked={"what_wrong", "access_barriers", "respect_what"},
        answers={"still_needed": "no", "comment": None},
    ),
]


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow]:
    return {name: load_flow(FLOWS / f"{name}.yaml") for name in TEMPLATES}


@pytest.mark.parametrize("name", TEMPLATES)
def test_checks_clean_and_speaks_all_twelve_languages(name: str, flows: dict[str, Flow]):
    _, problems = check_flow_file(FLOWS / f"{name}.yaml")
    assert problems == []
    flow = flows[name]
    assert set(flow.languages) == TWELVE
    assert len(flow.questions) >= 8
    for where, text in flow.flow_texts():
        for language in TWELVE:
            assert flow.text_for(text, language), (where, language)
    # The consent says who reads the answers, for how long, and how to delete them.
    assert all("/delete" in flow.localize(flow.consent, lang) for lang in TWELVE)
    assert flow.retention_months is not None


@pytest.mark.parametrize("journey", JOURNEYS, ids=lambda j: f"{j.template}-{j.language}")
def test_a_resident_answers_to_the_end(journey: Journey, flows, make_citizen):
    """Every question asked must have a reply, so a branch that should have been
    skipped fails the story."""
    citizen = make_citizen(flows[journey.template], journey.language)
    assert citizen.state["language"] == journey.language
    while citizen.state["current"] is not None:
        journey.replies[citizen.current](citizen)
    turn = citizen.turn
    assert turn.completed
    assert turn.outputs[-1].role == "end"
    assert journey.ends_with in turn.outputs[-1].text
    answers = turn.state["answers"]
    assert journey.never_asked.isdisjoint(answers)
    for step, value in journey.answers.items():
        assert answers[step]["value"] == value


def test_child_health_keeps_childrens_data_to_the_least(flows):
    """Addressed to parents: no step can take a child's name, weight, height, photo,
    place or birth date as a number, a date or a picture, and the consent says so."""
    flow = flows["child-health"]
    kinds = {step.kind for step in flow.steps}
    assert kinds.isdisjoint({"number", "date", "photo", "location", "contact"})
    assert "Nie pytamy o imię dziecka, jego wagę, wzrost ani choroby" in flow.consent
    assert "weight, height or any illness" in flow.localize(flow.consent, "en")


def test_service_feedback_says_who_sees_what_and_asks_again_months_later(flows):
    """The provider sees only groups of at least k people (the public results' k), the
    comment takes a voice note, and the rating comes back after three and six months
    unless the service is ending."""
    flow = flows["service-feedback"]
    k = Settings.model_fields["public_min_group"].default
    assert f"co najmniej {k} osób" in flow.consent
    assert f"groups of at least {k} people" in flow.localize(flow.consent, "en")
    assert all("/stop" in flow.localize(flow.consent, lang) for lang in TWELVE)
    assert flow.step("comment").allow_voice
    assert {f.id: f.after_days for f in flow.followups} == {
        "three_months": 91,
        "six_months": 182,
    }
    for followup in flow.followups:
        assert followup.when == Condition.model_validate(
            {"not": {"step": "still_needed", "equals": "no"}}
        )
        assert [s.id for s in followup.steps] == [
            "still_used",
            "rating_again",
            "changed",
            "changed_how",
        ]
