"""A senior answers the housing consultation in Polish, by tapping, with the real bot.

The bot runs as its own process (long polling) against the emulator; the citizen's
phone says "pl". Every question is answered by a tap, except the one number question
that has no buttons; the stored answers must be exactly what was tapped, each answered
question must lose its keyboard, and every question shows where the senior is.
"""

from __future__ import annotations

import re
from typing import Any

from bot_world import Konsulta
from sqlalchemy import func, select

from storage.models import Answer, Run

#: The path of taps through senior-housing: (step, option keys tapped, expected value).
TAPS: list[tuple[str, list[str], Any]] = [
    ("age", ["75_84"], "75_84"),
    ("lives_with", ["alone"], "alone"),
    # years_here is a number question: typed (see below)
    ("floor", ["high"], "high"),
    ("stairs", ["yes"], True),
    ("aids", ["stick", "walker", "~done"], ["stick", "walker"]),
    ("help_needs", ["lift", "handrails", "~done"], ["lift", "handrails"]),
    ("shared_spaces", ["club", "garden", "laundry"], ["club", "garden", "laundry"]),
    ("care", ["weekly"], "weekly"),
    ("satisfaction", ["4"], 4),
    ("anything_else", ["~skip"], None),
    ("visit", ["no"], False),
]


async def test_a_senior_answers_in_polish_only_by_tapping(sqlite_world: Konsulta) -> None:
    world = sqlite_world
    senior = world.phone(4242001, "pl", "Halina")
    world.bot.start()

    await senior.send("/start senior-housing")
    [consent] = await senior.expect(1)
    assert "Dobry dom na starsze lata" in (consent.text or "")
    assert "Zanim zaczniemy" in (consent.text or "")  # the flow's own consent text, in Polish
    await senior.tap(consent, "agree")
    welcome, age = await senior.expect(2)
    assert "Dzień dobry" in (welcome.text or "")
    assert "Ile ma Pan/Pani lat?" in (age.text or "")
    assert senior.label(age, "85_plus") == "85 lub więcej"

    stored: dict[str, Any] = {}
    for step, keys, value in TAPS[:2]:
        await senior.answer(step, keys)
        stored[step] = value
    # The only question without buttons: the nearest valid typed answer.
    assert "Od ilu lat" in (senior.messages()[-1].text or "")
    await senior.send("12")
    await senior.expect(1)
    stored["years_here"] = 12
    for step, keys, value in TAPS[2:]:
        await senior.answer(step, keys)
        stored[step] = value
    goodbye = senior.messages()[-1]
    assert "Dziękujemy" in (goodbye.text or "")
    await world.settled()

    # Every question the senior tapped lost its keyboard and shows the answer.
    questions = [m for m in senior.messages() if m.source_text and "✓" in (m.text or "")]
    assert len(questions) >= len(TAPS) + 1  # + consent
    for message in senior.messages():
        assert not message.callback_data(), f"still has buttons: {message.text}"
    # Every question shows how far the senior is ("4/15").
    progress = [int(m.group(1)) for t in senior.texts() if (m := re.match(r"(\d+)/15\n", t))]
    assert progress == sorted(progress)
    assert len(progress) == len(TAPS) + 1, senior.texts()

    # The database holds exactly what was tapped, in one completed run.
    async with world.uow() as uow:
        citizen = await uow.citizens.find(senior.user_id)
        assert citizen is not None
        assert citizen.language is None or citizen.language == "pl"
        [run] = await uow.runs.list_for_citizen(citizen.id)
        assert run.status == "completed"
        assert run.language == "pl"
        answers = {a.step_id: a for a in await uow.answers.list_for_run(run.id)}
    assert {step: a.value for step, a in answers.items()} == stored
    assert answers["anything_else"].skipped
    assert answers["aids"].display_text == "Laska, Balkonik"
    async with world.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(Run)) == 1
        assert await connection.scalar(select(func.count()).select_from(Answer)) == len(stored)

    await world.bot.stop()
    world.bot.assert_healthy()
