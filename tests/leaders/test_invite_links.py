"""A co-op chair gets an invite link and a poster in Telegram; seniors who scan it are
counted for the co-op; citizens never see the leader's commands."""

from __future__ import annotations

import io
import json

import zxingcpp
from database_checks import session_of
from leader_world import COMMUNITY, ORGANISATION, World
from PIL import Image
from sqlalchemy import select

from konsulta.leaders.service import remove_leader
from storage.models import AuditEntry, Run


async def test_a_leader_prints_a_poster_whose_code_brings_seniors_to_the_co_op(
    world: World,
) -> None:
    citizen = world.phone(2001)
    await citizen.send("/help")
    await citizen.expect()
    leader = await world.make_leader(1001)

    # The leader's phone shows the leader commands; a citizen's does not.
    assert {"invite", "broadcast", "assist", "stats"} <= set(leader.menu())
    assert "start" in citizen.menu() and "invite" not in citizen.menu()
    await citizen.send("/invite")  # typed anyway: an unknown command to a citizen
    [answer] = await citizen.expect()
    assert "do not know that command" in (answer.text or "")

    await leader.send("/invite")
    [which] = await leader.expect()
    await leader.tap(which, "A good home for later life")
    link_message, pdf, png = await leader.expect(3)
    link = next(w for w in (link_message.text or "").split() if w.startswith("https://t.me/"))
    assert link.startswith("https://t.me/konsulta_test_bot?start=")
    payload = link.split("start=", 1)[1]
    assert len(payload) <= 64 and payload.replace("-", "").replace("_", "").isalnum()
    assert pdf.kind == png.kind == "document"
    assert world.emu.file_bytes(pdf.file_id or "").startswith(b"%PDF")
    image = Image.open(io.BytesIO(world.emu.file_bytes(png.file_id or "")))
    assert image.size == (1240, 1754)  # A4 at 150 dpi
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == link

    # A senior scans the poster: the consent names the co-op, the run is attributed.
    senior = world.phone(3001)
    await senior.send(f"/start {payload}")
    [consent] = await senior.expect()
    assert f"You were invited by {COMMUNITY}." in (consent.text or "")
    await senior.tap(consent, "Yes")
    await senior.expect(2)
    async with world.app.uow() as uow:
        [run] = (await session_of(uow).execute(select(Run))).scalars().all()
    assert run.source == f"link:{payload}" and run.consent_record_id is not None
    assert run.community_id is not None
    assert run.language == "en"

    # The leader steps down: the poster on the wall keeps working for the co-op.
    async with world.app.uow() as uow:
        assert await remove_leader(world.app, uow, 1001, ORGANISATION) == 0
        await uow.commit()
    world.runtime.sender.wake()
    await world.settled()
    assert await world.emu.state.wait_until(lambda: "invite" not in leader.menu(), 20)
    assert "start" in leader.menu()
    neighbour = world.phone(3002)
    await neighbour.send(f"/start {payload}")
    [consent] = await neighbour.expect()
    assert COMMUNITY in (consent.text or "")

    async with world.app.uow() as uow:
        actions = [
            entry.action
            for entry in (await session_of(uow).execute(select(AuditEntry))).scalars()
            if entry.email.startswith("leader:") or "leader:" in (entry.target or "")
        ]
        opens = await uow.communities.funnel([run.community_id], run.consultation_id)
    assert {"leader.add", "link.poster", "leader.remove"} <= set(actions)
    assert sum(r.count for r in opens if r.stage == "invited") == 2


async def test_a_leaked_link_is_stopped_and_a_new_one_made(world: World) -> None:
    leader = await world.make_leader(1002)
    await leader.send("/invite")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    first, _pdf, _png = await leader.expect(3)
    old = (first.text or "").split("start=", 1)[1].split()[0]
    await leader.tap(first, "Stop this link")
    [stopped] = await leader.expect()
    assert "no longer works" in (stopped.text or "")

    stranger = world.phone(3003)
    await stranger.send(f"/start {old}")
    [menu] = await stranger.expect()
    assert "could not find that consultation" in (menu.text or "")

    await leader.send("/invite")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    second, _pdf, _png = await leader.expect(3)
    assert old not in (second.text or "")
    async with world.app.uow() as uow:
        [entry] = [
            e
            for e in (await session_of(uow).execute(select(AuditEntry))).scalars()
            if e.action == "link.revoke"
        ]
    assert entry.email.startswith("leader:")


async def test_the_leaders_own_data_is_theirs_only(world: World) -> None:
    """/mydata of a leader lists their own data, nothing of their community."""
    leader = await world.make_leader(1003)
    await leader.send("/mydata")
    [document] = await leader.expect()
    data = json.loads(world.emu.file_bytes(document.file_id or ""))
    assert data["runs"] == []
    # Their role is theirs: the organisation and communities they lead.
    assert data["leader"]["communities"] and data["leader"]["active"] is True
