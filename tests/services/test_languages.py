"""Never silently the wrong language: a citizen whose language a consultation lacks is
told so in their own and picks one of its languages before the consent; and words
typed mid-question ("pomocy", "wstecz", "stop") are the commands they name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import pytest
from database_checks import session_of
from flow_copies import bundled_flow_in
from sqlalchemy import select

from dialogs.events import ButtonPress, CommandInput, MediaInput, TextInput
from dialogs.schema import Flow
from konsulta import broadcasts
from konsulta.bootstrap import App, build_app
from konsulta.conversations import (
    AGREE,
    CONSENT_STEP,
    CONSULTATION_LANGUAGE_STEP,
    PICK_STEP,
    Conversations,
    Who,
    menu_title,
)
from konsulta.publishing import publish, read_flow
from konsulta.quiet import QuietHours
from konsulta.settings import Settings
from storage.models import OutboxMessage

#: Telegram says Arabic; the senior-housing copy below is offered in pl, en and uk only.
AMAL = Who("telegram", 2001, 2001, "ar")
OKSANA = Who("telegram", 2002, 2002, "uk")
ANNA = Who("telegram", 2003, 2003, "pl")


@pytest.fixture(scope="module")
def three_languages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """senior-housing as if offered in Polish, English and Ukrainian only."""
    return bundled_flow_in("senior-housing", ["pl", "en", "uk"], tmp_path_factory.mktemp("flow"))


@pytest.fixture
async def app(migrated_url: str, three_languages: Path) -> AsyncIterator[App]:
    app = await build_app(Settings(database_url=migrated_url), migrate=False)
    flow, text = read_flow(three_languages)
    async with app.uow() as uow:
        await publish(uow, flow, text, open_now=True)
        await uow.commit()
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
def flow(three_languages: Path) -> Flow:
    return read_flow(three_languages)[0]


async def test_an_arabic_speaker_picks_one_of_the_consultations_languages_first(
    app: App, flow: Flow
) -> None:
    conversations = Conversations(app)
    shown = await conversations.open(AMAL, "senior-housing", source="telegram", delivery=None)
    [question] = shown.messages
    arabic = app.texts("ar")
    assert question.step_id == CONSULTATION_LANGUAGE_STEP and shown.language == "ar"
    assert question.text == arabic.gettext(
        "This consultation is not available in your language. "
        "Which of its languages would you like to read it in?"
    )
    assert [b.label for b in question.buttons] == ["Polski", "English", "Українська"]
    # anything but a language: told so, in Arabic, and asked again; no consent yet
    again = await conversations.handle(AMAL, TextInput("مرحبا"), delivery=None)
    assert [m.role for m in again.messages] == ["hint", "question"]
    assert again.messages[-1].step_id == CONSULTATION_LANGUAGE_STEP
    picked = await conversations.handle(
        AMAL, ButtonPress(CONSULTATION_LANGUAGE_STEP, "en"), delivery=None, run_id=shown.run_id
    )
    [consent] = picked.messages
    assert consent.step_id == CONSENT_STEP and picked.language == "en"
    assert flow.localize(flow.consent, "en") in consent.text
    assert picked.answer == "English"  # shown under the closed language question
    started = await conversations.handle(AMAL, ButtonPress(CONSENT_STEP, AGREE), delivery=None)
    assert started.language == "en"
    assert started.messages[-1].text.startswith(flow.localize(flow.step("age").text, "en"))
    async with app.uow() as uow:
        citizen = await uow.citizens.find(AMAL.user_id)
    # the bot keeps speaking Arabic to her; the consultation runs in English
    assert citizen is not None and citizen.language == "ar"


async def test_the_language_can_be_typed_by_its_name(app: App, flow: Flow) -> None:
    conversations = Conversations(app)
    await conversations.open(AMAL, "senior-housing", source="telegram", delivery=None)
    picked = await conversations.handle(AMAL, TextInput("english"), delivery=None)
    assert picked.messages[0].step_id == CONSENT_STEP and picked.language == "en"


async def test_resuming_before_the_choice_asks_for_the_language_again(app: App) -> None:
    conversations = Conversations(app)
    await conversations.open(AMAL, "senior-housing", source="telegram", delivery=None)
    resumed = await conversations.open(AMAL, "senior-housing", source="telegram", delivery=None)
    assert [m.step_id for m in resumed.messages] == [CONSULTATION_LANGUAGE_STEP]


async def test_a_citizen_whose_language_is_offered_gets_the_consent_in_it(
    app: App, flow: Flow
) -> None:
    conversations = Conversations(app)
    shown = await conversations.open(OKSANA, "senior-housing", source="telegram", delivery=None)
    [consent] = shown.messages
    assert consent.step_id == CONSENT_STEP and shown.language == "uk"
    assert flow.localize(flow.consent, "uk") in consent.text


async def test_the_menu_names_the_languages_of_a_consultation_not_in_yours(
    app: App, flow: Flow
) -> None:
    conversations = Conversations(app)
    arabic = await conversations.open(AMAL, None, source="telegram", delivery=None, menu=True)
    [menu] = arabic.messages
    assert menu.step_id == PICK_STEP
    assert [b.label for b in menu.buttons] == [
        f"{flow.localize(flow.title, 'pl')} (Polski, English, Українська)"
    ]
    assert (
        app.texts("ar").gettext(
            "A consultation that is not available in your language shows its "
            "languages in brackets. If you tap it, you can choose one of them."
        )
        in menu.text
    )
    ukrainian = await conversations.open(OKSANA, None, source="telegram", delivery=None, menu=True)
    [menu] = ukrainian.messages
    assert [b.label for b in menu.buttons] == [flow.localize(flow.title, "uk")]
    assert "(" not in menu.text


@pytest.mark.parametrize(
    ("title", "languages", "shown"),
    [
        ("Park", ["pl", "en", "uk"], "Park (Polski, English, Українська)"),
        ("Park", ["pl", "en", "uk", "ru"], "Park (PL, EN, UK, …)"),
        ("Park " * 20, ["pl", "en"], ("Park " * 20)[:45].rstrip() + "… (Polski, English)"),
    ],
)
def test_a_title_in_the_menu_names_its_languages_within_a_button(
    title: str, languages: list[str], shown: str
) -> None:
    flow = Flow.model_validate(
        {
            "id": "park",
            "version": 1,
            "title": title,
            "organisation": "Town",
            "languages": languages,
            "default_language": "pl",
            "consent": "ok",
            "steps": [{"id": "q", "kind": "text", "text": "Why?"}],
            "ends": [{"text": "Thanks"}],
        }
    )
    assert menu_title(flow, "ar") == shown and len(shown) <= 64
    assert menu_title(flow, "en") == title


async def agreed(conversations: Conversations, who: Who) -> None:
    await conversations.open(who, "senior-housing", source="telegram", delivery=None)
    await conversations.handle(who, ButtonPress(CONSENT_STEP, AGREE), delivery=None)


async def current(app: App) -> str | None:
    async with app.uow() as uow:
        citizen = await uow.citizens.find(ANNA.user_id)
        assert citizen is not None
        run = await uow.runs.latest_active(citizen.id)
    assert run is not None
    value = run.state.get("current")
    return value if isinstance(value, str) else None


async def test_pomocy_mid_question_is_help_and_the_question_stays(app: App) -> None:
    conversations = Conversations(app)
    await agreed(conversations, ANNA)
    shown = await conversations.handle(ANNA, TextInput("Pomocy!"), delivery=None)
    [notice] = shown.messages
    assert notice.role == "notice" and "/back" in notice.text and "/stop" in notice.text
    assert await current(app) == "age"


async def test_wstecz_goes_back_and_pomin_skips(app: App) -> None:
    conversations = Conversations(app)
    await agreed(conversations, ANNA)
    await conversations.handle(ANNA, ButtonPress("age", "65_74"), delivery=None)
    assert await current(app) == "lives_with"
    back = await conversations.handle(ANNA, TextInput("wstecz"), delivery=None)
    assert back.messages[-1].step_id == "age" and await current(app) == "age"
    # age is required: "pomiń" is /skip, which says it cannot be skipped
    skipped = await conversations.handle(ANNA, TextInput("pomin"), delivery=None)
    expected = await conversations.handle(ANNA, CommandInput("skip"), delivery=None)
    assert [m.text for m in skipped.messages] == [m.text for m in expected.messages]


async def test_stop_mid_question_stops_the_messages(app: App) -> None:
    conversations = Conversations(app)
    await agreed(conversations, ANNA)
    shown = await conversations.handle(ANNA, TextInput("STOP"), delivery=None)
    assert "/start" in shown.messages[0].text
    async with app.uow() as uow:
        citizen = await uow.citizens.find(ANNA.user_id)
    assert citizen is not None and citizen.stopped


async def test_a_photo_sent_to_a_question_answered_by_typing_gets_a_short_hint(app: App) -> None:
    conversations = Conversations(app)
    await agreed(conversations, ANNA)
    await conversations.handle(ANNA, ButtonPress("age", "65_74"), delivery=None)
    await conversations.handle(ANNA, ButtonPress("lives_with", "alone"), delivery=None)
    assert await current(app) == "years_here"  # a number
    shown = await conversations.handle(ANNA, MediaInput("photo", "AgAD-photo"), delivery=None)
    [hint] = shown.messages
    assert hint.role == "hint" and hint.step_id == "years_here"
    assert len(hint.text) < 100


RUSLAN = Who("telegram", 2004, 2004, "ru")


async def take_part(conversations: Conversations, who: Who, language: str | None) -> None:
    """Open senior-housing, pick `language` if asked for one, and agree."""
    await conversations.open(who, "senior-housing", source="telegram", delivery=None)
    if language is not None:
        picked = ButtonPress(CONSULTATION_LANGUAGE_STEP, language)
        await conversations.handle(who, picked, delivery=None)
    await conversations.handle(who, ButtonPress(CONSENT_STEP, AGREE), delivery=None)


async def test_results_in_polish_and_english_warn_who_gets_another_language(app: App) -> None:
    conversations = Conversations(app)
    await take_part(conversations, ANNA, None)  # reads Polish
    await take_part(conversations, OKSANA, None)  # reads Ukrainian: no text, gets Polish
    await take_part(conversations, AMAL, "en")  # reads Arabic, answered in English
    await take_part(conversations, RUSLAN, "uk")  # reads Russian, answered in Ukrainian
    draft = await broadcasts.create(
        app,
        organisation_id=await broadcasts.organisation_named(app, None),
        name="results",
        segment={"consultation": "senior-housing"},
        texts={"pl": "Winda będzie naprawiona w maju.", "en": "The lift will be fixed in May."},
        default_language="pl",
        kind="result",
    )
    shown = await broadcasts.preview(app, draft.id)
    assert shown.total == 4
    assert {lang: n for lang, (n, _text) in shown.languages.items()} == {"pl": 3, "en": 1}
    assert set(shown.fallbacks) == {
        broadcasts.Fallback("ar", "en", 1),  # the language she answered in
        broadcasts.Fallback("uk", "pl", 1),  # no text in either: the default
        broadcasts.Fallback("ru", "pl", 1),
    }
    # The dashboard's live count says the same before any draft is written.
    counted = await broadcasts.dry_run(
        app,
        organisation_id=await broadcasts.organisation_named(app, None),
        segment={"consultation": "senior-housing"},
        written={"pl", "en"},
        default_language="pl",
    )
    assert (counted.total, counted.languages) == (4, {"en": 1, "pl": 3})
    assert counted.fallbacks == shown.fallbacks
    # what is sent follows the same rule
    now = app.clock.now()
    await broadcasts.schedule(app, draft.id, now)
    sending = broadcasts.Broadcasts(app, QuietHours(time(0, 0), time(0, 0)))
    await sending.start_due(now)
    while await sending.materialize(now):
        pass
    assert await sending.feed(now) == 4
    async with app.uow() as uow:
        rows = (await session_of(uow).execute(select(OutboxMessage))).scalars().all()
    sent = {row.chat_id: row.payload["language"] for row in rows if row.payload.get("broadcast_id")}
    expected = {ANNA: "pl", OKSANA: "pl", AMAL: "en", RUSLAN: "pl"}
    assert sent == {who.chat_id: language for who, language in expected.items()}
