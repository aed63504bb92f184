"""Every router of the Telegram adapter, in the one order that is right.

Leaders' routers come first (only leaders' and approvers' updates stop there), then
reminder buttons, then the citizens' commands, buttons, dialog and catch-all. Built
anew each call, so every Dispatcher (one per bot, per test, or an embedding bot's own)
gets its own routers.
"""

from __future__ import annotations

from aiogram import Router

from bot.telegram import citizens, leaders, reminders


def get_routers() -> list[Router]:
    return [*leaders.get_routers(), reminders.get_router(), *citizens.get_routers()]
