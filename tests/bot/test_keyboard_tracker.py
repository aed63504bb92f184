"""The keyboard tracker on its own: which copies of a question it closes, and that it
never asks Telegram to close buttons that are already gone ("message is not
modified"), whatever order the close rows and the answers come in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.methods import EditMessageReplyMarkup, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from database_checks import session_of
from sqlalchemy import select

from bot.telegram.callbacks import PickLanguage, Tap
from bot.telegram.keyboards import KeyboardTracker
from konsulta.bootstrap import App, build_app
from konsulta.outbound import Delivery, Op, OutboundMessage, deliver
from konsulta.settings import Settings
from storage.models import OpenKeyboard, OutboxMessage

CHAT = 5
#: The tracker never looks at the bot; the fake Telegram neither.
NO_BOT: Any = None


@pytest.fixture
async def app(migrated_url: str) -> AsyncIterator[App]:
    app = await build_app(Settings(database_url=migrated_url), migrate=False)
    try:
        yield app
    finally:
        await app.close()


class Telegram:
    """A fake Bot API behind the middleware: numbers the messages, records the calls."""

    def __init__(self) -> None:
        self.calls: list[TelegramMethod[Any]] = []
        self.next_id = 10

    async def __call__(self, bot: Any, method: TelegramMethod[Any]) -> Any:
        self.calls.append(method)
        if isinstance(method, SendMessage):
            self.next_id += 1
            return Message.model_validate(
                {
                    "message_id": self.next_id,
                    "date": 0,
                    "chat": {"id": method.chat_id, "type": "private"},
                    "text": method.text,
                }
            )
        return True


def question(data: str, chat: int = CHAT) -> SendMessage:
    button = InlineKeyboardButton(text="A", callback_data=data)
    markup = InlineKeyboardMarkup(inline_keyboard=[[button]])
    return SendMessage(chat_id=chat, text="Q?", reply_markup=markup)


def close(message_id: int) -> EditMessageReplyMarkup:
    return EditMessageReplyMarkup(chat_id=CHAT, message_id=message_id)


async def close_rows(app: App) -> list[int]:
    async with app.uow(read_only=True) as uow:
        payloads = (await session_of(uow).scalars(select(OutboxMessage.payload))).all()
    return [p["edit_message_id"] for p in payloads if p.get("op") == Op.CLOSE_KEYBOARD]


async def noted(app: App, tracker: KeyboardTracker) -> None:
    """What the sender does with each wave's results: write the tracker's notes."""
    async with app.uow() as uow:
        await tracker.write(uow)
        await uow.commit()


async def test_a_newer_copy_closes_the_older_ones_once(app: App) -> None:
    tracker, telegram = KeyboardTracker(app), Telegram()
    tap = Tap(run=1, step="age", key="a").pack()
    await tracker(telegram, NO_BOT, question(tap))
    await noted(app, tracker)
    assert await close_rows(app) == []
    await tracker(telegram, NO_BOT, question(tap))
    await noted(app, tracker)
    assert await close_rows(app) == [11]
    async with app.uow(read_only=True) as uow:
        assert await uow.keyboards.newest(CHAT) == 12

    # The close row goes out once; a second one for the same message is not sent.
    await tracker(telegram, NO_BOT, close(11))
    await tracker(telegram, NO_BOT, close(11))
    assert [type(c).__name__ for c in telegram.calls] == [
        "SendMessage",
        "SendMessage",
        "EditMessageReplyMarkup",
    ]

    # Buttons that are not answers (the language picker) are not a question's copy.
    await tracker(telegram, NO_BOT, question(PickLanguage(code="pl").pack()))
    await noted(app, tracker)
    assert await close_rows(app) == [11]


async def test_a_copy_closed_with_its_answer_is_not_closed_again(app: App) -> None:
    tracker, telegram = KeyboardTracker(app), Telegram()
    tap = Tap(run=1, step="age", key="a").pack()
    await tracker(telegram, NO_BOT, question(tap))
    await tracker(telegram, NO_BOT, question(tap))
    await noted(app, tracker)
    # The citizen answers on the older copy before its close row went out: the
    # answer closes it (queued with the answer), and the close row is then skipped.
    async with app.uow() as uow:
        closed = OutboundMessage.close_question(11, "Q?", "A", language="pl")
        await deliver(uow, Delivery(CHAT), [closed])
        await uow.commit()
    await tracker(telegram, NO_BOT, close(11))
    assert not any(isinstance(c, EditMessageReplyMarkup) for c in telegram.calls)


async def test_one_wave_of_many_chats_closes_each_chats_own_older_copies(app: App) -> None:
    """The sender notes a whole wave at once: three chats, each with its own history."""
    tracker, telegram = KeyboardTracker(app), Telegram()
    tap = Tap(run=1, step="age", key="a").pack()
    for chat in (7, 8, 9):
        await tracker(telegram, NO_BOT, question(tap, chat))  # 11, 12, 13
    await noted(app, tracker)
    # Chat 7's question is answered (closed with its answer); chat 8's is not.
    async with app.uow() as uow:
        await uow.keyboards.closed(7, 11)
        await uow.commit()
    # One wave: a new question in chats 7 and 8, two copies in a row in chat 9.
    for chat in (7, 8, 9, 9):
        await tracker(telegram, NO_BOT, question(tap, chat))  # 14, 15, 16, 17
    await noted(app, tracker)
    async with app.uow(read_only=True) as uow:
        rows = await session_of(uow).execute(
            select(OutboxMessage.chat_id, OutboxMessage.payload).order_by(OutboxMessage.id)
        )
        closes = [
            (chat, p["edit_message_id"]) for chat, p in rows if p.get("op") == Op.CLOSE_KEYBOARD
        ]
        assert [await uow.keyboards.newest(chat) for chat in (7, 8, 9)] == [14, 15, 17]
        left = await session_of(uow).execute(
            select(OpenKeyboard.chat_id, OpenKeyboard.message_id).order_by(
                OpenKeyboard.chat_id, OpenKeyboard.message_id
            )
        )
        # Chat 7's answered question needs no close and its note is gone; chat 8's
        # unanswered one and chat 9's two older copies are closed, oldest first.
        assert sorted(closes) == [(8, 12), (9, 13), (9, 16)]
        assert list(left) == [(7, 14), (8, 12), (8, 15), (9, 13), (9, 16), (9, 17)]
