"""aiogram parses every Bot API answer as `Response[T]`; the bot keeps those classes
built (pydantic would let the garbage collector take them and rebuild each one)."""

from __future__ import annotations

import gc

from aiogram.methods.base import Response

from bot.telegram.runtime import RESPONSE_TYPES, USED_METHODS
from emulator import Emulator


def test_the_answer_type_of_every_method_the_bot_calls_survives_garbage_collection() -> None:
    gc.collect()
    for method, kept in zip(USED_METHODS, RESPONSE_TYPES, strict=True):
        assert Response[method.__returning__] is kept


def test_the_emulator_answers_every_method_the_bot_calls() -> None:
    assert {m.__api_method__ for m in USED_METHODS} <= set(Emulator().api.handlers)
