"""A senior answers the housing consultation through the python-telegram-bot adapter.

The bot runs as its own process, `konsulta run --framework ptb`, against the emulator:
ptb receives and parses every update, the same services decide, the same inbox and
outbox carry them. The senior gives consent, answers a choice, goes /back and answers
it again, types a number, taps yes/no, multiple-choice, ranking and scale questions,
switches to English with /language halfway, /skips an optional text question and
finishes. A neighbour who stopped half-way gets a reminder and taps "Continue". Then
the senior asks for their data with /mydata and erases it with /delete.
"""

from __future__ import annotations

import json
from typing import Any

from bot_world import Konsulta
from sqlalchemy import func, select

from storage.models import Answer, Citizen, InboxUpdate, Run

SENIOR = 4242701
NEIGHBOUR = 4242702
#: A reminder 6 s after a citizen stops answering (the senior never pauses that long),
#: looked for twice a second, at any hour.
FAST_REMINDERS = {
    "reminder_delay_hours": str(6 / 3600),
    "outreach_tick_seconds": "0.5",
    "quiet_hours_start": "00:00",
    "quiet_hours_end": "00:00",
}


async def test_a_senior_answers_through_the_ptb_adapter_and_then_erases_it(
    ptb_world: Konsulta,
) -> None:
    world = ptb_world
    senior = world.phone(SENIOR, "pl", "Halina")
    world.bot.start("--framework", "ptb", **FAST_REMINDERS)

    # Consent, in the senior's language, before anything is stored.
    await senior.send("/start senior-housing")
    [consent] = await senior.expect(1)
    assert "Zanim zaczniemy" in (consent.text or "")
    await senior.tap(consent, "agree")
    welcome, age = await senior.expect(2)
    assert "Dzień dobry" in (welcome.text or "")
    assert "Ile ma Pan/Pani lat?" in (age.text or "")

    # A single choice, then /back to it and a different answer.
    [lives_with] = await senior.answer("age", ["85_plus"])
    assert "Z kim" in (lives_with.text or "")
    await senior.send("/back")
    [age_again] = await senior.expect(1)
    assert "Ile ma Pan/Pani lat?" in (age_again.text or "")
    await senior.answer("age", ["75_84"])
    [years] = await senior.answer("lives_with", ["alone"])
    # A number, typed; a word first gets the question's own hint.
    assert "Od ilu lat" in (years.text or "")
    await senior.send("dwanaście")
    hint, years_again = await senior.expect(2)
    assert "samą liczbę" in (hint.text or "")
    assert "Od ilu lat" in (years_again.text or "")
    await senior.send("12")
    await senior.expect(1)  # floor
    await senior.answer("floor", ["high"])
    await senior.answer("stairs", ["yes"])  # yes/no
    [help_needs] = await senior.answer("aids", ["stick", "walker", "~done"])  # multiple
    assert "Co najbardziej" in (help_needs.text or "")

    # /language: the picker, a tap on English, and the question on screen again in it.
    await senior.send("/language")
    [picker] = await senior.expect(1)
    await senior.tap(picker, "en")
    [in_english] = await senior.expect(1)
    assert "What would make life at home easier" in (in_english.text or "")
    await senior.answer("help_needs", ["lift", "handrails", "~done"])
    await senior.answer("shared_spaces", ["club", "garden", "laundry"])  # ranking
    await senior.answer("care", ["weekly"])
    [anything_else] = await senior.answer("satisfaction", ["4"])  # scale
    assert "Is there anything else" in (anything_else.text or "")
    await senior.send("/skip")  # an optional text question
    [visit] = await senior.expect(1)
    assert visit.callback_data()
    [goodbye] = await senior.answer("visit", ["no"])
    assert "Thank you" in (goodbye.text or "")
    await world.settled()

    async with world.uow() as uow:
        citizen = await uow.citizens.find(SENIOR)
        assert citizen is not None and citizen.language == "en"
        [run] = await uow.runs.list_for_citizen(citizen.id)
        assert run.status == "completed"
        answers = {a.step_id: a for a in await uow.answers.list_for_run(run.id)}
        participant_id = citizen.participant_id
    expected: dict[str, Any] = {
        "age": "75_84",
        "lives_with": "alone",
        "years_here": 12,
        "floor": "high",
        "stairs": True,
        "aids": ["stick", "walker"],
        "help_needs": ["lift", "handrails"],
        "shared_spaces": ["club", "garden", "laundry"],
        "care": "weekly",
        "satisfaction": 4,
        "anything_else": None,
        "visit": False,
    }
    assert {step: a.value for step, a in answers.items()} == expected
    assert answers["anything_else"].skipped

    # The neighbour stops after one answer; the reminder's "Continue" brings the
    # question she stopped at back.
    neighbour = world.phone(NEIGHBOUR, "pl", "Olga")
    await neighbour.send("/start senior-housing")
    [consent] = await neighbour.expect(1)
    await neighbour.tap(consent, "agree")
    await neighbour.expect(2)
    await neighbour.answer("age", ["65_74"])
    [reminder] = await neighbour.expect(1, timeout=60)
    assert ":~remind:" in reminder.callback_data()[0]
    await neighbour.tap(reminder, "continue")
    [again] = await neighbour.expect(1)
    assert "Z kim" in (again.text or "")

    # /mydata: the senior's own data as a JSON document.
    await senior.send("/mydata")
    [document] = await senior.expect(1)
    assert document.kind == "document" and document.file_id is not None
    content = world.emu.file_bytes(document.file_id).decode()
    assert participant_id in content and "75_84" in content
    assert json.loads(content)

    # /delete asks first; "yes" erases everything of theirs.
    await senior.send("/delete")
    [question] = await senior.expect(1)
    await senior.tap(question, "1")
    await senior.until(lambda: not question.callback_data())
    await world.settled()
    async with world.uow() as uow:
        assert await uow.citizens.find(SENIOR) is None
    async with world.engine.connect() as connection:  # only the neighbour's remain
        assert await connection.scalar(select(func.count()).select_from(Citizen)) == 1
        assert await connection.scalar(select(func.count()).select_from(Run)) == 1
        assert await connection.scalar(select(func.count()).select_from(Answer)) == 1
        # Every update went through the inbox, and each ended handled.
        handled = await connection.scalar(select(func.count()).select_from(InboxUpdate))
        assert handled and handled >= 20

    await world.bot.stop()
    world.bot.assert_healthy()
    assert "(ptb, polling)" in world.bot.log()
