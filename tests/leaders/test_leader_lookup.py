"""Who is a leader, worked out without a read for most updates: a tap on an answer
button is looked up only for someone in the set of active leaders (read again every
few seconds) or while a leader was just made in this process; what anyone types
(but /start) and a leader's own buttons are always looked up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from leader_world import COMMUNITY, ORGANISATION, World

from bot.telegram.callbacks import LeaderAct, Tap
from bot.telegram.leaders.common import LeaderContext
from konsulta.leaders.actions import LeaderAction
from konsulta.leaders.service import add_leader
from storage.models import Leader
from storage.repositories import leaders as leaders_repository
from storage.repositories.leaders import LeaderRepository

ANNA, BORYS = 7101, 7102


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def typed(user_id: int, text: str) -> Message:
    return Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "X"},
            "text": text,
        }
    )


def tap(user_id: int, data: str) -> CallbackQuery:
    return CallbackQuery.model_validate(
        {
            "id": "q",
            "chat_instance": "c",
            "from": {"id": user_id, "is_bot": False, "first_name": "X"},
            "data": data,
        }
    )


def menu_tap(user_id: int) -> CallbackQuery:
    """A button of the leader's own menu."""
    return tap(user_id, LeaderAct(act=LeaderAction.STATS).pack())


def answer_tap(user_id: int) -> CallbackQuery:
    """A button of a consultation's question (a leader taps them helping someone)."""
    return tap(user_id, Tap(run=1, step="age", key="a").pack())


async def leader_seen(world: World, context: LeaderContext, event: TelegramObject) -> bool:
    """What the leaders' routers would be handed for `event`: a leader or None."""
    handed: dict[str, Leader | None] = {}

    async def handler(_event: TelegramObject, data: dict[str, Any]) -> None:
        handed["leader"] = data["leader"]

    user = event.from_user
    assert isinstance(user, User)
    data: dict[str, Any] = {"app": world.app, "language": "en", "event_from_user": user}
    await context(handler, event, data)
    return handed["leader"] is not None


async def made_leader_elsewhere(world: World, user_id: int, monkeypatch: Any) -> None:
    """Staff make `user_id` a leader through another worker: this process never saw it."""
    async with world.app.uow() as uow:
        await add_leader(world.app, uow, user_id, COMMUNITY, ORGANISATION)
        await uow.commit()
    monkeypatch.setattr(leaders_repository, "last_made", float("-inf"))


async def test_a_new_leader_is_known_at_once_here_and_within_seconds_elsewhere(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaders_repository, "last_made", float("-inf"))
    clock = Clock()
    context = LeaderContext(clock)
    for user_id in (ANNA, BORYS):
        phone = world.phone(user_id)
        await phone.send("/help")  # both have talked to the bot as citizens
        await phone.expect()
    assert not await leader_seen(world, context, answer_tap(ANNA))

    # Made a leader by another worker a second ago: what Anna types and her menu's
    # buttons are hers at once; a tap on a question's button only once she is known.
    await made_leader_elsewhere(world, ANNA, monkeypatch)
    clock.now += 1
    assert not await leader_seen(world, context, answer_tap(ANNA))
    assert await leader_seen(world, context, typed(ANNA, "Our meeting is on Friday"))
    assert await leader_seen(world, context, answer_tap(ANNA))

    # Borys, made a leader elsewhere too: his menu is his at once, and a question's
    # button once the set of leaders is read again.
    await made_leader_elsewhere(world, BORYS, monkeypatch)
    assert not await leader_seen(world, context, answer_tap(BORYS))
    clock.now += LeaderContext.REFRESH
    assert await leader_seen(world, context, answer_tap(BORYS))
    assert await leader_seen(world, context, menu_tap(BORYS))

    # Someone who is not a leader: taps cost no lookup, and are a citizen's.
    assert not await leader_seen(world, context, answer_tap(7199))


async def test_a_leader_made_in_this_process_is_known_from_the_next_update(
    world: World,
) -> None:
    context = LeaderContext()
    phone = world.phone(ANNA)
    await phone.send("/help")
    await phone.expect()
    assert not await leader_seen(world, context, answer_tap(ANNA))
    async with world.app.uow() as uow:
        await add_leader(world.app, uow, ANNA, COMMUNITY, ORGANISATION)
        await uow.commit()
    assert await leader_seen(world, context, answer_tap(ANNA))


async def test_many_taps_at_once_read_the_set_of_leaders_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load forty taps may find the set stale at the same moment: one read."""
    monkeypatch.setattr(leaders_repository, "last_made", float("-inf"))
    reads = 0
    active_users = LeaderRepository.active_users

    async def counted(self: LeaderRepository) -> set[tuple[str, int]]:
        nonlocal reads
        reads += 1
        return await active_users(self)

    monkeypatch.setattr(LeaderRepository, "active_users", counted)
    clock = Clock()
    context = LeaderContext(clock)
    taps = [answer_tap(7200 + n) for n in range(40)]
    seen = await asyncio.gather(*(leader_seen(world, context, query) for query in taps))
    assert seen == [False] * 40 and reads == 1
    clock.now += LeaderContext.REFRESH
    await asyncio.gather(*(leader_seen(world, context, query) for query in taps))
    assert reads == 2


async def test_a_start_needs_no_leader_lookup_and_a_leaders_start_is_a_citizens(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broadcast brings many people at once, each with /start: no leaders' handler
    takes it (a leader link is claimed by its payload), so none of them costs a read
    of the leaders. A leader's own /start opens a consultation as anyone's does."""
    monkeypatch.setattr(leaders_repository, "last_made", float("-inf"))
    context = LeaderContext()
    await made_leader_elsewhere(world, ANNA, monkeypatch)
    reads = 0
    active = LeaderRepository.find_active

    async def counted(self: LeaderRepository, *args: Any, **kwargs: Any) -> Leader | None:
        nonlocal reads
        reads += 1
        return await active(self, *args, **kwargs)

    monkeypatch.setattr(LeaderRepository, "find_active", counted)
    for text in ("/start", "/start senior-housing", "/start@konsulta_bot"):
        assert not await leader_seen(world, context, typed(ANNA, text))
        assert not await leader_seen(world, context, typed(7199, text))
    assert reads == 0
    assert await leader_seen(world, context, typed(ANNA, "/stats"))
    assert await leader_seen(world, context, typed(ANNA, "/starting a broadcast"))
    assert reads == 2

    phone = world.phone(ANNA)
    await phone.send("/start")
    [menu] = await phone.expect()
    assert "consultation" in (menu.text or "").lower()
