"""A leader invites only to their own organisation's consultations (issue 14): a
deployment serves several organisations, and another one's consultation is neither
offered to a leader nor reachable by a forged button."""

from __future__ import annotations

from pathlib import Path

import pytest
from leader_world import FLOWS, World

from bot.telegram.callbacks import LeaderAct
from konsulta.leaders.actions import LeaderAction
from konsulta.leaders.service import LeaderError, consultation_choices, invite_link
from konsulta.publishing import publish, read_flow

OTHER_TITLE = "Another town's library"


async def _other_organisations_consultation(world: World, tmp_path: Path) -> int:
    """Org B publishes its own consultation in the same deployment."""
    text = (FLOWS / "co-op-homes.yaml").read_text(encoding="utf-8")
    text = text.replace("id: co-op-homes", "id: other-library", 1)
    text = text.replace("Spółdzielnia Mieszkaniowa w Słupsku", "Another Town", 1)
    text = text.replace("en: A good home for later life", f"en: {OTHER_TITLE}", 1)
    path = tmp_path / "other-library.yaml"
    path.write_text(text, encoding="utf-8")
    async with world.app.uow() as uow:
        await publish(uow, *read_flow(path), open_now=True)
        await uow.commit()
    other = await world.consultation("other-library")
    assert other.organisation_id != (await world.consultation("co-op-homes")).organisation_id
    return other.id


async def test_a_leader_of_one_organisation_cannot_invite_to_anothers_consultation(
    world: World, tmp_path: Path
) -> None:
    other_id = await _other_organisations_consultation(world, tmp_path)
    leader = await world.make_leader(1001)

    # /invite offers the organisation's own consultation only.
    await leader.send("/invite")
    [which] = await leader.expect()
    labels = [b["text"] for row in (which.reply_markup or {})["inline_keyboard"] for b in row]
    assert labels == ["A good home for later life"]

    # A forged button naming the other organisation's consultation gets no link.
    async with world.app.uow() as uow:
        found = await uow.leaders.find_active(1001)
        assert found is not None
        [community] = await uow.leaders.communities(found)
    forged = LeaderAct(act=LeaderAction.INVITE, id=community.id, arg=str(other_id)).pack()
    await world.emu.citizens.tap(1001, which.message_id, forged)
    [answer] = await leader.expect()
    assert "This button no longer works." in (answer.text or "")
    async with world.app.uow() as uow:
        assert await uow.invites.active(other_id, community.id) is None

        # The service itself refuses too, whoever calls it.
        other = await uow.consultations.get(other_id)
        assert other is not None
        with pytest.raises(LeaderError):
            await invite_link(uow, other, community, None)
        choices = await consultation_choices(world.app, uow, "en", community.organisation_id)
        assert [title for _, title in choices] == ["A good home for later life"]
