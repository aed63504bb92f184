"""Citizens do not always do what a question asks; the real bot stays kind and whole.

Typed letters to a number question, a sticker to a choice question, a tap on a button
of a question already answered or of a finished consultation, an edited message, a
forwarded one, a message in a group, a photo where text was asked, ten messages in a
second: each gets a short kind answer (or is ignored where that is kinder), no answer
is overwritten, and no exception reaches the bot's log.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot_world import Konsulta, Phone

FLOOD_WINDOW = 1.0
HINT, NOTICE = "💡", "ℹ️"


async def stored_answers(world: Konsulta, phone: Phone) -> dict[str, Any]:
    async with world.uow() as uow:
        citizen = await uow.citizens.find(phone.user_id)
        assert citizen is not None
        runs = await uow.runs.list_for_citizen(citizen.id)
        return {
            f"{run.id}:{a.step_id}": a.value
            for run in runs
            for a in await uow.answers.list_for_run(run.id)
        }


async def start_senior_housing(phone: Phone) -> None:
    await phone.send("/start senior-housing")
    [consent] = await phone.expect(1)
    await phone.tap(consent, "agree")
    await phone.expect(2)  # welcome, first question


async def test_wrong_kinds_of_answers_and_old_buttons_get_kind_words(
    sqlite_world: Konsulta,
) -> None:
    world = sqlite_world
    citizen = world.phone(5550001, "pl", "Jan")
    world.bot.start()
    await start_senior_housing(citizen)
    age_question = citizen.question()
    await citizen.answer("age", ["65_74"])
    await citizen.answer("lives_with", ["family"])

    # Letters to a number question: the flow's own kind hint, in Polish; nothing stored.
    await citizen.send("abc")
    [hint, again] = await world.said(citizen)
    assert "Od ilu lat" in (again.text or "")
    assert "Proszę wpisać samą liczbę lat" in (hint.text or ""), citizen.texts()
    assert "years_here" not in str(await stored_answers(world, citizen))
    await citizen.send("12")
    [floor] = await world.said(citizen)
    assert "piętrze" in (floor.text or "")

    # A sticker to a choice question: a hint to tap, the question stays open.
    await citizen.emu.citizens.send_sticker(citizen.user_id)
    answered = await world.said(citizen)
    assert any((m.text or "").startswith(HINT) for m in answered), citizen.texts()
    assert citizen.question().callback_data()[0].startswith("t:1:floor:") or citizen.question()
    before = await stored_answers(world, citizen)
    assert before == {"1:age": "65_74", "1:lives_with": "family", "1:years_here": 12}

    # A button of a question answered long ago (the phone still shows it): no overwrite,
    # nothing sent again; the tap itself says the button is out of date.
    tapped = await citizen.emu.citizens.tap(
        citizen.user_id, age_question.message_id, "t:1:age:85_plus"
    )
    said = await world.said(citizen)
    assert await stored_answers(world, citizen) == before
    assert said == [], citizen.texts()
    await citizen.until(lambda: tapped.answered)
    assert "nieaktualny" in (tapped.text or ""), tapped
    current = citizen.question()
    assert ":floor:" in current.callback_data()[0], current.text

    # Finish the consultation, then tap a button of it: it answers nothing.
    await citizen.answer("floor", ["ground"])  # ground floor skips the stairs question
    for step, keys in [
        ("aids", ["none", "~done"]),
        ("help_needs", ["benches", "~done"]),
        ("shared_spaces", ["garden", "club", "gym"]),
        ("care", ["never"]),
        ("satisfaction", ["5"]),
        ("anything_else", ["~skip"]),
    ]:
        await citizen.answer(step, keys)
    await citizen.answer("visit", ["no"])
    finished = await stored_answers(world, citizen)
    await citizen.emu.citizens.tap(citizen.user_id, age_question.message_id, "t:1:visit:yes")
    assert await world.said(citizen), "a kind word, not silence"
    assert await stored_answers(world, citizen) == finished
    assert finished["1:visit"] is False

    await world.bot.stop()
    world.bot.assert_healthy()


async def test_edits_forwards_groups_and_photos_never_break_the_bot(
    sqlite_world: Konsulta,
) -> None:
    world = sqlite_world
    citizen = world.phone(5550002, "pl", "Ewa")
    world.bot.start()
    await start_senior_housing(citizen)
    await citizen.answer("age", ["60_64"])
    await citizen.answer("lives_with", ["partner"])
    typed = next(m for m in citizen.emu.chat(citizen.user_id).messages.values() if not m.from_bot)

    # An edited message: a short notice that the first answer is kept.
    await citizen.emu.citizens.edit_text(citizen.user_id, typed.message_id, "/start youth-ideas")
    [edited] = await world.said(citizen)
    assert (edited.text or "").startswith(NOTICE)

    # A forwarded message is not the citizen's own answer.
    await citizen.emu.citizens.forward_text(citizen.user_id, "25")
    [forwarded] = await world.said(citizen)
    assert (forwarded.text or "").startswith(NOTICE)
    assert "years_here" not in str(await stored_answers(world, citizen))

    # A photo where a number was asked: a hint, nothing stored.
    await citizen.emu.citizens.send_photo(citizen.user_id)
    [photo_hint, *_] = await world.said(citizen)
    assert (photo_hint.text or "").startswith((HINT, NOTICE)), citizen.texts()

    # In a group the bot says only that it talks in private, and stores no answer.
    group = citizen.emu.citizens.create_group(-100777, "Klub seniora", [citizen.user_id])
    await citizen.emu.citizens.send_text(citizen.user_id, "12", chat_id=group.id)
    await citizen.emu.citizens.send_text(citizen.user_id, "/start", chat_id=group.id)
    await citizen.emu.wait_for_messages(group.id, 1)
    await world.settled()
    [in_group] = citizen.emu.bot_messages(group.id)
    assert (in_group.text or "").startswith(NOTICE)
    assert "years_here" not in str(await stored_answers(world, citizen))

    await world.bot.stop()
    world.bot.assert_healthy()


async def test_a_flood_of_messages_gets_one_notice_and_the_citizen_goes_on(
    sqlite_world: Konsulta,
) -> None:
    world = sqlite_world
    citizen = world.phone(5550003, "pl", "Olek")
    # Flood control on: more than 5 messages within the window get a notice.
    world.bot.start(flood_messages="5", flood_window_seconds=str(FLOOD_WINDOW))
    await start_senior_housing(citizen)
    await citizen.answer("age", ["60_64"])
    await citizen.answer("lives_with", ["partner"])
    await asyncio.sleep(FLOOD_WINDOW)  # the setup's own taps are out of the window
    await world.said(citizen)

    # Ten messages within a second: handled or not, exactly one flood notice.
    for number in range(10):
        await citizen.send(f"{number}x")
    burst = await world.said(citizen)
    flood = [m for m in burst if "bardzo szybko" in (m.text or "") or "very fast" in (m.text or "")]
    assert len(flood) == 1, [m.text for m in burst]
    assert "years_here" not in str(await stored_answers(world, citizen))

    # Once the burst is over (flood control counts a sliding window of real seconds,
    # so this one wait is on the clock), the citizen simply goes on.
    await asyncio.sleep(FLOOD_WINDOW)
    await citizen.send("12")
    [floor] = await world.said(citizen)
    assert "piętrze" in (floor.text or "")
    assert (await stored_answers(world, citizen))["1:years_here"] == 12

    await world.bot.stop()
    world.bot.assert_healthy()
