"""Outbox payloads as Bot API calls: one place decides how a message looks in Telegram.

Texts are plain in the engine and escaped here, so nothing a staff member writes in a
flow or a citizen types in an answer can break Telegram's HTML parsing.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from aiogram.methods import (
    DeleteMyCommands,
    EditMessageText,
    SendDocument,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.telegram.callbacks import ConfirmErase, PickLanguage, Tap
from dialogs.events import Translator

#: Kinds whose options fit side by side on a phone screen.
ROW_KINDS = {"scale", "yes_no", "consent"}
ROW_WIDTH = 5
MARKS = {"hint": "💡 ", "notice": "ℹ️ "}
#: Languages written right to left (of those Konsulta speaks).
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}


def _callback(payload: dict[str, Any], key: str) -> str:
    step = payload.get("step_id") or ""
    if step == "~language":
        return PickLanguage(code=key).pack()
    if step == "~erase":
        return ConfirmErase(sure=key == "yes").pack()
    return Tap(run=payload.get("run_id") or 0, step=step, key=key).pack()


def inline_keyboard(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    buttons = payload.get("buttons") or []
    if not buttons:
        return None
    options = [b for b in buttons if not b["key"].startswith("~")]
    controls = [b for b in buttons if b["key"].startswith("~")]

    def button(b: dict[str, Any]) -> InlineKeyboardButton:
        label = ("✅ " if b.get("selected") else "") + b["label"]
        if b.get("url"):
            return InlineKeyboardButton(text=label, url=b["url"])
        # Leader dialogs pack their own CallbackData (bot/leaders/callbacks.py).
        data = b.get("callback") or _callback(payload, b["key"])
        return InlineKeyboardButton(text=label, callback_data=data)

    if payload.get("expects") in ROW_KINDS:
        rows = [
            [button(b) for b in options[i : i + ROW_WIDTH]]
            for i in range(0, len(options), ROW_WIDTH)
        ]
    else:
        rows = [[button(b)] for b in options]
    if controls:
        rows.append([button(b) for b in controls])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_keyboard(payload: dict[str, Any], texts: Translator) -> ReplyKeyboardMarkup | None:
    """Location and contact are shared through Telegram's own request buttons."""
    expects = payload.get("expects")
    if expects == "location":
        label = texts.gettext("📍 Send my location")
        button = KeyboardButton(text=label, request_location=True)
    elif expects == "contact":
        label = texts.gettext("📞 Send my phone number")
        button = KeyboardButton(text=label, request_contact=True)
    else:
        return None
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


def message_html(payload: dict[str, Any]) -> str:
    text = html.escape(payload.get("text") or "", quote=False)
    progress = payload.get("progress")
    if progress:
        counter = f"{progress[0]}/{progress[1]}"
        if payload.get("language") in RTL_LANGUAGES:
            # A line of only digits has no direction of its own: a RIGHT-TO-LEFT MARK
            # keeps it on the right like the Arabic question below it, and an isolate
            # keeps "3/10" reading as three of ten.
            counter = f"\u200f\u2066{counter}\u2069"
        text = f"<i>{counter}</i>\n{text}"
    return MARKS.get(payload.get("role") or "", "") + text


def render(chat_id: int, payload: dict[str, Any], texts: Translator) -> TelegramMethod[Any]:
    """The Bot API call that shows `payload` in `chat_id`."""
    if payload.get("op") == "set_commands":
        # A per-chat command menu (a local leader's); an empty list removes it.
        scope = BotCommandScopeChat(chat_id=chat_id)
        commands = [BotCommand(**c) for c in payload.get("commands") or []]
        if not commands:
            return DeleteMyCommands(scope=scope)
        return SetMyCommands(commands=commands, scope=scope)
    document = payload.get("document")
    if document:
        content = base64.b64decode(document["content_base64"])
        return SendDocument(
            chat_id=chat_id,
            document=BufferedInputFile(content, filename=document["filename"]),
            caption=payload.get("text") or None,
        )
    if payload.get("op") == "close_question":
        # The tapped question keeps its text, loses its buttons, and shows the answer.
        closed = html.escape(payload.get("text") or "", quote=False)
        answer = html.escape(payload.get("answer") or "", quote=False)
        return EditMessageText(
            chat_id=chat_id,
            message_id=payload["edit_message_id"],
            text=f"{closed}\n\n✓ <b>{answer}</b>",
            parse_mode="HTML",
        )
    text = message_html(payload)
    inline = inline_keyboard(payload)
    edit_id = payload.get("edit_message_id")
    if payload.get("edit") and edit_id:
        return EditMessageText(
            chat_id=chat_id, message_id=edit_id, text=text, parse_mode="HTML", reply_markup=inline
        )
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = inline
    if markup is None:
        markup = reply_keyboard(payload, texts) or ReplyKeyboardRemove()
    return SendMessage(chat_id=chat_id, text=text, parse_mode="HTML", reply_markup=markup)
