"""Broadcasts and results to segments: /stop, blocked citizens, quiet hours, cancel."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from database_checks import session_of
from sqlalchemy import select, update

from konsulta import broadcasts
from outreach.results import add_outcome
from storage.models import BroadcastDelivery, Citizen
from tests.outreach.conftest import TIMEOUT, World, zone_at

NORTH = {"answer": {"consultation": "street-repairs", "step": "district", "equals": "north"}}


async def test_a_broadcast_to_the_north_skips_the_south_respects_stop_and_marks_who_blocked(
    world: World,
) -> None:
    anna, bartek, celina, dawid = (world.phone(6000 + n) for n in range(1, 5))
    for phone, district in ((anna, "north"), (bartek, "north"), (celina, "north")):
        await world.take_part(phone, ["lighting", district, "no"])
    await world.take_part(dawid, ["lighting", "south", "no"])
    await bartek.send("/stop")
    await bartek.expect()
    world.emu.citizens.block(celina.user_id)
    await world.settled()
    before = {p.user_id: len(p.messages()) for p in (anna, bartek, celina, dawid)}

    draft = await broadcasts.create(
        world.app,
        organisation_id=await broadcasts.organisation_named(world.app, None),
        name="lights",
        segment=NORTH,
        texts={"en": "The lights in the north are fixed.", "pl": "Latarnie naprawione."},
        default_language="pl",
    )
    shown = await broadcasts.preview(world.app, draft.id)
    assert shown.total == 2  # Anna and Celina: Bartek sent /stop, Dawid lives south
    assert shown.languages["en"][0] == 2
    assert shown.languages["en"][1].startswith("The lights in the north are fixed.")
    await broadcasts.schedule(world.app, draft.id)
    await world.tick()
    await world.tick()  # the sender's results are in; the broadcast is finished

    [got] = await anna.expect()
    assert got.text is not None and got.text.startswith("The lights in the north are fixed.")
    assert len(bartek.messages()) == before[bartek.user_id]
    assert len(dawid.messages()) == before[dawid.user_id]
    done = await broadcasts.progress(world.app, draft.id)
    assert done.broadcast.status == "done"
    assert done.counts == {"sent": 1, "blocked": 1}
    async with world.app.uow() as uow:
        celina_row = await uow.citizens.find(celina.user_id)
        assert celina_row is not None and celina_row.unreachable


async def test_a_message_due_at_night_waits_for_the_morning_in_the_citizens_timezone(
    world: World,
) -> None:
    early, owl = world.phone(6101), world.phone(6102)
    for phone in (early, owl):
        await world.take_part(phone, ["pavement", "north", "no"])
    async with world.app.uow() as uow:  # the owl lives where it is 23:00 now
        await session_of(uow).execute(
            update(Citizen).where(Citizen.id == 2).values(timezone=zone_at(23))
        )
        await uow.commit()
    seen = len(owl.messages())
    draft = await broadcasts.create(
        world.app,
        organisation_id=await broadcasts.organisation_named(world.app, None),
        name="night",
        segment=NORTH,
        texts={"pl": "Dzień dobry", "en": "Good morning"},
    )
    await broadcasts.schedule(world.app, draft.id)
    await world.tick()
    await early.expect()
    assert len(owl.messages()) == seen  # 23:00 there: not now
    async with world.app.uow() as uow:
        waiting = (
            await session_of(uow).execute(
                select(BroadcastDelivery).where(BroadcastDelivery.status == "pending")
            )
        ).scalar_one()
    assert waiting.due_at > world.clock.now() + timedelta(hours=8)  # 08:00 local

    await world.later(timedelta(hours=5))  # 04:00 there: still night
    assert len(owl.messages()) == seen
    await world.later(timedelta(hours=5))  # 09:00 there
    [morning] = await owl.expect()
    assert morning.text is not None and morning.text.startswith("Good morning")


async def test_results_reach_everyone_who_took_part_in_their_language_and_a_cancel_stops_the_rest(
    world: World,
) -> None:
    ola, john = world.phone(6201, "pl"), world.phone(6202, "en")
    await world.take_part(ola, ["pavement", "south", "no"])
    await world.take_part(john, ["pavement"])  # took part, did not finish
    outsider = world.phone(6203)
    await outsider.send("/help")
    await outsider.expect()
    await world.settled()

    _, result = await add_outcome(
        world.app,
        "street-repairs",
        {"pl": "Naprawiliśmy 12 chodników.", "en": "We fixed 12 pavements."},
    )
    await broadcasts.schedule(world.app, result.id)
    await world.tick()
    [for_ola] = await ola.expect()
    [for_john] = await john.expect()
    assert for_ola.text is not None and "Naprawiliśmy 12 chodników." in for_ola.text
    assert "Naprawy na ulicy" in for_ola.text  # the consultation's title in Polish
    assert for_john.text is not None and "We fixed 12 pavements." in for_john.text
    assert "Street repairs" in for_john.text
    assert all("12" not in (t or "") for t in outsider.texts())

    later = await broadcasts.create(
        world.app,
        organisation_id=await broadcasts.organisation_named(world.app, None),
        name="later",
        segment={"everyone": True},
        texts={"en": "Hi", "pl": "Cześć"},
    )
    await broadcasts.schedule(world.app, later.id, world.clock.now() + timedelta(days=1))
    cancelled = await broadcasts.cancel(world.app, later.id)
    await world.later(timedelta(days=2))
    shown = await broadcasts.progress(world.app, later.id)
    assert shown.broadcast.status == "cancelled" and cancelled == 0 and shown.counts == {}


async def test_start_after_stop_brings_the_broadcasts_back(world: World) -> None:
    bartek = world.phone(6201)
    await world.take_part(bartek, ["lighting", "north", "no"])
    await bartek.send("/stop")
    await bartek.expect()
    await bartek.send("/start")
    await bartek.expect()
    await world.settled()
    async with world.app.uow() as uow:
        row = await uow.citizens.find(bartek.user_id)
        assert row is not None and not row.stopped

    draft = await broadcasts.create(
        world.app,
        organisation_id=await broadcasts.organisation_named(world.app, None),
        name="back",
        segment=NORTH,
        texts={"en": "The lights are fixed.", "pl": "Latarnie naprawione."},
        default_language="pl",
    )
    assert (await broadcasts.preview(world.app, draft.id)).total == 1


class SenderAlwaysKeepsUp(broadcasts.Broadcasts):
    """A million-recipient broadcast in miniature: recipients are written one citizen
    id at a time (many slices), and while each feed runs the sender takes 100 messages
    from the window, so every feed finds room again (what a slow feed meets)."""

    async def materialize(self, now: datetime, *, batch: int = 1) -> int:
        return await super().materialize(now, batch=1)

    async def feed(self, now: datetime) -> int:
        await super().feed(now)
        return 100


async def test_a_broadcast_whose_sender_keeps_up_with_every_feed_still_writes_everyone_and_ends(
    world: World,
) -> None:
    phones = [world.phone(6300 + n) for n in range(3)]
    for phone in phones:
        await world.take_part(phone, ["lighting", "north", "no"])
    seen = {phone.user_id: len(phone.messages()) for phone in phones}
    world.outreach.broadcasts = SenderAlwaysKeepsUp(world.app, world.outreach.broadcasts.quiet)
    draft = await broadcasts.create(
        world.app,
        organisation_id=await broadcasts.organisation_named(world.app, None),
        name="keeps up",
        segment=NORTH,
        texts={"en": "The lights are fixed.", "pl": "Latarnie naprawione."},
    )
    await broadcasts.schedule(world.app, draft.id)

    # The job feeds for a while, then comes back: it writes the recipients left and
    # finishes the broadcast (feeding until the window stayed full never came back).
    for _ in range(5):
        await asyncio.wait_for(world.tick(), TIMEOUT)
        shown = await broadcasts.progress(world.app, draft.id)
        if shown.broadcast.status == "done":
            break
    assert shown.broadcast.materialized and shown.broadcast.total == 3
    assert shown.broadcast.status == "done" and shown.counts == {"sent": 3}
    for phone in phones:
        [got] = await phone.expect()
        assert got.text is not None and got.text.startswith("The lights are fixed.")
        assert len(phone.messages()) == seen[phone.user_id] + 1
