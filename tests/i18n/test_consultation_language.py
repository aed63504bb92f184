"""Amal's Telegram speaks Arabic; the senior housing consultation is offered here in
Polish, English and Ukrainian only (the bundled template has all twelve languages).
She never receives the Polish consent: the bot says, in Arabic,
that the consultation is not in her language and lets her pick one of its languages,
each named in itself; after she taps English, the consent is English.

The real runtime (in this process, long polling) talks to the Bot API emulator; the
story reads the emulator's chat, as Amal's phone would show it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flow_copies import bundled_flow_in
from in_process import bot_in_process

from dialogs.schema import Flow
from emulator import Emulator
from emulator.state import ChatMessage
from konsulta.bootstrap import App
from konsulta.publishing import read_flow

TIMEOUT = 30.0
AMAL = 8301


@dataclass
class Town:
    emu: Emulator
    app: App
    flow: Flow


@pytest.fixture
async def town(migrated_url: str, tmp_path: Path) -> AsyncIterator[Town]:
    flow, text = read_flow(bundled_flow_in("senior-housing", ["pl", "en", "uk"], tmp_path))
    async with bot_in_process(migrated_url, [(flow, text)], name="consultation-language") as bot:
        yield Town(bot.emu, bot.app, flow)


def labels(message: ChatMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [str(button.get("text", "")) for row in rows for button in row]


def is_arabic(text: str) -> bool:
    """The first letter with a direction is Arabic (right to left)."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in {"L", "R", "AL"}:
            return direction in {"R", "AL"}
    return False


async def test_an_arabic_citizen_on_a_pl_en_uk_consultation_never_gets_the_polish_consent(
    town: Town,
) -> None:
    emu, flow = town.emu, town.flow
    arabic = town.app.texts("ar")
    polish_consent = flow.localize(flow.consent, "pl")
    english_consent = flow.localize(flow.consent, "en")
    emu.citizens.create(AMAL, "Amal", "ar")

    async def shown(found: Callable[[ChatMessage], bool]) -> ChatMessage:
        def first() -> ChatMessage | None:
            return next((m for m in emu.bot_messages(AMAL) if found(m)), None)

        assert await emu.state.wait_until(lambda: first() is not None, TIMEOUT), [
            m.text for m in emu.bot_messages(AMAL)
        ]
        message = first()
        assert message is not None
        return message

    async def tap(message: ChatMessage, key: str) -> None:
        data = next(d for d in message.callback_data() if d.rsplit(":", 1)[-1] == key)
        await emu.citizens.tap(AMAL, message.message_id, data)

    # The list of consultations: the Polish title, with the languages it is in.
    await emu.citizens.send_text(AMAL, "/start")
    menu = await shown(lambda m: bool(m.callback_data()))
    title = flow.localize(flow.title, "pl")
    assert labels(menu) == [f"{title} (Polski, English, Українська)"]
    assert is_arabic(menu.text or "")
    note = arabic.gettext(
        "A consultation that is not available in your language shows its "
        "languages in brackets. If you tap it, you can choose one of them."
    )
    assert note in (menu.text or "")
    await tap(menu, menu.callback_data()[0].rsplit(":", 1)[-1])

    # Before any consent: in Arabic, the consultation's languages as buttons.
    asking = arabic.gettext(
        "This consultation is not available in your language. "
        "Which of its languages would you like to read it in?"
    )
    question = await shown(lambda m: asking in (m.text or ""))
    assert asking != "This consultation is not available in your language. " + (
        "Which of its languages would you like to read it in?"
    )  # a real Arabic translation, not the English source
    assert is_arabic(question.text or "")
    assert labels(question) == ["Polski", "English", "Українська"]
    so_far = emu.bot_messages(AMAL)
    assert all(polish_consent not in (m.text or "") for m in so_far)
    assert all(english_consent not in (m.text or "") for m in so_far)
    assert all(is_arabic(m.text or "") for m in so_far)

    await tap(question, "en")
    consent = await shown(lambda m: english_consent in (m.text or ""))
    assert "Do you agree to take part?" in (consent.text or "")
    assert labels(consent)[:2] == ["Yes, I agree", "No, thank you"]
    # the language question is closed with the choice under it
    assert "English" in (emu.bot_messages(AMAL)[so_far.index(question)].text or "")

    await tap(consent, "agree")
    age = flow.localize(flow.step("age").text, "en")
    await shown(lambda m: age in (m.text or ""))
    everything = emu.bot_messages(AMAL)
    assert all(polish_consent not in (m.text or "") for m in everything)
    # Consent is recorded; the bot still speaks Arabic to her outside the consultation.
    async with town.app.uow() as uow:
        citizen = await uow.citizens.find(AMAL)
        assert citizen is not None and citizen.language == "ar"
        run = await uow.runs.latest_active(citizen.id)
        assert run is not None and run.language == "en" and run.consent_record_id is not None
