"""Citizens' statements, votes and priorities as storage keeps them (issue 19): seeded
statements and proposals, moderation, one vote per participant, the vote matrix, top
picks, and what /mydata, /delete and the retention purge do with them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from storage_stories import NewCitizen, Published

from storage.citizen_data import citizen_data
from storage.models import Citizen, IdeaStatus, StatementStatus, Vote
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _run(uow_factory: Callable[[], UnitOfWork], published: Published, who: Citizen) -> int:
    async with uow_factory() as uow:
        run = await uow.runs.create(
            citizen_id=who.id,
            consultation_id=published.consultation.id,
            flow_version_id=published.version.id,
            state={},
            language="pl",
            source="telegram",
        )
        await uow.commit()
    return run.id


async def test_citizens_vote_on_seeded_and_approved_statements_and_pick_their_top_three(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    consultation = published.consultation.id
    anna, piotr = await new_citizen(101), await new_citizen(102)
    anna_run, piotr_run = (
        await _run(uow_factory, published, anna),
        await _run(uow_factory, published, piotr),
    )
    async with uow_factory() as uow:
        seeds = [("bus", "Więcej autobusów"), ("bench", "Ławki w parku")]
        await uow.statements.seed(consultation, "ideas", seeds, "pl", NOW)
        await uow.statements.seed(consultation, "ideas", seeds, "pl", NOW)  # idempotent
        own = await uow.statements.add(
            consultation, "ideas", "Lekarz w gminie raz w tygodniu", "pl", author_run_id=anna_run
        )
        await uow.commit()
    async with uow_factory() as uow:
        shown = await uow.statements.approved(consultation, "ideas")
        assert [s.seed_key for s in shown] == ["bus", "bench"]  # the proposal waits
        queue = await uow.statements.list_for(consultation, status=StatementStatus.PENDING)
        assert [s.id for s in queue] == [own.id]
        statement = await uow.statements.get(consultation, own.id)
        assert statement is not None
        await uow.statements.correct(statement, "Lekarz w gminie raz w tygodniu.", None, NOW)
        await uow.statements.approve(statement, None, NOW)
        bus, bench = shown
        await uow.statements.vote(bus.id, anna.id, anna_run, Vote.AGREE)
        await uow.statements.vote(bus.id, anna.id, anna_run, Vote.DISAGREE)  # she changes
        await uow.statements.vote(bench.id, anna.id, anna_run, Vote.PASS)
        await uow.statements.vote(own.id, piotr.id, piotr_run, Vote.AGREE)
        await uow.statements.vote(bus.id, piotr.id, piotr_run, Vote.AGREE)
        await uow.statements.set_priorities(piotr_run, "top", [own.id, bus.id, bench.id])
        await uow.commit()
    async with uow_factory() as uow:
        shown = await uow.statements.approved(consultation, "ideas")
        assert [(s.text, s.agree, s.disagree, s.passed) for s in shown] == [
            ("Więcej autobusów", 1, 1, 0),
            ("Ławki w parku", 0, 0, 1),
            ("Lekarz w gminie raz w tygodniu.", 1, 0, 0),
        ]
        matrix = await uow.statements.vote_matrix(consultation)
        assert matrix == {
            anna.participant_id: {bus.id: -1, bench.id: 0},
            piotr.participant_id: {bus.id: 1, own.id: 1},
        }
        assert await uow.statements.votes_of(anna.id, consultation) == {bus.id: -1, bench.id: 0}
        assert await uow.statements.priorities(consultation) == {
            piotr.participant_id: [own.id, bus.id, bench.id]
        }
        statement = await uow.statements.get(consultation, own.id)
        assert statement is not None and statement.text == "Lekarz w gminie raz w tygodniu"
        assert await uow.statements.supporters(statement) == sorted([anna.id, piotr.id])
        await uow.statements.set_idea_status(statement, IdeaStatus.IN_PROGRESS, None, NOW)
        await uow.commit()


async def test_a_duplicate_is_merged_with_its_votes_and_a_rejection_keeps_its_reason(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    consultation = published.consultation.id
    anna, piotr = await new_citizen(201), await new_citizen(202)
    anna_run, piotr_run = (
        await _run(uow_factory, published, anna),
        await _run(uow_factory, published, piotr),
    )
    async with uow_factory() as uow:
        first = await uow.statements.add(
            consultation, "ideas", "Więcej ławek", "pl", status=StatementStatus.APPROVED
        )
        twin = await uow.statements.add(
            consultation, "ideas", "Wiecej lawek!", "pl", status=StatementStatus.APPROVED
        )
        spam = await uow.statements.add(consultation, "ideas", "kup tanio", "pl")
        await uow.statements.vote(first.id, anna.id, anna_run, Vote.AGREE)
        await uow.statements.vote(twin.id, anna.id, anna_run, Vote.DISAGREE)
        await uow.statements.vote(twin.id, piotr.id, piotr_run, Vote.AGREE)
        await uow.statements.merge(twin, first, None, NOW)
        await uow.statements.reject(spam, "reklama", None, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        shown = await uow.statements.approved(consultation, "ideas")
        assert [(s.id, s.agree, s.disagree) for s in shown] == [(first.id, 2, 0)]
        rejected = await uow.statements.get(consultation, spam.id)
        assert rejected is not None
        assert (rejected.status, rejected.rejection_reason) == ("rejected", "reklama")
        assert await uow.statements.get(consultation + 1, first.id) is None


async def test_mydata_shows_a_citizens_statements_and_votes_and_erasure_removes_them(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    consultation = published.consultation.id
    anna, piotr = await new_citizen(301), await new_citizen(302)
    anna_run, piotr_run = (
        await _run(uow_factory, published, anna),
        await _run(uow_factory, published, piotr),
    )
    async with uow_factory() as uow:
        hers = await uow.statements.add(
            consultation, "ideas", "Przystanek bliżej", "pl", author_run_id=anna_run
        )
        await uow.statements.approve(hers, None, NOW)
        seeded = await uow.statements.add(
            consultation, "ideas", "Ławki", "pl", status=StatementStatus.APPROVED
        )
        await uow.statements.vote(seeded.id, anna.id, anna_run, Vote.AGREE)
        await uow.statements.vote(hers.id, piotr.id, piotr_run, Vote.AGREE)
        await uow.statements.set_priorities(anna_run, "top", [seeded.id])
        await uow.commit()
    async with uow_factory() as uow:
        data = await uow.read(citizen_data, anna.id)
        assert [s["text"] for s in data["statements_written"]] == ["Przystanek bliżej"]
        assert data["statement_votes"][0]["vote"] == "agree"
        assert [p["statement"] for p in data["priorities"]] == ["Ławki"]
        assert (await uow.read(citizen_data, piotr.id))["statements_written"] == []
        await uow.citizens.erase(anna)
        await uow.commit()
    async with uow_factory() as uow:
        shown = await uow.statements.approved(consultation, "ideas")
        assert [(s.text, s.votes) for s in shown] == [("Ławki", 0)]
        assert await uow.statements.vote_matrix(consultation) == {}
        assert await uow.statements.priorities(consultation) == {}


async def test_the_retention_purge_keeps_approved_ideas_without_their_authors(
    uow_factory: Callable[[], UnitOfWork], published: Published, new_citizen: NewCitizen
) -> None:
    consultation = published.consultation.id
    anna = await new_citizen(401)
    anna_run = await _run(uow_factory, published, anna)
    async with uow_factory() as uow:
        kept = await uow.statements.add(
            consultation, "ideas", "Ławki", "pl", author_run_id=anna_run
        )
        await uow.statements.approve(kept, None, NOW)
        await uow.statements.add(consultation, "ideas", "Jeszcze nie", "pl", author_run_id=anna_run)
        await uow.statements.vote(kept.id, anna.id, anna_run, Vote.AGREE)
        await uow.commit()
    async with uow_factory() as uow:
        purged = await uow.retention.purge_participation(consultation)
        await uow.commit()
    assert purged.statements == 1
    async with uow_factory() as uow:
        left = await uow.statements.list_for(consultation)
        assert [(s.text, s.author_run_id) for s in left] == [("Ławki", None)]
        assert await uow.statements.vote_matrix(consultation) == {}
