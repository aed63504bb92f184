"""What every handler needs to know about an update, worked out once.

An outer middleware turns the update into `who` (the citizen's identity), `delivery`
(where replies go, and which inbox row to mark handled with them), `language` and
`texts` (the citizen's stored language first, then Telegram's language_code, then
the default), so handlers stay a few lines long. A second middleware keeps a citizen
who sends many messages a second from flooding their own chat.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update, User

from dialogs.events import Message, Translator
from konsulta.bootstrap import App
from konsulta.conversations import Conversations, Delivery, Outcome, Who, queue_messages
from storage.models import Register
from storage.types import bot_of_channel, channel_of_bot

TELEGRAM_CHANNEL = channel_of_bot("")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _base(code: str | None) -> str | None:
    return code.split("-")[0].lower() if code else None


class CitizenContext(BaseMiddleware):
    """`channel`: whose users this dispatcher's bot serves (`telegram` for the main
    bot, `telegram:<name>` for another, see konsulta.settings.BotConfig)."""

    def __init__(
        self, app: App, conversations: Conversations, channel: str = TELEGRAM_CHANNEL
    ) -> None:
        self.app = app
        self.conversations = conversations
        self.channel = channel
        self.bot_name = bot_of_channel(channel)

    async def language_of(self, user: User | None) -> str:
        available = set(self.app.i18n.available_locales)
        stored = await self.conversations.stored_language(user.id, self.channel) if user else None
        for candidate in (stored, _base(user.language_code if user else None)):
            if candidate in available:
                return str(candidate)
        return self.app.settings.default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        language = await self.language_of(user)
        data["language"] = language
        register = await self.conversations.stored_register(user.id, self.channel) if user else None
        data["texts"] = self.app.texts(language, register or Register.FORMAL)
        source_id = source_text = None
        if event.callback_query is not None and event.callback_query.message is not None:
            source_id = event.callback_query.message.message_id
            source_text = getattr(event.callback_query.message, "text", None)
        chat_id = chat.id if chat else (user.id if user else 0)
        data["delivery"] = Delivery(
            chat_id, event.update_id, source_id, source_text, bot=self.bot_name
        )
        if user is not None:
            data["who"] = Who(self.channel, user.id, chat_id, user.language_code)
        return await handler(event, data)


class FloodControl(BaseMiddleware):
    """More than `limit` messages within `window` seconds: one kind notice, and the
    rest of the burst is not acted on (a cache per process, nothing to persist)."""

    def __init__(
        self,
        app: App,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.limit = limit
        self.window = window
        self.clock = clock
        self.recent: dict[int, deque[float]] = {}
        self.warned: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        delivery: Delivery | None = data.get("delivery")
        if delivery is None or not delivery.chat_id:
            return await handler(event, data)
        now = self.clock()
        stamps = self.recent.setdefault(delivery.chat_id, deque())
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        stamps.append(now)
        if len(self.recent) > 50_000:
            self.recent = {delivery.chat_id: stamps}
        if len(stamps) <= self.limit:
            return await handler(event, data)
        language: str = data["language"]
        texts: Translator = data["texts"]  # the citizen's language and register
        messages: tuple[Message, ...] = ()
        if now - self.warned.get(delivery.chat_id, -1e9) > self.window * 5:
            self.warned[delivery.chat_id] = now
            notice = texts.gettext(
                "You are sending messages very fast. Please wait a moment, "
                "then send your answer again."
            )
            messages = (Message(notice, "notice"),)
        async with self.app.uow() as uow:
            await queue_messages(uow, None, Outcome(messages, language), delivery)
            await uow.commit()
        return None
