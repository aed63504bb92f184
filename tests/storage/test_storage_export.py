"""The export reads every run with its answers as a stream, batch by batch."""

from __future__ import annotations

from collections.abc import Callable

from storage_stories import NewCitizen, Published

from storage.uow import UnitOfWork


async def test_the_streaming_export_yields_every_run_with_its_answers(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    expected: dict[int, list[str]] = {}
    for n in range(12):
        citizen = await new_citizen(6000 + n)
        async with uow_factory() as uow:
            run = await uow.runs.create(
                citizen_id=citizen.id,
                consultation_id=published.consultation.id,
                flow_version_id=published.version.id,
                state={},
                language="pl",
                source="telegram",
            )
            steps = ["q1", "q2"][: n % 3]  # some runs have no answers yet
            for step in steps:
                await uow.answers.upsert(run.id, step, f"{step}-{n}")
            if n % 2:
                await uow.runs.save(run, status="completed")
            await uow.commit()
        expected[run.id] = [f"{step}-{n}" for step in steps]

    async with uow_factory() as uow:
        exported = [
            (item.run.id, item.participant_id, [a.value for a in item.answers])
            async for item in uow.runs.stream_for_export(published.consultation.id, batch_size=3)
        ]
        completed = [
            item.run.id
            async for item in uow.runs.stream_for_export(
                published.consultation.id, statuses=["completed"]
            )
        ]
    assert [(run_id, values) for run_id, _, values in exported] == list(expected.items())
    assert all(pid.startswith("p-") for _, pid, _ in exported)
    assert completed == list(expected)[1::2]
