"""A question asked again leaves one copy with buttons; contact and location are asked
with Telegram's request keyboard and a "Skip" beside the request button.

Stories against the emulator with the real runtime in-process (tests/in_process.py),
a Polish citizen, and a small consultation written here for the purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from database_checks import session_of
from in_process import bot_in_process, settled
from sqlalchemy import select

from emulator import Emulator
from emulator.state import ChatMessage
from konsulta.bootstrap import App
from konsulta.publishing import read_flow
from storage.models import Answer

FLOW = """\
id: keyboards
version: 1
title: Klawiatury
organisation: Gmina Testowa
languages: [pl]
default_language: pl
consent: Zapisujemy odpowiedzi.
contact_consent: Numer zobaczy tylko pracownik gminy.
steps:
  - id: pick
    kind: multiple_choice
    text: Co jest potrzebne?
    max_picks: 3
    options:
      - {key: a, label: Ławki}
      - {key: b, label: Lampy}
      - {key: c, label: Chodnik}
      - {key: d, label: Winda}
  - id: age
    kind: single_choice
    text: Ile ma Pan/Pani lat?
    options:
      - {key: young, label: Mniej niż 65}
      - {key: old, label: 65 lub więcej}
  - id: phone
    kind: contact
    required: false
    text: Proszę podać numer telefonu.
  - id: place
    kind: location
    required: false
    text: Gdzie to jest?
  - id: when
    kind: single_choice
    text: Kiedy zadzwonić?
    options:
      - {key: morning, label: Rano}
      - {key: evening, label: Wieczorem}
ends:
  - text: Dziękujemy!
