"""A citizen's answers: one row per question, however often they go back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from storage_stories import NewCitizen, Published

from storage.models import Citizen, Run
from storage.uow import UnitOfWork


async def test_a_citizen_answers_two_questions_goes_back_and_reanswers(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    citizen = await new_citizen(1001)
    async with uow_factory() as uow:
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={"step": "q1"},
            language="pl",
            source="telegram",
        )
        await uow.answers.upsert(run.id, "q1", "Kraków", display_text="Kraków")
        await uow.runs.save(run, state={"step": "q2"})
        await uow.commit()
    async with uow_factory() as uow:
        await uow.answers.upsert(run.id, "q2", ["ramp", "lift"], display_text="Ramp, lift")
        await uow.commit()
    # /back, then both questions answered again
    async with uow_factory() as uow:
        await uow.answers.upsert(run.id, "q2", None, skipped=True)
        await uow.answers.upsert(run.id, "q1", "Nowa Huta", display_text="Nowa Huta")
        await uow.commit()

    async with uow_factory() as uow:
        answers = await uow.answers.list_for_run(run.id)
    assert sorted((a.step_id, a.value, a.skipped) for a in answers) == [
        ("q1", "Nowa Huta", False),
        ("q2", None, True),
    ]
    assert [a.step_id for a in answers] == ["q2", "q1"]  # in the order last answered


async def test_restarting_a_run_forgets_its_answers(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    citizen = await new_citizen(1002)
    async with uow_factory() as uow:
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={},
            language="pl",
            source="simulator",
        )
        await uow.answers.upsert(run.id, "q1", 1)
        await uow.answers.upsert(run.id, "q2", {"lat": 50.06, "lon": 19.94})
        assert await uow.answers.delete_steps(run.id, ["q2"]) == 1
        assert await uow.answers.delete_for_run(run.id) == 1
        assert await uow.answers.list_for_run(run.id) == []
        await uow.commit()


async def test_runs_keep_state_status_and_aware_utc_times(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    citizen = await new_citizen(1003)
    warsaw_noon = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    async with uow_factory() as uow:
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={"step": "q1", "vars": {"n": 1}},
            language="uk",
            source="link:leader-7",
        )
        assert await uow.runs.get_active(citizen.id, published.consultation.id) == run
        await uow.answers.upsert(run.id, "q1", 3, answered_at=warsaw_noon)
        await uow.runs.save(run, state={"step": None}, status="completed")
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.runs.get(run.id)
        assert stored is not None
        assert stored.status == "completed"
        assert stored.state == {"step": None}
        assert stored.completed_at is not None and stored.completed_at.tzinfo == UTC
        assert await uow.runs.get_active(citizen.id, published.consultation.id) is None
        (answer,) = await uow.answers.list_for_run(run.id)
    assert answer.answered_at == warsaw_noon
    assert answer.answered_at.tzinfo == UTC
    assert answer.answered_at.utcoffset() == timedelta(0)


async def test_a_naive_datetime_is_refused(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    citizen = await new_citizen(1004)
    async with uow_factory() as uow:
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={},
            language="pl",
            source="telegram",
        )
        with pytest.raises(Exception, match="naive datetime"):
            await uow.answers.upsert(run.id, "q1", 1, answered_at=datetime(2026, 1, 1))


async def test_a_tap_reads_its_citizen_run_and_the_chats_newest_open_question_together(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    """One read for what a tapped button is checked against (on PostgreSQL each
    statement is a round trip): the citizen, the latest active run and the newest open
    keyboard."""
    assert await find_with_run(uow_factory, 1009) is None  # never seen
    citizen = await new_citizen(1009)
    found = await find_with_run(uow_factory, 1009)
    assert found is not None and found[0].id == citizen.id and found[1:] == (None, None)
    run = await start_run(uow_factory, published, citizen)
    found = await find_with_run(uow_factory, 1009)
    assert found is not None and found[1] is not None
    assert (found[1].id, found[2]) == (run.id, None)  # no question shown yet
    async with uow_factory() as uow:
        await uow.keyboards.opened([(1009, 40), (1009, 41), (2000, 99)])
        await uow.keyboards.closed(1009, 41)
        await uow.commit()
    second = await start_run(uow_factory, published, citizen)  # now the one touched last
    async with uow_factory() as uow:
        latest = await uow.runs.latest_active(citizen.id)
        newest = await uow.keyboards.newest(1009)
    found = await find_with_run(uow_factory, 1009)
    assert found is not None and found[1] is not None and latest is not None
    assert found[1].id == latest.id == second.id != run.id
    assert found[2] == newest == 40  # 41 is closed, 99 is another chat's


async def find_with_run(
    uow_factory: Callable[[], UnitOfWork], telegram_id: int
) -> tuple[Citizen, Run | None, int | None] | None:
    async with uow_factory() as uow:
        return await uow.citizens.find_with_run(telegram_id, telegram_id, telegram_id)


async def start_run(
    uow_factory: Callable[[], UnitOfWork], published: Published, citizen: Citizen
) -> Run:
    async with uow_factory() as uow:
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={"current": "q1"},
            language="pl",
            source="telegram",
        )
        await uow.commit()
    return run
