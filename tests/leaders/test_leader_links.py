"""Staff make a one-time "become a leader" link for the co-op; the chair opens it in
Telegram and leads the co-op from then on; a neighbour who opens the same link later
is told kindly, in their language, that it was used."""

from __future__ import annotations

from datetime import timedelta

from database_checks import session_of
from leader_world import COMMUNITY, ORGANISATION, World
from sqlalchemy import select

from konsulta.leaders.service import LEADER_LINK_DAYS, make_leader_link
from storage.models import AuditEntry, LeaderLink


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
