"""How the leaders' routers take an update: every leader's button reaches exactly one
handler and fits Telegram's callback data with the largest ids the database can give;
no leader's update stays pending in the inbox, whatever they send; and their command
menu follows the language they pick, whichever router answers them."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Message, User
from database_checks import session_of
from leader_world import World
from sqlalchemy import select

from bot.telegram.callbacks import LeaderAct
from bot.telegram.leaders import get_routers
from bot.telegram.leaders.broadcasts import on_broadcast_text
from konsulta.conversations import Delivery
from konsulta.leaders.actions import BroadcastKind, LeaderAction, Verdict, leader_callback
from storage.models import InboxUpdate

LARGEST_ID = 2**31 - 1  # ids are SQL INTEGER columns: PostgreSQL's int4 ends here
LONGEST_LANGUAGE = "x" * 8  # a BCP 47 language subtag has at most 8 letters

# The longest `arg` each action carries (a new action must say what its arg is).
LONGEST_ARG: dict[LeaderAction, str] = {
    LeaderAction.INVITE_COMMUNITY: "",
    LeaderAction.INVITE: str(LARGEST_ID),
    LeaderAction.REVOKE: "",
    LeaderAction.BROADCAST_COMMUNITY: "",
    LeaderAction.BROADCAST_KIND: max(BroadcastKind, key=len),
    LeaderAction.BROADCAST_CONSULTATION: str(LARGEST_ID),
    LeaderAction.BROADCAST_LANGUAGE: LONGEST_LANGUAGE,
    LeaderAction.BROADCAST_PREVIEW: "",
    LeaderAction.BROADCAST_SEND: "",
    LeaderAction.BROADCAST_CANCEL: "",
    LeaderAction.APPROVE: max(Verdict, key=len),
    LeaderAction.ASSIST_COMMUNITY: "",
    LeaderAction.ASSIST: str(LARGEST_ID),
    LeaderAction.ASSIST_STOP: "",
    LeaderAction.STATS_COMMUNITY: "",
    LeaderAction.STATS: str(LARGEST_ID),
}


def test_every_packed_leader_button_fits_telegrams_64_bytes() -> None:
    assert set(LONGEST_ARG) == set(LeaderAction)
    for act, arg in LONGEST_ARG.items():
        packed = LeaderAct(act=act, id=LARGEST_ID, arg=arg).pack()
        assert len(packed.encode()) <= 64, packed
        # The services pack without aiogram; the adapter must read what they write.
        assert packed == leader_callback(act, LARGEST_ID, arg)
        assert LeaderAct.unpack(packed) == LeaderAct(act=act, id=LARGEST_ID, arg=arg)


def _leader_handlers() -> list[tuple[HandlerObject, list[CallbackQueryFilter]]]:
    """Every callback handler of the leaders' routers with its `LeaderAct` filters."""
    found = []
    for top in get_routers():
        for router in top.chain_tail:
            for handler in router.callback_query.handlers:
                filters = [
                    f.callback
                    for f in handler.filters or []
                    if isinstance(f.callback, CallbackQueryFilter)
                    and f.callback.callback_data is LeaderAct
                ]
                if filters:
                    found.append((handler, filters))
    return found


async def test_every_leader_action_has_exactly_one_handler() -> None:
    handlers = _leader_handlers()
    taken: dict[LeaderAction, list[str]] = {}
    for act in LeaderAction:
        query = CallbackQuery(
            id="1",
            from_user=User(id=1, is_bot=False, first_name="Leader"),
            chat_instance="1",
            data=LeaderAct(act=act, id=LARGEST_ID, arg=LONGEST_ARG[act]).pack(),
        )
        for handler, filters in handlers:
            if all([await f(query) for f in filters]):
                taken.setdefault(act, []).append(handler.callback.__name__)
    assert {act: len(names) for act, names in taken.items()} == dict.fromkeys(LeaderAction, 1), (
        taken
    )


async def pending_updates(world: World) -> list[int]:
    async with world.app.uow() as uow:
        rows = await session_of(uow).execute(
            select(InboxUpdate.update_id).where(InboxUpdate.handled_at.is_(None))
        )
        return list(rows.scalars())


async def test_a_dice_while_helping_someone_is_an_ordinary_message(world: World) -> None:
    leader = await world.make_leader(1001)
    await leader.send("/assist")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    _intro, consent = await leader.expect(2)
    # Something the dialog cannot use: not the person's answer, and not left pending
    # (it used to stay in the inbox and be handled again at every restart).
    world.emu.citizens._say(1001, None, "other", content={"dice": {"emoji": "🎲", "value": 3}})
    [sorry] = await leader.expect()
    assert "cannot use this kind of message" in (sorry.text or "")
    await world.settled()
    assert await pending_updates(world) == []
    await leader.tap(consent, "Yes")  # still helping: the consent is the person's
    _welcome, _age = await leader.expect(2)


async def test_a_text_when_no_broadcast_is_being_written_is_marked_handled(
    world: World,
) -> None:
    """The leaders' router saw a message being composed, but by the time the handler
    reads it, it is gone (sent or cancelled from elsewhere): the update is still done."""
    await world.make_leader(1001)
    update_id = 987_654_321
    raw = {
        "update_id": update_id,
        "message": {
            "message_id": 99,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": 1001, "type": "private"},
            "from": {"id": 1001, "is_bot": False, "first_name": "Leader"},
            "text": "Dear neighbours, the meeting is on Friday.",
        },
    }
    async with world.app.uow() as uow:
        await uow.inbox.add_many([(update_id, raw, 1001)])
        leader = (await uow.leaders.list_all())[0][0]
        await uow.commit()
    assert update_id in await pending_updates(world)
    message = Message.model_validate(raw["message"])
    delivery = Delivery(1001, update_id)
    await on_broadcast_text(message, world.app, leader, delivery, "en", world.runtime.bot)
    assert update_id not in await pending_updates(world)


async def test_a_leaders_menu_follows_the_language_they_pick(world: World) -> None:
    leader = await world.make_leader(1001)

    def invite_description() -> str:
        menu = world.emu.commands_for_chat(1001)
        return next((c["description"] for c in menu if c["command"] == "invite"), "")

    assert invite_description() == "Invite link and poster"
    await leader.send("/language")
    [picker] = await leader.expect()
    await leader.tap(picker, "Polski")
    await leader.expect()
    await leader.send("/help")  # the next update sees the new language and sets the menu
    await leader.expect()
    await world.settled()
    assert invite_description() == "Link z zaproszeniem i plakat"
    assert await pending_updates(world) == []