"""

user_ids = itertools.count(7_300_000)


@dataclass
class Chat:
    emu: Emulator
    app: App
    user_id: int

    async def settled(self) -> None:
        await settled(self.app, self.emu)

    def messages(self) -> list[ChatMessage]:
        return self.emu.bot_messages(self.user_id)

    def with_buttons(self, step: str) -> list[ChatMessage]:
        """Copies of question `step` that still have answer buttons."""
        return [m for m in self.messages() if any(f":{step}:" in d for d in m.callback_data())]

    async def tap(self, message: ChatMessage, data: str) -> Any:
        record = await self.emu.citizens.tap(self.user_id, message.message_id, data)
        await self.settled()
        return record

    async def say(self, text: str) -> None:
        await self.emu.citizens.send_text(self.user_id, text)
        await self.settled()

    def run_id(self) -> int:
        for message in reversed(self.messages()):
            for data in message.callback_data():
                if data.startswith("t:") and not data.startswith("t:0:"):
                    return int(data.split(":")[1])
        raise AssertionError("no answer buttons seen")

    def keyboard(self) -> dict[str, Any] | None:
        return self.emu.state.chats[self.user_id].reply_keyboard()[0]

    async def answers(self) -> dict[str, tuple[Any, bool]]:
        async with self.app.uow(read_only=True) as uow:
            rows = await session_of(uow).execute(
                select(Answer.step_id, Answer.value, Answer.skipped)
            )
            return {step: (value, skipped) for step, value, skipped in rows}

    def not_modified(self) -> list[tuple[str, str]]:
        return [r for r in self.emu.state.refused if "not modified" in r[1]]


async def agree_to_contact(chat: Chat, run: int) -> None:
    """The flow asks for a phone number: first the consent to keep it (its own purpose)."""
    [consent] = chat.with_buttons("~contact")
    await chat.tap(consent, f"t:{run}:~contact:yes")


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    (tmp_path / "keyboards.yaml").write_text(FLOW, encoding="utf-8")
    async with bot_in_process(
        f"sqlite+aiosqlite:///{tmp_path / 'keyboards.db'}",
        [read_flow(tmp_path / "keyboards.yaml")],
        name="live-keyboards",
        migrate=True,
        outreach_tick_seconds=3600.0,
    ) as bot:
        user_id = next(user_ids)
        bot.emu.citizens.create(user_id, "Anna", "pl")
        chat = Chat(bot.emu, bot.app, user_id)
        await chat.say("/start keyboards")
        [consent] = chat.with_buttons("~consent")
        await chat.tap(consent, consent.callback_data()[0].rsplit(":", 1)[0] + ":agree")
        yield chat


async def test_after_a_hint_only_the_newest_copy_of_a_question_has_buttons(chat: Chat) -> None:
    run = chat.run_id()
    [first] = chat.with_buttons("pick")
    for key in ("a", "b", "c"):  # toggles edit the question in place
        await chat.tap(first, f"t:{run}:pick:{key}")
    assert chat.with_buttons("pick") == [first]

    # A fourth pick on "choose up to 3": a hint and the question again, below it.
    await chat.tap(first, f"t:{run}:pick:d")
    [newest] = chat.with_buttons("pick")
    assert newest.message_id > first.message_id
    assert first.reply_markup is None and "Co jest potrzebne?" in (first.text or "")
    assert "✅" in str(newest.reply_markup), "the picks so far are shown on the new copy"

    # A tap on the stale copy (the phone may still show its buttons): a short note,
    # nothing sent, nothing changed.
    seen = len(chat.messages())
    tapped = await chat.tap(first, f"t:{run}:pick:~done")
    assert len(chat.messages()) == seen
    assert tapped.answered and "nieaktualny" in (tapped.text or "")
    assert "pick" not in await chat.answers()

    # The newest copy still holds the three picks.
    await chat.tap(newest, f"t:{run}:pick:~done")
    assert (await chat.answers())["pick"] == (["a", "b", "c"], False)

    # Text where a tap was expected: a hint and the question again; one copy answers.
    [age] = chat.with_buttons("age")
    await chat.say("nie wiem")
    [age_again] = chat.with_buttons("age")
    assert age_again.message_id > age.message_id and age.reply_markup is None

    # /start while a dialog is open repeats the question: again only the new copy.
    await chat.say("/start")
    [age_resumed] = chat.with_buttons("age")
    assert age_resumed.message_id > age_again.message_id
    await chat.tap(age_resumed, f"t:{run}:age:old")
    assert (await chat.answers())["age"] == ("old", False)

    assert chat.not_modified() == [], chat.emu.state.refused
    # Only the question now asked (the contact consent, before the phone) is open.
    [contact_consent] = chat.with_buttons("~contact")
    async with chat.app.uow(read_only=True) as uow:
        assert await uow.keyboards.newest(chat.user_id) == contact_consent.message_id


async def test_an_optional_contact_step_offers_the_request_button_and_skip(chat: Chat) -> None:
    run = chat.run_id()
    [pick] = chat.with_buttons("pick")
    await chat.tap(pick, f"t:{run}:pick:a")
    await chat.tap(pick, f"t:{run}:pick:~done")
    [age] = chat.with_buttons("age")
    await chat.tap(age, f"t:{run}:age:old")
    await agree_to_contact(chat, run)

    # The contact question: no inline buttons, Telegram's request keyboard instead,
    # with "Skip" on the same keyboard.
    question = chat.messages()[-1]
    assert "numer telefonu" in (question.text or "") and question.callback_data() == []
    keyboard = chat.keyboard()
    assert keyboard is not None, question
    [[share], [skip]] = keyboard["keyboard"]
    assert share.get("request_contact") is True
    assert skip == {"text": "Pomiń"}

    # Something that is not a phone number: a short hint in Polish with an example.
    await chat.say("zadzwońcie do sąsiadki")
    hint, again = chat.messages()[-2:]
    assert "512 345 678" in (hint.text or ""), hint.text
    assert "numer telefonu" in (again.text or "") and chat.keyboard() is not None

    # A number typed the way people write it: stored in E.164, like a shared contact.
    await chat.say("600 123 456")
    assert (await chat.answers())["phone"] == ({"phone": "+48600123456"}, False)
    receipt = chat.messages()[-2]
    assert receipt.text == "✓ +48600123456"

    # The optional location step: the request button and "Skip"; Skip moves on.
    keyboard = chat.keyboard()
    assert keyboard is not None and keyboard["keyboard"][0][0].get("request_location") is True
    await chat.emu.citizens.press(chat.user_id, "Pomiń")
    await chat.settled()
    assert (await chat.answers())["place"] == (None, True)

    # The next question has inline buttons, and the request keyboard is gone.
    [when] = chat.with_buttons("when")
    assert chat.keyboard() is None, chat.messages()[-3:]
    assert when.callback_data()
    assert chat.not_modified() == []


async def test_the_request_button_shares_the_number_and_skip_skips_it(chat: Chat) -> None:
    run = chat.run_id()
    [pick] = chat.with_buttons("pick")
    await chat.tap(pick, f"t:{run}:pick:b")
    await chat.tap(pick, f"t:{run}:pick:~done")
    [age] = chat.with_buttons("age")
    await chat.tap(age, f"t:{run}:age:young")
    await agree_to_contact(chat, run)

    await chat.emu.citizens.press(chat.user_id, "Pomiń")
    await chat.settled()
    assert (await chat.answers())["phone"] == (None, True)

    [[location], _] = (chat.keyboard() or {})["keyboard"]
    await chat.emu.citizens.press(chat.user_id, location["text"])
    await chat.settled()
    place, skipped = (await chat.answers())["place"]
    assert not skipped and place["lat"] == pytest.approx(54.4641)
    assert chat.keyboard() is None

    # Back to the contact question: the request button shares the citizen's own number.
    await chat.say("/back")
    await chat.say("/back")
    share = (chat.keyboard() or {})["keyboard"][0][0]
    assert share.get("request_contact") is True
    await chat.emu.citizens.press(chat.user_id, share["text"])
    await chat.settled()
    assert (await chat.answers())["phone"] == ({"phone": "+48600100200"}, False)
