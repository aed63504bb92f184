"""Staff make a one-time "become a leader" link for the co-op; the chair opens it in
Telegram and leads the co-op from then on; a neighbour who opens the same link later
is told kindly, in their language, that it was used."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from database_checks import session_of
from leader_world import COMMUNITY, ORGANISATION, World
from sqlalchemy import select

from konsulta.leaders.service import LEADER_LINK_DAYS, make_leader_link, revoke_leader_link
from storage.models import AuditEntry, LeaderLink
from storage.types import utcnow


async def _link(world: World) -> str:
    async with world.app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(ORGANISATION)
        assert organisation is not None
        community = await uow.communities.find(organisation.id, COMMUNITY)
        assert community is not None
        made = await make_leader_link(
            uow, community, by="staff@example.org", now=world.app.clock.now()
        )
        await uow.commit()
    return made.payload


async def test_the_first_person_to_open_a_leader_link_leads_the_co_op_and_nobody_after(
    world: World,
) -> None:
    payload = await _link(world)
    assert len(payload) <= 64 and payload.replace("-", "").replace("_", "").isalnum()

    chair = world.phone(4001)
    await chair.send(f"/start {payload}")
    [welcome] = await chair.expect()
    assert f"You are now a leader of {COMMUNITY}" in (welcome.text or "")
    assert await world.emu.state.wait_until(lambda: "invite" in chair.menu(), 20)
    await chair.send(f"/start {payload}")  # again: still theirs, nothing used up twice
    [again] = await chair.expect()
    assert f"You already lead {COMMUNITY}" in (again.text or "")

    neighbour = world.phone(4002, "pl")
    await neighbour.send(f"/start {payload}")
    [kind] = await neighbour.expect()
    assert "Ten link dla lidera został już użyty" in (kind.text or "")
    assert "invite" not in neighbour.menu()

    async with world.app.uow() as uow:
        [stored] = (await session_of(uow).execute(select(LeaderLink))).scalars().all()
        assert payload not in stored.token_hash  # only the hash is kept
        assert stored.used_at is not None and stored.used_by is not None
        actions = [e.action for e in (await session_of(uow).execute(select(AuditEntry))).scalars()]
    assert "leaderlink.add" in actions and "leader.add" in actions


async def test_a_leader_link_stops_working_after_a_week(world: World) -> None:
    payload = await _link(world)
    await world.later(timedelta(days=LEADER_LINK_DAYS, minutes=1))
    late = world.phone(4003)
    await late.send(f"/start {payload}")
    [kind] = await late.expect()
    assert "no longer valid" in (kind.text or "")
    assert "invite" not in late.menu()


async def test_a_stopped_link_makes_nobody_a_leader(world: World) -> None:
    payload = await _link(world)
    async with world.app.uow() as uow:
        link = await uow.leader_links.by_token(payload)
        assert link is not None
        assert await revoke_leader_link(uow, link, by="staff@example.org", now=utcnow())
        assert not await revoke_leader_link(uow, link, by="staff@example.org", now=utcnow())
        await uow.commit()
    phone = world.phone(4004)
    await phone.send(f"/start {payload}")
    [kind] = await phone.expect()
    assert "no longer valid" in (kind.text or "")
    async with world.app.uow() as uow:
        assert await uow.leaders.find_active(4004) is None


async def test_two_people_opening_one_link_at_once_make_one_leader(world: World) -> None:
    payload = await _link(world)
    first, second = world.phone(4005), world.phone(4006)
    await asyncio.gather(first.send(f"/start {payload}"), second.send(f"/start {payload}"))
    [a], [b] = await first.expect(), await second.expect()
    welcomed = [p for p, m in ((4005, a), (4006, b)) if "You are now a leader" in (m.text or "")]
    assert len(welcomed) == 1
    async with world.app.uow() as uow:
        leaders = [await uow.leaders.find_active(u) for u in (4005, 4006)]
    assert sum(leader is not None for leader in leaders) == 1
