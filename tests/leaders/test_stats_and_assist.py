"""A leader sees how many of their people took part, never fewer than five at a time,
and helps a neighbour without a phone answer without being able to read it later."""

from __future__ import annotations

import asyncio
import json

from database_checks import session_of
from hypothesis import given
from hypothesis import strategies as st
from leader_world import COMMUNITY, ORGANISATION, World
from sqlalchemy import select

from konsulta.leaders.stats import SMALLEST_SHOWN, suppress
from storage.models import Answer, Citizen, CitizenChannel, Run, RunStatus
from storage.repositories.leaders import new_payload


async def seed_runs(world: World, language: str, count: int, *, completed: bool) -> None:
    """`count` people of the co-op who agreed (and maybe finished), made directly."""
    async with world.app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(ORGANISATION)
        assert organisation is not None
        community = await uow.communities.find(organisation.id, COMMUNITY)
        consultation = await uow.consultations.get_by_slug("co-op-homes")
        assert community is not None and consultation is not None
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        secret = world.app.settings.pseudonym_secret.get_secret_value()
        for n in range(count):
            user = 90_000 + n + (1000 if language == "pl" else 0) + (500 if completed else 0)
            citizen = await uow.citizens.get_or_create(user, user, secret=secret)
            consent = await uow.consents.record(citizen.id, "participation", "v1", True)
            run = await uow.runs.create(
                citizen_id=citizen.id,
                consultation_id=consultation.id,
                flow_version_id=version.id,
                state={},
                language=language,
                source="link:x",
                community_id=community.id,
                consent_record_id=consent.id,
            )
            await uow.answers.upsert(run.id, "age", "70_74")
            if completed:
                await uow.runs.save(run, status=RunStatus.COMPLETED)
        await uow.commit()


async def test_statistics_show_groups_of_five_or_more_only(world: World) -> None:
    await seed_runs(world, "pl", 6, completed=True)
    await seed_runs(world, "en", 2, completed=False)
    leader = await world.make_leader(1001)
    await leader.send("/stats")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    [report] = await leader.expect()
    text = report.text or ""
    assert "agreed to take part: 8" in text and "finished: 6" in text
    assert "opened the link: fewer than 5" in text  # nobody opened a link here
    en_line = next(line for line in text.splitlines() if line.startswith("en:"))
    pl_line = next(line for line in text.splitlines() if line.startswith("pl:"))
    assert "agreed to take part fewer than 5" in en_line
    # The Polish count next to the total would give the English one away (8 - 6), so it
    # is hidden too; likewise "finished" (6 in all, none in English).
    assert "agreed to take part fewer than 5" in pl_line
    assert "finished fewer than 5" in pl_line
    assert "70_74" not in text


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 40), min_size=1))
def test_no_small_group_is_shown_or_derivable(counts: dict[str, int]) -> None:
    shown = suppress(counts)
    assert all(n is None or n >= SMALLEST_SHOWN for n in shown.values())
    hidden = [key for key, n in shown.items() if n is None]
    assert len(hidden) != 1 or len(counts) == 1


def test_invite_payloads_are_telegram_start_parameters() -> None:
    payloads = {new_payload() for _ in range(200)}
    assert len(payloads) == 200
    for payload in payloads:
        assert len(payload) <= 64
        assert set(payload) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        )


async def test_a_leader_helps_a_neighbour_answer_and_cannot_read_it_later(world: World) -> None:
    leader = await world.make_leader(1001)
    await leader.send("/assist")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    intro, consent = await leader.expect(2)
    assert "Read the next message aloud" in (intro.text or "")
    await leader.tap(consent, "Yes")
    _welcome, age = await leader.expect(2)
    await leader.tap(age, "70")
    [_next_question] = await leader.expect()
    await leader.send("/assist")  # the neighbour has to go
    [stop] = await leader.expect()
    await leader.tap(stop, "Stop helping")
    [done] = await leader.expect()
    assert "you cannot see them later" in (done.text or "")

    async with world.app.uow() as uow:
        leader_row = (await uow.leaders.list_all())[0][0]
        [person] = (
            (await session_of(uow).execute(select(Citizen).where(Citizen.assisted_by.is_not(None))))
            .scalars()
            .all()
        )
        channels = (
            (
                await session_of(uow).execute(
                    select(CitizenChannel).where(CitizenChannel.citizen_id == person.id)
                )
            )
            .scalars()
            .all()
        )
        [run] = await uow.runs.list_for_citizen(person.id)
        answers = (
            (await session_of(uow).execute(select(Answer).where(Answer.run_id == run.id)))
            .scalars()
            .all()
        )
        leaders_own = await uow.runs.list_for_citizen(leader_row.citizen_id)
    assert person.assisted_by == leader_row.id and channels == []
    assert person.participant_id.startswith("a-")
    assert run.source == "assisted" and run.community_id is not None
    assert run.consent_record_id is not None and [a.step_id for a in answers] == ["age"]
    assert leaders_own == []
    assert leader_row.assisting_citizen_id is None

    # Nothing the leader can ask for shows the answers.
    await leader.send("/mydata")
    [document] = await leader.expect()
    data = json.loads(world.emu.file_bytes(document.file_id or ""))
    assert data["runs"] == [] and person.participant_id not in json.dumps(data)
    await leader.send("/stats")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    [report] = await leader.expect()
    assert "70" not in (report.text or "").replace("2026", "")
    assert isinstance(run, Run)


async def test_an_older_copy_of_the_question_answers_nothing_while_helping(world: World) -> None:
    """The leader's phone keeps every copy of a question; once it is asked again, a tap on
    an older copy is out of date, as it is for a citizen answering for themselves."""
    leader = await world.make_leader(1001)
    await leader.send("/assist")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    _intro, consent = await leader.expect(2)
    await leader.tap(consent, "Yes")
    _welcome, age = await leader.expect(2)
    rows = (age.reply_markup or {}).get("inline_keyboard", [])
    [seventy] = [b["callback_data"] for row in rows for b in row if "70" in b.get("text", "")]
    await leader.send("zzz")  # not one of the buttons: a hint, and the question again
    _hint, again = await leader.expect(2)
    assert again.reply_markup and "How old are you?" in (again.text or "")

    tapped = await world.emu.citizens.tap(leader.user_id, age.message_id, seventy)
    for _ in range(100):
        if tapped.answered:
            break
        await asyncio.sleep(0.05)
    assert "out of date" in (tapped.text or ""), tapped
    async with world.app.uow() as uow:
        assert (await session_of(uow).execute(select(Answer))).scalars().all() == []
