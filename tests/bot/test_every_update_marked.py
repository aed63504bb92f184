"""Every update ends marked, and its raw JSON (names, texts) is gone once it is.

The rule lives in one place, the inbox worker: a handler that answers marks its update
with what it stored (`konsulta.outbound.deliver`); the worker marks the rest. These
stories feed every kind of update Telegram sends (and some it may send one day) to the
real dispatcher through the real inbox, and then find no pending inbox row and no kept
raw update.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.types import Message, Update
from database_checks import session_of
from in_process import bot_in_process, settled, tap_label
from sqlalchemy import select

from bot.telegram.callbacks import ConfirmErase, LeaderAct, PickLanguage, Tap
from bot.telegram.inbox import InboxWorker, store_updates
from konsulta.bootstrap import App
from konsulta.leaders.actions import LeaderAction
from konsulta.leaders.service import add_community, add_leader
from konsulta.publishing import read_flow
from outreach.reminders import NO_REMINDERS, REMINDER_STEP
from storage.models import InboxUpdate

FLOW = Path(__file__).resolve().parents[1] / "leaders" / "flows" / "co-op-homes.yaml"
# The organisation the flow names: a leader invites to their own organisation's only.
ORGANISATION = "spoldzielnia-mieszkaniowa-w-slupsku"
COMMUNITY = "Senior co-op Słupsk"
CITIZEN, LEADER, STRANGER = 2001, 3001, 4001
GROUP = -100_500
NAME = "Adalbertina"
SECRET = "my neighbour's secret"


async def inbox(app: App) -> list[InboxUpdate]:
    async with app.uow() as uow:
        return list((await session_of(uow).scalars(select(InboxUpdate))).all())


async def assert_all_marked_and_forgotten(app: App, at_least: int) -> None:
    rows = await inbox(app)
    assert len(rows) >= at_least  # every update reached the inbox
    assert [r.update_id for r in rows if r.handled_at is None] == []
    assert [r.update_id for r in rows if r.raw] == []
    stored = json.dumps([r.raw for r in rows], ensure_ascii=False)
    assert NAME not in stored and SECRET not in stored


def message(user_id: int, chat_id: int, **content: Any) -> dict[str, Any]:
    """A message as Telegram sends it, for the kinds the emulator has no helper for."""
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group", "first_name": NAME}
    return {
        "message_id": 90_000 + len(content),
        "date": 1_700_000_000,
        "chat": chat,
        "from": {"id": user_id, "is_bot": False, "first_name": NAME},
        **content,
    }


async def test_every_kind_of_update_ends_marked_with_no_raw_update_kept(
    migrated_url: str,
) -> None:
    async with bot_in_process(
        migrated_url,
        [read_flow(FLOW)],
        name="marked",
        default_language="en",
        organisation=ORGANISATION,
    ) as bot:
        emu, app, people = bot.emu, bot.app, bot.emu.citizens
        async with app.uow() as uow:
            await add_community(uow, ORGANISATION, COMMUNITY, ["pl", "en"])
            await uow.commit()
        people.create(CITIZEN, NAME, "en")
        people.create(LEADER, NAME, "en")
        people.create(STRANGER, NAME, "en")

        # A citizen: valid taps (the consultation, consent, an answer).
        await people.send_text(CITIZEN, "/start")
        await settled(app, emu)
        await tap_label(emu, CITIZEN, "A good home")
        await settled(app, emu)
        await tap_label(emu, CITIZEN, "Yes, I agree")
        await settled(app, emu)
        await tap_label(emu, CITIZEN, "70")
        await settled(app, emu)
        question = emu.bot_messages(CITIZEN)[-1].message_id

        # Everything a phone can send, in a private chat.
        sent = await people.send_text(CITIZEN, SECRET)
        await people.send_photo(CITIZEN, caption=SECRET)
        await people.send_voice(CITIZEN)
        await people.send_location(CITIZEN, 54.46, 17.03)
        await people.send_contact(CITIZEN, "+48 600 000 000")
        await people.send_sticker(CITIZEN)
        await people.forward_text(CITIZEN, SECRET)
        await people.send_text(CITIZEN, "/no_such_command")
        await people.send_text(CITIZEN, "/back")
        await people.edit_text(CITIZEN, sent.message_id, SECRET + "!")
        document = {"file_id": "doc", "file_unique_id": "doc-u", "file_name": "a.pdf"}
        emu.state.enqueue_update("message", message(CITIZEN, CITIZEN, document=document))
        dice = {"emoji": "🎲", "value": 3}
        emu.state.enqueue_update("message", message(CITIZEN, CITIZEN, dice=dice))

        # Buttons: stale, foreign, garbled, reminders' for a run that is gone, a language
        # nobody speaks, and a leader's buttons tapped by a citizen.
        for data in (
            Tap(run=999_999, step="age", key="70_74").pack(),
            Tap(run=0, step="nowhere", key="x").pack(),
            "garbage that no factory packs",
            Tap(run=999_999, step=REMINDER_STEP, key="continue").pack(),
            Tap(run=999_999, step=REMINDER_STEP, key=NO_REMINDERS).pack(),
            PickLanguage(code="xx").pack(),
            ConfirmErase(sure=False).pack(),
            LeaderAct(act=LeaderAction.APPROVE, id=1, arg="y").pack(),
            LeaderAct(act=LeaderAction.BROADCAST_SEND, id=1).pack(),
        ):
            await people.tap(CITIZEN, question, data)

        # A group, the chat member changes, and kinds no router takes.
        people.create_group(GROUP, "Co-op residents", [CITIZEN])
        await people.send_text(CITIZEN, SECRET, chat_id=GROUP)
        await people.send_text(CITIZEN, "/start", chat_id=GROUP)
        people.block(STRANGER)
        people.unblock(STRANGER)
        user = {"id": CITIZEN, "is_bot": False, "first_name": NAME}
        poll_answer = {
            "poll_id": "p1",
            "user": user,
            "option_ids": [0],
            "option_persistent_ids": ["a"],
        }
        # The bot asks Telegram only for the kinds it handles (allowed_updates), so
        # these come straight to the inbox, as after a change of that list.
        await bot.runtime.accept(
            [
                Update.model_validate({"update_id": 900_001, "poll_answer": poll_answer}),
                Update.model_validate(
                    {"update_id": 900_002, "a_kind_from_the_future": {"text": SECRET}}
                ),
            ]
        )
        await settled(app, emu)

        # A leader: a stray text, then helping a neighbour who sends what cannot be read.
        await people.send_text(LEADER, "/help")
        await settled(app, emu)
        async with app.uow() as uow:
            await add_leader(app, uow, LEADER, COMMUNITY, ORGANISATION)
            await uow.commit()
        bot.runtime.sender.wake()
        await settled(app, emu)
        await people.send_text(LEADER, SECRET)
        await settled(app, emu)
        await people.send_text(LEADER, "/assist")
        await settled(app, emu)
        await tap_label(emu, LEADER, "A good home")
        await settled(app, emu)
        async with app.uow() as uow:
            leader = await uow.leaders.find_active(LEADER)
            assert leader is not None and leader.assisting_citizen_id is not None
        emu.state.enqueue_update("message", message(LEADER, LEADER, dice=dice))
        emu.state.enqueue_update("message", message(LEADER, LEADER, document=document))
        await settled(app, emu)

        await assert_all_marked_and_forgotten(app, at_least=37)
        # Kinds nobody handles are no failures (a kind newer than aiogram included).
        errors = {r.update_id: r.error for r in await inbox(app) if r.update_id >= 900_000}
        assert errors == {900_001: None, 900_002: None}


async def test_a_handler_that_stores_nothing_leaves_no_update_pending(migrated_url: str) -> None:
    """The worker's guarantee holds for any handler, including one written tomorrow that
    returns early (as the leaders' handlers did) or fails."""
    async with bot_in_process(
        migrated_url, [read_flow(FLOW)], name="forgetful", default_language="en"
    ) as bot:
        router = Router()

        @router.message()
        async def forgetful(message: Message) -> None:
            if message.text == "fail":
                raise RuntimeError("a handler that fails")

        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        worker = InboxWorker(bot.app, dispatcher, bot.runtime.bot)
        updates = [
            Update.model_validate(
                {"update_id": 10_000 + n, "message": message(CITIZEN, CITIZEN, text=text)}
            )
            for n, text in enumerate([SECRET, "fail", SECRET])
        ]
        worker.submit(await store_updates(bot.app, updates))
        await asyncio.wait_for(worker.idle(), 20)

        rows = {r.update_id: r for r in await inbox(bot.app) if r.update_id >= 10_000}
        assert sorted(rows) == [10_000, 10_001, 10_002]
        assert all(r.handled_at is not None and not r.raw for r in rows.values())
        assert rows[10_001].error == "RuntimeError: a handler that fails"
        assert rows[10_000].error is None
