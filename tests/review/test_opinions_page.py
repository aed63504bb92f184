"""The park survey's opinion groups on the dashboard: thirty participants split into two
camps of fifteen over eight statements and all agree on a ninth. Staff see both groups
with what sets each apart, the common ground and what divides them, a map of dots
without names, and download the pseudonymous votes and the group summary (audited as
exports). Every role of Org A reads the page; Org B gets a 404.

The bot's `statements` step does not exist yet, so the statements and votes are stored
the way it will store them, through `StatementRepository`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence

import pytest

from konsulta.bootstrap import App
from storage.models import StatementStatus, Vote
from tests.review.conftest import Browser, add_run, logged_in

PAGE = "/consultations/park-survey/opinions"
STATEMENTS = [f"Park idea {n}" for n in range(1, 9)] + ["Keep the park open at night"]
CONSENSUS = STATEMENTS[8]


async def approved_statements(app: App, texts: Sequence[str]) -> dict[str, int]:
    """`texts` as the park survey's approved statements (staff added them); text -> id."""
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        ids = {
            text: (
                await uow.statements.add(
                    consultation.id, "ideas", text, "en", status=StatementStatus.APPROVED
                )
            ).id
            for text in texts
        }
        await uow.commit()
    return ids


async def plant_camps(app: App, camp_size: int = 15) -> tuple[dict[str, int], list[str]]:
    """Camp A agrees with ideas 1-4 and disagrees with 5-8, camp B the opposite; all
    agree with the ninth. Returns statement text -> id, and the participant ids."""
    ids = await approved_statements(app, STATEMENTS)
    pids = []
    for n in range(2 * camp_size):
        pid = await add_run(app, "park-survey", 5000 + n, {}, completed=False)
        pids.append(pid)
        camp_a = n < camp_size
        async with app.uow() as uow:
            citizen = await uow.citizens.get_by_participant_id(pid)
            assert citizen is not None
            [run] = await uow.runs.list_for_citizen(citizen.id)
            for i, text in enumerate(STATEMENTS):
                wants = i == 8 or (i < 4) == camp_a
                vote = Vote.AGREE if wants else Vote.DISAGREE
                await uow.statements.vote(ids[text], citizen.id, run.id, vote)
            await uow.commit()
    return ids, pids


def section(page: str, ident: str) -> str:
    found = re.search(rf'<section [^>]*id="{ident}"(.*?)</section>', page, re.S)
    assert found is not None, ident
    return found.group(0)


