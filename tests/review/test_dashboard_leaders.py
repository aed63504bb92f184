"""Communities, leaders, invite links, one-time leader links and leader broadcasts on
the dashboard: every route for every role, on the organisation's own things and on
another organisation's (404 as if they did not exist), and every action audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from database_checks import session_of
from sqlalchemy import select

from konsulta.bootstrap import App
from konsulta.leaders import broadcasts as leader_broadcasts
from konsulta.leaders.service import add_community, invite_link, lead, make_leader_link
from storage.models import AuditEntry, LeaderBroadcastStatus
from storage.types import utcnow
from tests.review.conftest import Browser, logged_in

EDITORS = ["platform@example.org", "admin-a@example.org", "staff-a@example.org"]


@dataclass(frozen=True)
class Seeded:
    community: int  # Org A's
    leader: int
    invite: int
    leader_link: int
    broadcast: int
    other_community: int  # Org B's


async def _awaiting_broadcast(app: App, leader_telegram_id: int, community_id: int) -> int:
    async with app.uow() as uow:
        leader = await uow.leaders.find_active(leader_telegram_id)
        community = await uow.communities.get(community_id)
        assert leader is not None and community is not None
        await uow.leaders.set_approval_required(community.organisation_id, True)
        broadcast = await leader_broadcasts.start(uow, leader, community, "message")
        await leader_broadcasts.set_text(uow, broadcast, "Meeting on Friday at the park!")
        asked = await leader_broadcasts.request(app, uow, broadcast, leader)
        assert asked.outcome == "awaiting"
        await uow.commit()
        return broadcast.id


@pytest.fixture
async def seeded(app: App) -> Seeded:
    async with app.uow() as uow:
        community = await add_community(uow, "org-a", "Park neighbours", ["pl", "en"])
        other = await add_community(uow, "org-b", "Harbour crew", ["en"])
        leader = await lead(app, uow, 5001, community, by="cli")
        consultation = await uow.consultations.get_by_slug("park-survey")
        assert consultation is not None
        link = await invite_link(uow, consultation, community, None)
        made = await make_leader_link(uow, community, by="cli", now=utcnow())
        await uow.commit()
        ids = (community.id, leader.id, link.id, made.link.id, other.id)
    broadcast = await _awaiting_broadcast(app, 5001, ids[0])
    return Seeded(ids[0], ids[1], ids[2], ids[3], broadcast, ids[4])


def pages(s: Seeded) -> list[str]:
    one = f"/communities/{s.community}"
    return [
        one,
        f"{one}/links/{s.invite}/poster.pdf",
        f"{one}/links/{s.invite}/poster.png",
    ]


def actions(s: Seeded) -> list[tuple[str, dict[str, str]]]:
    one = f"/communities/{s.community}"
    return [
        (f"{one}/leaders", {"telegram_id": "5002"}),
        (f"{one}/leaders/{s.leader}/remove", {}),
        (f"{one}/leader-links", {}),
        (f"{one}/leader-links/{s.leader_link}/revoke", {}),
        (f"{one}/links", {"consultation": "1"}),
        (f"{one}/links/{s.invite}/revoke", {}),
        (f"/leader-broadcasts/{s.broadcast}/approve", {}),
        (f"/leader-broadcasts/{s.broadcast}/reject", {}),
    ]


async def _audit(app: App) -> list[AuditEntry]:
    async with app.uow() as uow:
        return list((await session_of(uow).execute(select(AuditEntry))).scalars())


@pytest.mark.parametrize("email", ["viewer-a@example.org", *EDITORS])
async def test_everyone_of_the_organisation_sees_its_communities_leaders_and_approvals(
    browser_factory: Callable[[], Browser], seeded: Seeded, email: str
) -> None:
    browser = await logged_in(browser_factory, email)
    listing = await browser.get("/communities")
    assert listing.status_code == 200
    assert "Park neighbours" in listing.text and "Harbour crew" not in listing.text
    leaders = await browser.get("/leaders")
    assert leaders.status_code == 200 and "5001" in leaders.text
    approvals = await browser.get("/leader-broadcasts")
    assert "Meeting on Friday at the park!" in approvals.text
    assert ("Approve and send" in approvals.text) == (email in EDITORS)
    page = await browser.get(f"/communities/{seeded.community}")
    assert "https://t.me/konsulta_test_bot?start=" in page.text  # the invite link
    assert ("Add leader" in page.text) == (email in EDITORS)
    pdf = await browser.get(pages(seeded)[1])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    png = await browser.get(pages(seeded)[2])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


async def test_a_viewer_cannot_change_anything(
    browser_factory: Callable[[], Browser], seeded: Seeded, app: App
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    before = len(await _audit(app))
    for url, data in [("/communities", {"name": "X", "languages": "en"}), *actions(seeded)]:
        assert (await viewer.post(url, data)).status_code == 403, url
    assert len(await _audit(app)) - before <= 1  # at most the login


@pytest.mark.parametrize("email", ["staff-b@example.org"])
async def test_another_organisations_staff_get_404_for_everything_of_org_a(
    browser_factory: Callable[[], Browser], seeded: Seeded, app: App, email: str
) -> None:
    other = await logged_in(browser_factory, email)
    for url in pages(seeded):
        assert (await other.get(url)).status_code == 404, url
    for url, data in actions(seeded):
        assert (await other.post(url, data)).status_code == 404, url
    listing = await other.get("/communities")
    assert "Harbour crew" in listing.text and "Park neighbours" not in listing.text
    assert "5001" not in (await other.get("/leaders")).text
    assert "Meeting on Friday" not in (await other.get("/leader-broadcasts")).text
    # Their own community cannot get an invite link to Org A's consultation either.
    own = f"/communities/{seeded.other_community}/links"
    assert (await other.post(own, {"consultation": "1"})).status_code == 404
    async with app.uow() as uow:
        assert await uow.invites.of_community(seeded.other_community) == []
        broadcast = await uow.leader_broadcasts.get(seeded.broadcast)
        assert broadcast is not None
        assert broadcast.status == LeaderBroadcastStatus.AWAITING_APPROVAL


@pytest.mark.parametrize("email", EDITORS)
async def test_editors_run_a_community_and_every_step_is_audited(
    browser_factory: Callable[[], Browser], seeded: Seeded, app: App, email: str
) -> None:
    browser = await logged_in(browser_factory, email)
    created = await browser.post("/communities", {"name": "Youth club", "languages": "uk"})
    assert created.status_code == 303
    youth = int(created.headers["location"].rsplit("/", 1)[1])
    one = f"/communities/{youth}"
    assert (await browser.post(f"{one}/leaders", {"telegram_id": "7007"})).status_code == 303
    assert "7007" in (await browser.get(one)).text
    assert (await browser.post(f"{one}/leaders", {"telegram_id": "x"})).status_code == 303
    made = await browser.post(f"{one}/leader-links", {})
    assert made.status_code == 200
    [url] = re.findall(r'value="(https://t\.me/konsulta_test_bot\?start=leader-[^"]+)"', made.text)
    assert (await browser.post(f"{one}/links", {"consultation": "1"})).status_code == 303
    page = await browser.get(one)
    [invite] = re.findall(rf"{one}/links/(\d+)/revoke", page.text)
    assert (await browser.post(f"{one}/links/{invite}/revoke", {})).status_code == 303
    async with app.uow() as uow:
        leader = await uow.leaders.find_active(7007)
        assert leader is not None
        [link] = await uow.leader_links.of_community(youth)
        assert url.split("start=")[1] not in link.token_hash
    remove = f"{one}/leaders/{leader.id}/remove"
    assert (await browser.post(remove, {})).status_code == 303
    assert (await browser.post(f"{one}/leader-links/{link.id}/revoke", {})).status_code == 303
    decided = await browser.post(f"/leader-broadcasts/{seeded.broadcast}/approve", {})
    assert decided.status_code == 303
    again = await browser.post(f"/leader-broadcasts/{seeded.broadcast}/reject", {})
    assert again.status_code == 303
    shown = (await browser.get("/leader-broadcasts")).text
    assert "This was already decided." in shown

    mine = [e for e in await _audit(app) if e.email == email]
    done = {e.action for e in mine}
    assert {
        "community.add",
        "leader.add",
        "leader.remove",
        "leaderlink.add",
        "leaderlink.revoke",
        "link.add",
        "link.revoke",
        "broadcast.approve",
    } <= done, done
    assert all(e.organisation_id is not None for e in mine)
    async with app.uow() as uow:
        broadcast = await uow.leader_broadcasts.get(seeded.broadcast)
        assert broadcast is not None and broadcast.status == LeaderBroadcastStatus.SENT
        assert broadcast.decided_by == email


async def test_a_community_needs_a_name_and_a_language(
    browser_factory: Callable[[], Browser], seeded: Seeded
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    refused = await browser.post("/communities", {"name": "No language"})
    assert refused.headers["location"] == "/communities"
    page = await browser.get("/communities")
    assert "Not created: a community needs at least one language" in page.text
    twice = await browser.post("/communities", {"name": "Park neighbours", "languages": "pl"})
    assert twice.headers["location"] == "/communities"
    assert "already exists" in (await browser.get("/communities")).text
