"""A tapped button answered after a restart is skipped; other Bot API errors are not."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, SendMessage

from bot.telegram.inbox import LateCallbackAnswers

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def test_only_a_too_old_button_answer_is_forgiven() -> None:
    bot = Bot("7000000001:konsulta-test-token")
    late = LateCallbackAnswers()

    async def telegram(bot: Bot, method: Any) -> Any:
        raise TelegramBadRequest(method=method, message=TOO_OLD)

    answered = await late(telegram, bot, AnswerCallbackQuery(callback_query_id="1"))
    assert answered.result is True
    with pytest.raises(TelegramBadRequest):
        await late(telegram, bot, SendMessage(chat_id=1, text="hello"))
    await bot.session.close()
