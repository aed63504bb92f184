"""Every router of the Telegram adapter, in the one order that is right.

Leaders' routers come first (only leaders' and approvers' updates stop there), then
reminder buttons, then the citizens' commands, buttons, dialog and catch-all. Built
anew each call, so every Dispatcher (one per bot, per test, or an embedding bot's own)
gets its own routers.

`include_konsulta` is the public way in for an existing aiogram bot (docs/adapters.md):
it gives the bot's own `Dispatcher` what Konsulta's handlers need and Konsulta's routers
after the bot's own, which must come first because Konsulta's end in a catch-all.
"""

from __future__ import annotations

from aiogram import Dispatcher, Router

from bot.telegram import citizens, leaders, reminders
from bot.telegram.context import CitizenContext, FloodControl
from konsulta.bootstrap import App
from konsulta.conversations import Conversations
from konsulta.settings import BotConfig


def get_routers() -> list[Router]:
    return [*leaders.get_routers(), reminders.get_router(), *citizens.get_routers()]


def include_konsulta(dispatcher: Dispatcher, app: App, bot: BotConfig | None = None) -> Dispatcher:
    """Konsulta inside `dispatcher`: the services as keyword data (`app`,
    `conversations`), the citizen context and flood control as update middlewares, and
    Konsulta's routers after those the dispatcher already has. Run it with
    `Runtime.build(app, dispatcher=dispatcher)` so updates go through the inbox and
    replies through the outbox's sender. `bot`: which of the deployment's bots the
    dispatcher serves (its citizens and organisations); the main one if not given."""
    bot = bot or app.settings.all_bots()[0]
    conversations = Conversations(app, bot.organisations)
    dispatcher["app"] = app
    dispatcher["conversations"] = conversations
    dispatcher.update.outer_middleware(CitizenContext(app, conversations, bot.channel))
    dispatcher.update.outer_middleware(
        FloodControl(app, app.settings.flood_messages, app.settings.flood_window_seconds)
    )
    dispatcher.include_routers(*get_routers())
    return dispatcher
