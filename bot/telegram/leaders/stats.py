"""A leader's statistics: /stats, then which community (or all of theirs) and which
consultation; the counts themselves come from `konsulta.leaders.stats`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.telegram.callbacks import LeaderAct
from bot.telegram.leaders.common import button, gone, pick_consultation, say, send
from dialogs.events import Translator
from konsulta.bootstrap import App
from konsulta.conversations import Delivery
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import own_community
from konsulta.leaders.stats import leader_stats
from storage.models import Leader

__all__ = ["router"]


async def on_stats(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        communities = await uow.leaders.communities(leader)
        if len(communities) > 1:
            choices = [button(texts.gettext("All my communities"), Act.STATS_COMMUNITY, 0)]
            choices += [button(c.name, Act.STATS_COMMUNITY, c.id) for c in communities]
            answer = say(texts.gettext("Which community?"), language, *choices)
        elif communities:
            answer = await pick_consultation(
                app, uow, Act.STATS, communities[0].id, texts, language, open_only=False
            )
        else:
            answer = say(texts.gettext("You do not lead any community at the moment."), language)
        await send(uow, delivery, answer)
        await uow.commit()


async def on_stats_community(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    leader: Leader,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    """Id 0 is "all my communities"."""
    await query.answer()
    item = callback_data.id
    async with app.uow() as uow:
        if item and await own_community(uow, leader, item) is None:
            answer = gone(texts, language)
        else:
            answer = await pick_consultation(
                app, uow, Act.STATS, item, texts, language, open_only=False
            )
        await send(uow, delivery, answer)
        await uow.commit()


async def on_stats_consultation(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    leader: Leader,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    async with app.uow() as uow:
        report = await leader_stats(app, uow, leader, callback_data.id, callback_data.arg, language)
        answer = gone(texts, language) if report is None else say(report, language)
        await send(uow, delivery, answer)
        await uow.commit()


def router() -> Router:
    """A fresh router (a sub-router of the leaders', which checks who may use it)."""
    stats = Router(name="leader-stats")
    stats.message.register(on_stats, Command("stats"))
    buttons = stats.callback_query
    buttons.register(on_stats_community, LeaderAct.filter(F.act == Act.STATS_COMMUNITY))
    buttons.register(on_stats_consultation, LeaderAct.filter(F.act == Act.STATS))
    return stats
