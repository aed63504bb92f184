"""The park survey's public page shows what its statement votes found, and nothing
that points at anyone: two camps of fifteen and three dissenters voted; once staff
publish the results, anyone reads the common ground and the two large groups with
what sets each apart, in their language. The dissenters' group of three (under the
default k of 10) is neither shown nor counted; no pseudonym, share or dot appears.
A consultation whose groups are all small shows no group at all.

The bot's `statements` step stores votes through `StatementRepository`; so does this."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from konsulta.bootstrap import App
from tests.cli.test_opinions_cli import CONSENSUS, STATEMENTS, camp_votes
from tests.review.conftest import Browser, add_run, logged_in
from tests.review.test_opinions_page import approved_statements


async def plant(app: App, camps: Sequence[tuple[str, int]]) -> tuple[dict[str, int], list[str]]:
    """The statements (approved) and each camp's votes; statement ids and participant ids."""
    ids = await approved_statements(app, STATEMENTS)
    pids = []
    telegram_id = 7000
    for camp, size in camps:
        for _ in range(size):
            telegram_id += 1
            pid = await add_run(app, "park-survey", telegram_id, {}, completed=False)
            pids.append(pid)
            async with app.uow() as uow:
                citizen = await uow.citizens.get_by_participant_id(pid)
                assert citizen is not None
                [run] = await uow.runs.list_for_citizen(citizen.id)
                for text, vote in zip(STATEMENTS, camp_votes(camp), strict=True):
                    await uow.statements.vote(ids[text], citizen.id, run.id, vote)
                await uow.commit()
    return ids, pids


async def publish(browser_factory: Callable[[], Browser]) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    published = await staff.post(
        "/consultations/park-survey/public", {"published": "1", "step": ["district"]}
    )
    assert published.status_code == 303


def section(page: str, ident: str) -> str:
    found = re.search(rf'<section [^>]*id="{ident}"(.*?)</section>', page, re.S)
    assert found is not None, ident
    return found.group(0)


def items(html: str, css: str) -> list[str]:
    found = re.search(rf'<ul class="{css}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


async def test_anyone_reads_the_common_ground_and_the_large_groups_but_no_small_one(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    ids, pids = await plant(app, [("A", 15), ("B", 15), ("C", 3)])
    async with app.uow() as uow:  # staff translated the street lights into Polish
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        lights = await uow.statements.get(consultation.id, ids[CONSENSUS])
        assert lights is not None
        lights.translations = {"pl": "Latarnie, które świecą w nocy"}
        await uow.commit()
    assert (await anonymous.get("/public/park-survey")).status_code == 404
    await publish(browser_factory)

    page = (await anonymous.get("/public/park-survey?lang=en")).text
    consensus = section(page, "consensus")
    assert "What people agree on" in consensus
    assert items(consensus.replace("<ul>", '<ul class="all">'), "all") == [CONSENSUS]

    groups = re.findall(r'<section class="opinion-group" [^>]*data-size="(\d+)"', page)
    assert groups == ["15", "15"]  # the three dissenters: not shown, not counted
    assert "People in this group: 15" in page and "People in this group: 3" not in page
    # Each large group is one camp: most agree with what it wants (up to five
    # statements set a group apart) and disagree with what the other camp wants.
    camp_a, camp_b = set(STATEMENTS[:4]), set(STATEMENTS[4:8])
    found = [
        (set(items(group, "agree")), set(items(group, "disagree")))
        for group in (section(page, f"opinion-group-{n}") for n in (1, 2))
    ]
    assert all(agree and disagree for agree, disagree in found)

    def camp_of(agree: set[str], disagree: set[str]) -> str:
        if agree <= camp_a and disagree <= camp_b:
            return "A"
        return "B" if agree <= camp_b and disagree <= camp_a else "neither"

    assert sorted(camp_of(agree, disagree) for agree, disagree in found) == ["A", "B"]
    # Nothing that stands for fewer people: no share, no dot, no pseudonym.
    shown = section(page, "opinion-groups")
    assert "%" not in shown and "<circle" not in page
    assert not any(pid in page for pid in pids)
    assert not re.search(r"\bp-[0-9a-z]{6,}", page)

    polish = (await anonymous.get("/public/park-survey?lang=pl")).text
    assert "Latarnie, które świecą w nocy" in section(polish, "consensus")
    assert "W czym zgadzają się uczestnicy" in polish
    widget = (await anonymous.get("/public/park-survey/embed")).text
    assert CONSENSUS in section(widget, "consensus") and 'id="opinion-group-2"' in widget


async def test_when_every_group_is_small_no_group_and_no_common_ground_is_shown(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    await plant(app, [("A", 4), ("B", 4)])
    await publish(browser_factory)
    page = await anonymous.get("/public/park-survey")
    assert page.status_code == 200
    assert 'id="consensus"' not in page.text and 'id="opinion-groups"' not in page.text
    assert CONSENSUS not in page.text


async def test_a_consultation_without_statements_shows_no_opinion_section(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    await publish(browser_factory)
    page = (await anonymous.get("/public/park-survey")).text
    assert 'id="opinion-groups"' not in page and 'id="consensus"' not in page


async def test_anyone_reads_what_became_of_the_ideas_staff_marked(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App
) -> None:
    """You said, we did: the street lights are done, the car park is not possible
    (with staff's reason); ideas staff have not decided on are not listed."""
    ids, _pids = await plant(app, [("A", 3)])
    staff = await logged_in(browser_factory, "staff-a@example.org")
    queue = "/consultations/park-survey/statements"
    lights, car_park = ids[CONSENSUS], ids[STATEMENTS[4]]
    assert (
        await staff.post(f"{queue}/{lights}/idea-status", {"status": "done"})
    ).status_code == 303
    marked = await staff.post(
        f"{queue}/{car_park}/idea-status",
        {"status": "not_possible", "reason": "The plot belongs to the parish"},
    )
    assert marked.status_code == 303
    await publish(browser_factory)

    ideas = section((await anonymous.get("/public/park-survey?lang=en")).text, "ideas")
    assert "What became of the ideas" in ideas
    assert f"<strong>Done</strong>: {CONSENSUS}" in ideas
    assert (
        f"<strong>Not possible</strong>: {STATEMENTS[4]} (The plot belongs to the parish)" in ideas
    )
    assert STATEMENTS[0] not in ideas  # not decided on
    ukrainian = section((await anonymous.get("/public/park-survey?lang=uk")).text, "ideas")
    assert "<strong>Зроблено</strong>" in ukrainian
