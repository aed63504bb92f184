"""/mydata shows a citizen everything stored about them; erasure leaves nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

from database_checks import session_of
from sqlalchemy import String, cast, func, select
from storage_stories import NewCitizen, Published

from storage.citizen_data import citizen_data
from storage.models import (
    Answer,
    Citizen,
    CitizenChannel,
    ConsentRecord,
    InboxUpdate,
    OutboxMessage,
    Run,
)
from storage.uow import UnitOfWork


async def _take_part(
    uow_factory: Callable[[], UnitOfWork], published: Published, citizen: Citizen, place: str
) -> int:
    async with uow_factory() as uow:
        consent = await uow.consents.record(
            citizen.id, "participation", "v1", True, consultation_id=published.consultation.id
        )
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={"step": "q2"},
            language="pl",
            source="telegram",
            consent_record_id=consent.id,
        )
        follow_up = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={},
            language="pl",
            source="followup",
            parent_run_id=run.id,
        )
        await uow.answers.upsert(run.id, "q1", place, display_text=place)
        await uow.answers.upsert(follow_up.id, "q1", "still " + place)
        await uow.outbox.enqueue(
            citizen.id * 10, "dialog", {"text": "Czego potrzebujesz?"}, citizen_id=citizen.id
        )
        await uow.commit()
    return run.id


async def test_mydata_shows_everything_about_the_citizen_and_nobody_else(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    anna = await new_citizen(4242)
    olek = await new_citizen(5151)
    await _take_part(uow_factory, published, anna, "Podgórze")
    await _take_part(uow_factory, published, olek, "Bronowice")
    async with uow_factory() as uow:
        await uow.citizens.set_language(anna, "uk")
        await uow.commit()
        data = await uow.read(citizen_data, anna.id)

    text = json.dumps(data)  # plain JSON
    assert "Bronowice" not in text and olek.participant_id not in text
    assert data["participant_id"] == anna.participant_id
    assert data["language"] == "uk"
    assert data["channels"] == [
        {"channel": "telegram", "user_id": 4242, "chat_id": 4242, "display_name": "Anna"}
    ]
    assert [c["purpose"] for c in data["consents"]] == ["participation"]
    assert [r["source"] for r in data["runs"]] == ["telegram", "followup"]
    assert data["runs"][0]["answers"][0]["value"] == "Podgórze"
    assert data["runs"][0]["consultation"] == "housing"
    assert data["messages_waiting"] == 1


async def test_erasure_leaves_no_answer_and_no_telegram_id(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    anna = await new_citizen(4242)
    olek = await new_citizen(5151)
    await _take_part(uow_factory, published, anna, "Podgórze")
    olek_run = await _take_part(uow_factory, published, olek, "Bronowice")
    async with uow_factory() as uow:
        await uow.inbox.add(
            77, {"message": {"from": {"id": 4242}, "text": "/forget"}}, chat_id=4242
        )
        await uow.commit()

    async with uow_factory() as uow:
        await uow.citizens.erase(anna)
        await uow.commit()

    async with uow_factory() as uow:
        session = session_of(uow)
        assert await uow.citizens.find(4242) is None
        assert await uow.citizens.chat_id(anna.id) is None
        assert await session.get(Citizen, anna.id) is None
        for model in (Run, ConsentRecord, OutboxMessage, CitizenChannel):
            rows = await session.scalar(
                select(func.count()).select_from(model).where(model.citizen_id == anna.id)
            )
            assert rows == 0, model.__name__
        answers = list(await session.scalars(select(Answer.value)))
        assert "Podgórze" not in answers and "still Podgórze" not in answers
        # the replayed update is still recognised, but says nothing about Anna any more
        assert await uow.inbox.add(77, {"again": True}) is False
        inbox_text = await session.scalar(select(cast(InboxUpdate.raw, String)))
        assert inbox_text is not None and "4242" not in inbox_text
        assert (await session.get(InboxUpdate, ("", 77))).chat_id is None  # type: ignore[union-attr]
        # nobody else lost anything
        assert await uow.citizens.find(5151) is not None
        assert [a.value for a in await uow.answers.list_for_run(olek_run)] == ["Bronowice"]
