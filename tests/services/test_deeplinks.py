"""A poster's link names the consultation and, after "__", one preset answer.

The slug never contains "_", so the first "__" ends it; the rest is split where it
names a real single-choice question and option, even when a step id or a key has
underscores of its own. Invite links (random payloads that may contain "__"), other
consultations and typos preset nothing.
"""

from __future__ import annotations

from dialogs.schema import Flow, parse_flow
from konsulta.deeplinks import preset_of, preset_payload, slug_of


def service_flow() -> Flow:
    return parse_flow(
        {
            "id": "service-feedback",
            "version": 1,
            "title": "Services",
            "organisation": "City",
            "languages": ["en"],
            "default_language": "en",
            "consent": "ok",
            "steps": [
                {
                    "id": "provider",
                    "kind": "single_choice",
                    "text": "Which service?",
                    "options": [
                        {"key": "home_care", "label": "Home care"},
                        {"key": "shelter", "label": "Shelter"},
                    ],
                },
                {
                    "id": "day__centre",
                    "kind": "single_choice",
                    "text": "Which room?",
                    "options": [{"key": "_a", "label": "A"}, {"key": "b.1", "label": "B"}],
                },
                {"id": "comment", "kind": "text", "text": "Anything else?"},
            ],
            "ends": [{"text": "Thank you."}],
        }
    )


def test_the_poster_link_presets_the_provider_named_after_the_slug():
    flow = service_flow()
    payload = preset_payload("service-feedback", "provider", "home_care")
    assert payload == "service-feedback__provider__home_care"
    assert slug_of(payload) == "service-feedback"
    assert slug_of("service-feedback") == "service-feedback"
    assert preset_of(f"link:{payload}", flow) == {"provider": "home_care"}
    # "__" inside the step id and a key starting with "_": split where both exist.
    assert preset_of("link:service-feedback__day__centre___a", flow) == {"day__centre": "_a"}


def test_links_that_name_nothing_real_preset_nothing():
    flow = service_flow()
    for source in (
        None,
        "telegram",
        "link:service-feedback",
        "link:service-feedback__provider__home_cara",
        "link:service-feedback__comment__home_care",
        "link:other-survey__provider__home_care",
        "link:Xy3__provider__home_care",  # an invite link's random payload
        "followup:three_months",
    ):
        assert preset_of(source, flow) == {}, source


def test_telegram_refuses_what_cannot_be_a_start_payload():
    assert preset_payload("service-feedback", "day__centre", "b.1") is None
    assert preset_payload("a" * 40, "provider", "home_care_long_key") is None
