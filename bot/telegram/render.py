"""Outbound messages as Bot API calls: one place decides how a message looks in Telegram.

Services hand over a typed `OutboundMessage` (konsulta/outbound.py); the outbox keeps
its JSON, and every function here takes either the message or that stored JSON, so a
row queued before the type existed still renders. Texts are plain in the services and
escaped here, so nothing a staff member writes in a flow or a citizen types in an
answer can break Telegram's HTML parsing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aiogram.methods import (
    DeleteMyCommands,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendVoice,
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
from konsulta.outbound import Op, OutboundButton, OutboundMessage, ReplyKeyboard
from konsulta.speech import VoiceNote

__all__ = ["inline_keyboard", "message_html", "render", "reply_keyboard"]

Renderable = OutboundMessage | Mapping[str, Any]

MARKS = {"hint": "💡 ", "notice": "ℹ️ "}
#: Languages written right to left (of those Konsulta speaks).
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}


def _callback(message: OutboundMessage, key: str) -> str:
    step = message.step_id or ""
    if step == "~language":
        return PickLanguage(code=key).pack()
    if step == "~erase":
        return ConfirmErase(sure=key == "yes").pack()
    return Tap(run=message.run_id or 0, step=step, key=key).pack()


def inline_keyboard(message: Renderable) -> InlineKeyboardMarkup | None:
    message = OutboundMessage.of(message)
    if not message.buttons:
        return None

    def button(b: OutboundButton) -> InlineKeyboardButton:
        label = ("✅ " if b.selected else "") + b.label
        if b.url:
            return InlineKeyboardButton(text=label, url=b.url)
        # Leader dialogs pack their own CallbackData (bot/telegram/callbacks.py).
        data = b.callback or _callback(message, b.key)
        return InlineKeyboardButton(text=label, callback_data=data)

    rows = [[button(b) for b in row] for row in message.button_rows()]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_keyboard(
    message: Renderable, texts: Translator
) -> ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """Location and contact are shared through Telegram's own request buttons."""
    wanted = OutboundMessage.of(message).reply_keyboard
    if wanted is ReplyKeyboard.LOCATION:
        label = texts.gettext("📍 Send my location")
        button = KeyboardButton(text=label, request_location=True)
    elif wanted is ReplyKeyboard.CONTACT:
        label = texts.gettext("📞 Send my phone number")
        button = KeyboardButton(text=label, request_contact=True)
    elif wanted is ReplyKeyboard.REMOVE:
        return ReplyKeyboardRemove()
    else:
        return None
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


def message_html(message: Renderable) -> str:
    message = OutboundMessage.of(message)
    text = html.escape(message.text, quote=False)
    if message.progress:
        counter = f"{message.progress[0]}/{message.progress[1]}"
        if message.language in RTL_LANGUAGES:
            # A line of only digits has no direction of its own: a RIGHT-TO-LEFT MARK
            # keeps it on the right like the Arabic question below it, and an isolate
            # keeps "3/10" reading as three of ten.
            counter = f"\u200f\u2066{counter}\u2069"
        text = f"<i>{counter}</i>\n{text}"
    return MARKS.get(message.role or "", "") + text


def render(
    chat_id: int, message: Renderable, texts: Translator, *, voice: VoiceNote | None = None
) -> TelegramMethod[Any]:
    """The Bot API call that shows `message` in `chat_id`; a voice message wants its
    `voice` note (konsulta/speech.py): Telegram's file_id once uploaded, else the audio."""
    message = OutboundMessage.of(message)
    if message.voice:
        if voice is None:
            raise ValueError("a voice message is rendered with its VoiceNote")
        media: str | BufferedInputFile
        if voice.file_id is not None:
            media = voice.file_id
        else:
            media = BufferedInputFile(voice.audio or b"", filename="voice.ogg")
        return SendVoice(chat_id=chat_id, voice=media, duration=voice.duration)
    if message.op is Op.SET_COMMANDS:
        # A per-chat command menu (a local leader's); an empty list removes it.
        scope = BotCommandScopeChat(chat_id=chat_id)
        if not message.commands:
            return DeleteMyCommands(scope=scope)
        commands = [
            BotCommand(command=c.command, description=c.description) for c in message.commands
        ]
        return SetMyCommands(commands=commands, scope=scope)
    if message.document is not None:
        return SendDocument(
            chat_id=chat_id,
            document=BufferedInputFile(
                message.document.content, filename=message.document.filename
            ),
            caption=message.text or None,
        )
    if message.op is Op.CLOSE_QUESTION and message.edit_message_id is not None:
        # The tapped question keeps its text, loses its buttons, and shows the answer.
        closed = html.escape(message.text, quote=False)
        answer = html.escape(message.answer or "", quote=False)
        return EditMessageText(
            chat_id=chat_id,
            message_id=message.edit_message_id,
            text=f"{closed}\n\n✓ <b>{answer}</b>",
            parse_mode="HTML",
        )
    text = message_html(message)
    inline = inline_keyboard(message)
    if message.edits:
        return EditMessageText(
            chat_id=chat_id,
            message_id=message.edit_message_id,
            text=text,
            parse_mode="HTML",
            reply_markup=inline,
        )
    markup = inline or reply_keyboard(message, texts)
    return SendMessage(chat_id=chat_id, text=text, parse_mode="HTML", reply_markup=markup)