async def test_staff_see_two_camps_the_common_ground_and_download_both_csvs(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    ids, pids = await plant_camps(app)
    staff = await logged_in(browser_factory, "staff-a@example.org")

    consultation_page = (await staff.get("/consultations/park-survey")).text
    assert f'href="{PAGE}"' in consultation_page

    page = (await staff.get(PAGE)).text
    assert "30 participants voted" in page and "9 statements" in page
    assert section(page, "group-1").count("15 participants") == 1
    assert 'data-size="15"' in section(page, "group-2")
    assert "group-3" not in page
    consensus, divisive = section(page, "consensus"), section(page, "divisive")
    assert CONSENSUS in consensus and CONSENSUS not in divisive
    assert all(text in divisive for text in STATEMENTS[:8])
    # The map: one dot per participant, no pseudonym anywhere on the page.
    drawn = re.search(r'<svg id="map"(.*?)</svg>', page, re.S)
    assert drawn is not None and drawn.group(0).count("<circle ") == 30
    assert not any(pid in page for pid in pids)

    votes = await staff.get(f"{PAGE}/votes.csv")
    assert votes.status_code == 200
    assert votes.headers["content-disposition"] == 'attachment; filename="park-survey-votes.csv"'
    rows = list(csv.DictReader(io.StringIO(votes.text)))
    assert len(rows) == 30 * 9
    assert {r["participant"] for r in rows} == set(pids)
    assert {int(r["vote"]) for r in rows if int(r["statement"]) == ids[CONSENSUS]} == {1}

    summary = await staff.get(f"{PAGE}/groups.csv")
    summary_rows = list(csv.DictReader(io.StringIO(summary.text)))
    assert {r["group_size"] for r in summary_rows if r["kind"] == "representative"} == {"15"}
    assert [r["text"] for r in summary_rows if r["kind"] == "consensus"] == [CONSENSUS]

    async with app.uow() as uow:
        log = await uow.audit.search(organisation_id=None)
    exports = [e.detail["what"] for e in reversed(log) if e.action == "export"]
    assert exports == ["votes", "groups"]
    assert any(e.action == "view" and e.detail.get("page") == "opinions" for e in log)


async def test_with_hardly_a_vote_the_page_says_to_come_back_later(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = await staff.get(PAGE)
    assert page.status_code == 200
    assert "Not enough votes yet" in page.text
    assert "<circle" not in page.text


@pytest.mark.parametrize(
    "email",
    [
        "viewer-a@example.org",
        "staff-a@example.org",
        "admin-a@example.org",
        "platform@example.org",
    ],
)
async def test_every_role_of_the_organisation_reads_the_groups(
    browser_factory: Callable[[], Browser], app: App, email: str
) -> None:
    await plant_camps(app, camp_size=3)
    browser = await logged_in(browser_factory, email)
    page = await browser.get(PAGE)
    assert page.status_code == 200
    # Groups of three are under the minimum of ten: counted, grey, not described.
    assert "group-1" not in page.text
    assert "2 smaller groups with 6 participants in all are not described" in page.text
    assert (await browser.get(f"{PAGE}/votes.csv")).status_code == 200


async def test_another_organisation_finds_nothing(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    await plant_camps(app, camp_size=3)
    other = await logged_in(browser_factory, "staff-b@example.org")
    for url in (PAGE, f"{PAGE}/votes.csv", f"{PAGE}/groups.csv"):
        assert (await other.get(url)).status_code == 404
    assert (await anonymous.get(PAGE)).status_code in (302, 303)


async def pick(app: App, pid: str, ideas: list[int]) -> None:
    """The participant's top picks on the `top` priorities step, most important first,
    stored as the bot's `priorities` step stores them."""
    async with app.uow() as uow:
        citizen = await uow.citizens.get_by_participant_id(pid)
        assert citizen is not None
        [run] = await uow.runs.list_for_citizen(citizen.id)
        await uow.statements.set_priorities(run.id, "top", ideas)
        await uow.commit()


def borda_rows(page: str, ident: str) -> list[tuple[str, int, int]]:
    """(idea text, points, picked by) of one Borda table, in the order shown."""
    found = re.search(rf'<table class="borda" id="{ident}">(.*?)</table>', page, re.S)
    assert found is not None, ident
    rows = re.findall(
        r'data-points="(\d+)" data-picked="(\d+)"><td>(.*?)</td>', found.group(1), re.S
    )
    return [(text, int(points), int(picked)) for points, picked, text in rows]


async def test_staff_see_the_priorities_counted_overall_and_per_group(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    ids, pids = await plant_camps(app)
    idea = [ids[text] for text in STATEMENTS]
    for n, pid in enumerate(pids):
        # Camp A: idea 1, then the common ground, then idea 2; camp B: the common
        # ground first, then ideas 5 and 6.
        await pick(app, pid, [idea[0], idea[8], idea[1]] if n < 15 else [idea[8], idea[4], idea[5]])
    staff = await logged_in(browser_factory, "staff-a@example.org")

    page = (await staff.get(PAGE)).text
    priorities = section(page, "priorities")
    assert "30 participants picked their priorities" in priorities
    assert borda_rows(priorities, "priorities-overall") == [
        (CONSENSUS, 75, 30),
        ("Park idea 1", 45, 15),
        ("Park idea 5", 30, 15),
        ("Park idea 2", 15, 15),
        ("Park idea 6", 15, 15),
    ]
    # Which group is camp A depends on the clustering's numbering, not on the camps.
    by_group = sorted(borda_rows(priorities, f"priorities-group-{n}") for n in (1, 2))
    assert by_group == [
        [(CONSENSUS, 45, 15), ("Park idea 5", 30, 15), ("Park idea 6", 15, 15)],
        [("Park idea 1", 45, 15), (CONSENSUS, 30, 15), ("Park idea 2", 15, 15)],
    ]


async def test_small_groups_picks_count_overall_only_and_a_merged_duplicate_counts_for_its_original(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    ids, pids = await plant_camps(app, camp_size=3)
    idea = [ids[text] for text in STATEMENTS]
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        duplicate = await uow.statements.add(consultation.id, "ideas", "Park idea one", "en")
        rejected = await uow.statements.add(consultation.id, "ideas", "Beer garden", "en")
        original = await uow.statements.get(consultation.id, idea[0])
        assert original is not None
        await uow.statements.merge(duplicate, original, None, duplicate.created_at)
        await uow.statements.reject(rejected, "Off topic", None, rejected.created_at)
        await uow.commit()
    await pick(app, pids[0], [idea[0], idea[1]])
    # A duplicate counts once, at its best place, for the idea it was merged into.
    await pick(app, pids[1], [duplicate.id, rejected.id, idea[0]])
    await pick(app, pids[2], [rejected.id])
    staff = await logged_in(browser_factory, "staff-a@example.org")

    priorities = section((await staff.get(PAGE)).text, "priorities")
    assert "2 participants picked their priorities" in priorities
    assert borda_rows(priorities, "priorities-overall") == [
        ("Park idea 1", 6, 2),
        ("Park idea 2", 2, 1),
    ]
    assert "priorities-group-" not in priorities  # groups of three are not described
    assert "Beer garden" not in priorities and "Park idea one" not in priorities


async def test_without_picks_the_page_says_nobody_has_picked_yet(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    await plant_camps(app)
    staff = await logged_in(browser_factory, "staff-a@example.org")
    priorities = section((await staff.get(PAGE)).text, "priorities")
    assert "Nobody has picked their priorities yet." in priorities
    assert "<table" not in priorities
