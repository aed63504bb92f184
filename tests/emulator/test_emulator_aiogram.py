"""A real aiogram 3 bot talks to the emulator exactly as it would to Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from emulator import Emulator


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    bot = Bot(emulator.token, session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


async def test_aiogram_bot_round_trip(emulator: Emulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == emulator.config.bot_username

    emulator.citizens.create(31, "Ana", "pl")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Tak", callback_data="consent:yes")]]
    )
    sent = await bot.send_message(31, "<b>Zgoda?</b>", parse_mode="HTML", reply_markup=keyboard)
    assert sent.text == "Zgoda?" and sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "consent:yes"

    edited = await bot.edit_message_text("Dziękujemy", chat_id=31, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "Dziękujemy"

    document = await bot.send_document(31, BufferedInputFile(b"id;answer\n", filename="a.csv"))
    assert document.document is not None
    assert emulator.file_bytes(document.document.file_id) == b"id;answer\n"

    assert await bot.set_my_commands(
        [BotCommand(command="start", description="Start")],
        scope=BotCommandScopeChat(chat_id=31),
    )
    assert emulator.commands_for_chat(31) == [{"command": "start", "description": "Start"}]

    await emulator.citizens.send_text(31, "/start")
    await emulator.citizens.tap(31, sent.message_id, "consent:yes")
    updates = await bot.get_updates(timeout=1)
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert updates[1].callback_query is not None
    assert updates[1].callback_query.data == "consent:yes"
    assert await bot.answer_callback_query(updates[1].callback_query.id, text="OK")
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []


async def test_aiogram_sees_telegram_errors(emulator: Emulator, bot: Bot) -> None:
    emulator.citizens.create(32)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(32, "<b>broken", parse_mode="HTML")
    for _ in range(3):
        await bot.send_message(32, "fast")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(32, "too fast")
    assert caught.value.retry_after == 1
