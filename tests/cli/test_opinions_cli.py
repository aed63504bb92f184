"""Staff ask `konsulta opinions housing` who thinks alike: the two camps of a divided
village come out as two groups of fifteen, with the statements that set each apart,
the one thing everyone agrees on, and the ones that split them. A handful of
dissenters is counted but not described; a consultation with hardly a vote gets a
kind "not yet". Runs the command in the test's process (the grouping is the slow
part, not the process start-up we would otherwise pay for)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import SecretStr

from bot.cli import build_parser
from konsulta.settings import Settings
from storage.engine import create_engine, create_sessionmaker
from storage.models import StatementStatus, Vote
from storage.uow import UnitOfWork
from tests.storage.storage_stories import FLOW_YAML

SECRET = "opinions-test-secret"

#: Statements 1-4 camp A wants, 5-8 camp B wants, and one everybody wants.
STATEMENTS = [
    "More buses to the county town",
    "A doctor in the village once a week",
    "Benches along the main road",
    "A footpath to the school",
    "A new car park by the church",
    "Wider road through the centre",
    "A petrol station at the exit",
    "Longer opening hours of the shop",
    "Street lights that work at night",
]
CONSENSUS = STATEMENTS[8]


def camp_votes(camp: str) -> list[int]:
    """Camp A agrees with 1-4 and disagrees with 5-8, camp B the opposite, camp C (the
    dissenters) mixes them; everybody agrees with the street lights."""
    a = [Vote.AGREE] * 4 + [Vote.DISAGREE] * 4
    b = [Vote.DISAGREE] * 4 + [Vote.AGREE] * 4
    c = [Vote.AGREE, Vote.AGREE, Vote.DISAGREE, Vote.DISAGREE] * 2
    return [int(v) for v in {"A": a, "B": b, "C": c}[camp]] + [int(Vote.AGREE)]


async def plant(url: str, camps: Sequence[tuple[str, int]], statements: int = 9) -> None:
    """The housing consultation with its statements and the camps' votes."""
    engine = create_engine(url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            org = await uow.organisations.get_or_create("gmina-demo", "Gmina Demo")
            version = await uow.consultations.publish_version(
                "housing", 1, FLOW_YAML, org, "Mieszkania dla seniorów"
            )
            consultation = await uow.consultations.get_by_slug("housing")
            assert consultation is not None
            ids = [
                (
                    await uow.statements.add(
                        consultation.id, "ideas", text, "en", status=StatementStatus.APPROVED
                    )
                ).id
                for text in STATEMENTS[:statements]
            ]
            telegram_id = 1000
            for camp, size in camps:
                for _ in range(size):
                    telegram_id += 1
                    citizen = await uow.citizens.get_or_create(
                        telegram_id, telegram_id, secret=SECRET
                    )
                    run = await uow.runs.create(
                        citizen_id=citizen.id,
                        consultation_id=consultation.id,
                        flow_version_id=version.id,
                        state={},
                        language="en",
                        source="telegram",
                    )
                    for statement_id, vote in zip(ids, camp_votes(camp), strict=False):
                        await uow.statements.vote(statement_id, citizen.id, run.id, vote)
            await uow.commit()
    finally:
        await engine.dispose()


async def opinions(url: str, consultation: str, capsys: pytest.CaptureFixture[str]) -> str:
    """`konsulta opinions CONSULTATION`, parsed by the real parser, run here."""
    args = build_parser().parse_args(["opinions", consultation])
    settings = Settings(
        database_url=url,
        pseudonym_secret=SecretStr(SECRET),
        _env_file=None,  # type: ignore[call-arg]
    )
    code = await args.handler(args, settings)
    out = capsys.readouterr().out
    assert code == 0, out
    return out


async def test_staff_see_two_camps_of_fifteen_and_what_both_agree_on(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await plant(migrated_url, [("A", 15), ("B", 15)])

    out = await opinions(migrated_url, "housing", capsys)

    assert "30 participant(s) voted on 9 statement(s)" in out
    assert "2 opinion group(s)" in out
    assert out.count(": 15 participant(s)") == 2
    # Each group is set apart by what its camp agrees with and the other camp wants.
    group_1, rest = out.split("Group 1:")[1].split("Group 2:")
    group_2 = rest.split("Consensus")[0]
    first, second = ("A", "B") if "agree    More buses" in group_1 else ("B", "A")
    for group, camp in ((group_1, first), (group_2, second)):
        wants = STATEMENTS[:4] if camp == "A" else STATEMENTS[4:8]
        for line in group.strip().splitlines()[1:]:
            share, stance, text = line.split(maxsplit=2)
            assert share == "100%"
            assert (text in wants) == (stance == "agree"), line
    consensus, divisive = out.split("Consensus")[1].split("Divisive")
    assert f"{CONSENSUS} (at least 100% agree in each group)" in consensus
    assert all(text in divisive for text in STATEMENTS[:8])
    assert CONSENSUS not in divisive

    # The look is in the audit log, as the CLI's exports are.
    engine = create_engine(migrated_url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            rows = await uow.audit.search(organisation_id=None, action="view", email="cli")
    finally:
        await engine.dispose()
    assert [(r.target, r.detail["page"]) for r in rows] == [("housing", "opinions")]


async def test_a_handful_of_dissenters_is_counted_not_described(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await plant(migrated_url, [("A", 15), ("B", 15), ("C", 3)])

    out = await opinions(migrated_url, "housing", capsys)

    assert "33 participant(s) voted on 9 statement(s)" in out
    assert out.count(": 15 participant(s)") == 2
    assert "Group 3" not in out
    assert "1 smaller group(s) with 3 participant(s) in all, each under 10 people" in out
    assert CONSENSUS in out.split("Consensus")[1].split("Divisive")[0]


async def test_with_hardly_a_vote_staff_are_told_to_wait_not_shown_an_error(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await plant(migrated_url, [("A", 2)], statements=1)

    out = await opinions(migrated_url, "housing", capsys)

    assert "2 participant(s) voted on 1 statement(s)" in out
    assert "Not enough votes yet" in out
    assert "Group" not in out


async def plant_picks(url: str, camps: Sequence[tuple[str, int]]) -> None:
    """Each camp's top three on the `top` priorities step: camp A the bus first, then
    the street lights, then the doctor; camp B the street lights first, then the car
    park and the wider road. Stored as the bot's `priorities` step stores them."""
    engine = create_engine(url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            consultation = await uow.consultations.get_by_slug("housing")
            assert consultation is not None
            ids = {s.text: s.id for s in await uow.statements.list_for(consultation.id)}
            top = {
                "A": [STATEMENTS[0], CONSENSUS, STATEMENTS[1]],
                "B": [CONSENSUS, STATEMENTS[4], STATEMENTS[5]],
            }
            telegram_id = 1000
            for camp, size in camps:
                for _ in range(size):
                    telegram_id += 1
                    citizen = await uow.citizens.get_or_create(
                        telegram_id, telegram_id, secret=SECRET
                    )
                    [run] = await uow.runs.list_for_citizen(citizen.id)
                    picks = [ids[text] for text in top.get(camp, [])]
                    await uow.statements.set_priorities(run.id, "top", picks)
            await uow.commit()
    finally:
        await engine.dispose()


async def test_staff_see_the_priorities_overall_and_per_group(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    camps = [("A", 15), ("B", 15), ("C", 3)]
    await plant(migrated_url, camps)
    await plant_picks(migrated_url, camps)

    out = await opinions(migrated_url, "housing", capsys)

    priorities = out.split("Priorities (Borda: 3/2/1 points), 30 participant(s) picked:")[1]
    everyone, groups = priorities.split("  Group 1:")
    assert [line.split(maxsplit=5) for line in everyone.strip().splitlines()[1:]] == [
        ["75", "point(s)", "picked", "by", "30", CONSENSUS],
        ["45", "point(s)", "picked", "by", "15", STATEMENTS[0]],
        ["30", "point(s)", "picked", "by", "15", STATEMENTS[4]],
        ["15", "point(s)", "picked", "by", "15", STATEMENTS[1]],
        ["15", "point(s)", "picked", "by", "15", STATEMENTS[5]],
    ]
    group_1, group_2 = groups.split("  Group 2:")
    tops = sorted(
        [line.split(maxsplit=5)[0::5] for line in group.strip().splitlines()]
        for group in (group_1, group_2)
    )
    assert tops == [
        [["45", STATEMENTS[0]], ["30", CONSENSUS], ["15", STATEMENTS[1]]],
        [["45", CONSENSUS], ["30", STATEMENTS[4]], ["15", STATEMENTS[5]]],
    ]
    assert "Group 3" not in out  # the three dissenters' group is not described


async def test_before_anyone_picks_the_priorities_say_none_yet(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await plant(migrated_url, [("A", 2)], statements=1)
    out = await opinions(migrated_url, "housing", capsys)
    assert out.rstrip().endswith("0 participant(s) picked:\n    none yet")
