"""One live keyboard per question: an earlier copy of a question loses its buttons.

A question is asked again after a hint, a fourth pick on "choose up to 3", a /start or
a resume; each time a new message with answer buttons arrives, and the earlier copy
would keep working buttons (a tap there toggled state drawn in the other copy). Only
Telegram knows a message's id, and only once it is sent, so this is decided where the
Bot API answers: a request middleware on the bot's session, and the sender's own
plain calls (`Sender._send_plain`, which hands each text it sent to `sent_question`).

- A message with answer buttons (`Tap` callback data) sent: it is noted as the
  chat's newest open keyboard, and every older open one gets an `Op.CLOSE_KEYBOARD`
  row in the outbox (an `editMessageReplyMarkup` without buttons), queued in the same
  transaction, so it keeps the chat's order and the sender's limits like any message.
- A close row sent: the message is no longer open. A tapped question closed with its
  answer is no longer open from the moment that edit is queued (`deliver`, in the
  conversation's own transaction, so no extra one here).
- A close row for a message that is no longer open (closed with its answer while
  the row waited) is not sent: Telegram would answer "message is not modified".

The note costs no transaction of its own: the tracker keeps it in memory and the
sender writes it with the results of the same wave (`write`, in `Sender._write`), a
tenth of a second later at most. So the common path costs no extra transaction per
question sent, and none per tap.

The conversation service reads the same table (`uow.keyboards.newest`) to answer a
tap on a stale copy with a short note and nothing else. A crash between the Bot API
call and the note leaves the older copy open; a tap there is still recognised as
stale when it names another question, and the next question closes it.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageReplyMarkup, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup, Message

from bot.telegram.callbacks import Tap
from konsulta.bootstrap import App
from konsulta.outbound import OutboundMessage
from storage.models import OutboxKind
from storage.uow import UnitOfWork

__all__ = ["KeyboardTracker", "track_keyboards"]

log = logging.getLogger(__name__)

_TAP = f"{Tap.__prefix__}{Tap.__separator__}"


def has_answer_buttons(markup: Any) -> bool:
    """Whether `markup` is an inline keyboard with at least one answer button."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return False
    return any(
        (button.callback_data or "").startswith(_TAP)
        for row in markup.inline_keyboard
        for button in row
    )


class KeyboardTracker(BaseRequestMiddleware):
    """`bot_name`: the bot whose session it watches, which sends the closes."""

    def __init__(self, app: App, bot_name: str = "") -> None:
        self.app = app
        self.bot_name = bot_name
        #: Questions sent and not yet noted: (chat, message id), oldest first.
        self.sent: list[tuple[int, int]] = []

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, EditMessageReplyMarkup) and method.reply_markup is None:
            return await self._close(make_request, bot, method)
        result = await make_request(bot, method)
        sent = cast(Any, result)
        if isinstance(method, SendMessage) and isinstance(sent, Message):
            self.sent_question(method, sent.message_id)
        return result

    def sent_question(self, method: SendMessage, message_id: int) -> None:
        """`method` went out as `message_id`: if it asks a question (answer buttons),
        it is noted as its chat's newest open keyboard (the sender calls this itself
        for the calls it makes without aiogram's session)."""
        if isinstance(method.chat_id, int) and has_answer_buttons(method.reply_markup):
            self.sent.append((method.chat_id, message_id))

    async def write(self, uow: UnitOfWork) -> None:
        """Note the questions sent since the last call as their chats' newest open
        keyboards, and queue closing their older copies (in the caller's transaction;
        kept for the next call if it fails)."""
        sent, self.sent = self.sent, []
        try:
            older = await uow.keyboards.opened(sent)
            for chat_id, messages in older.items():
                closes = [OutboundMessage.close_keyboard(m).to_payload() for m in messages]
                await uow.outbox.queue(
                    chat_id, OutboxKind.DIALOG, closes, citizen_id=None, bot=self.bot_name
                )
        except BaseException:
            self.sent[:0] = sent
            raise

    async def _close(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: EditMessageReplyMarkup,
    ) -> Response[TelegramType]:
        """Take the buttons off a stale copy, unless they are gone already."""
        chat_id, message_id = method.chat_id, method.message_id
        if not isinstance(chat_id, int) or message_id is None:
            return await make_request(bot, cast(TelegramMethod[TelegramType], method))
        async with self.app.uow(read_only=True) as uow:
            still_open = await uow.keyboards.is_open(chat_id, message_id)
        if not still_open:
            return cast(Response[TelegramType], True)
        try:
            result = await make_request(bot, cast(TelegramMethod[TelegramType], method))
        except TelegramBadRequest:
            # Gone or already without buttons: it is not open either way.
            await self._closed(chat_id, message_id)
            raise
        await self._closed(chat_id, message_id)
        return result

    async def _closed(self, chat_id: int, message_id: int) -> None:
        async with self.app.uow() as uow:
            await uow.keyboards.closed(chat_id, message_id)
            await uow.commit()


def track_keyboards(app: App, bot: Bot, name: str = "") -> KeyboardTracker:
    """Have `bot`'s session note open keyboards and close stale copies (once per bot);
    the sender writes the notes (`KeyboardTracker.write`)."""
    session = bot.session
    for middleware in session.middleware:
        if isinstance(middleware, KeyboardTracker):
            return middleware
    tracker = KeyboardTracker(app, name)
    session.middleware(tracker)
    return tracker
