"""Someone who shows rather than writes: through the real bot and the emulator, a photo
and a shared location sent to text questions that allow media are the answers, stored
and ended like typed ones; where media is not allowed, a short hint and nothing kept."""

from __future__ import annotations

from pathlib import Path

from in_process import bot_in_process, settled, tap_label

from konsulta.publishing import read_flow

FLOW = Path(__file__).parent / "flows" / "show-me.yaml"
CITIZEN = 7101


async def test_a_photo_and_a_place_answer_text_questions_that_allow_media(
    migrated_url: str,
) -> None:
    async with bot_in_process(
        migrated_url, [read_flow(FLOW)], name="media", default_language="en", organisation="demo"
    ) as bot:
        emu, app, people = bot.emu, bot.app, bot.emu.citizens
        people.create(CITIZEN, "Halina", "en")
        await people.send_text(CITIZEN, "/start show-me")
        await settled(app, emu)
        await tap_label(emu, CITIZEN, "agree")
        await settled(app, emu)
        assert "send a photo" in (emu.bot_messages(CITIZEN)[-1].text or "")

        await people.send_photo(CITIZEN)
        await settled(app, emu)
        assert "share a location" in (emu.bot_messages(CITIZEN)[-1].text or "")
        await people.send_location(CITIZEN, 54.4641, 17.0285)
        await settled(app, emu)
        # Media where it is not allowed: a short hint, and the question still open.
        await people.send_photo(CITIZEN)
        await settled(app, emu)
        assert (emu.bot_messages(CITIZEN)[-1].text or "").startswith("💡")
        await people.send_text(CITIZEN, "The bench is broken too")
        await settled(app, emu)

        async with app.uow(read_only=True) as uow:
            citizen = await uow.citizens.find(CITIZEN)
            assert citizen is not None
            [run] = await uow.runs.list_for_citizen(citizen.id)
            answers = {a.step_id: a.value for a in await uow.answers.list_for_run(run.id)}
        assert run.status == "completed"
        assert set(answers["what"]) == {"photo"} and answers["what"]["photo"]
        assert answers["where"] == {"lat": 54.4641, "lon": 17.0285}
        assert answers["more"] == "The bench is broken too"
