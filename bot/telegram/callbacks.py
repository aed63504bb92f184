"""Compact callback data for every inline button the bot shows.

Buttons are routed on these factories, never on visible (translated) text, and the
packed data stays under Telegram's 64 bytes: step ids are at most 24 characters and
option keys 16 (see dialogs.schema).
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class Tap(CallbackData, prefix="t"):
    """An answer button: which run, which question, which option."""

    run: int
    step: str
    key: str


class PickLanguage(CallbackData, prefix="lang"):
    code: str


class ConfirmErase(CallbackData, prefix="erase"):
    sure: bool
