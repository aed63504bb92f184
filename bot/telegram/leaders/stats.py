"""A leader's statistics: /stats, then which community (or all of theirs) and which
consultation; the counts themselves come from `konsulta.leaders.stats`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.telegram.callbacks import LeaderAct
from bot.telegram.leaders.common import (
    LeaderUpdate,
    Payload,
    button,
    gone,
    pick_consultation,
    replies,
    say,
)
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import own_community
from konsulta.leaders.stats import leader_stats
from storage.uow import UnitOfWork

__all__ = ["router"]


@replies
async def on_stats(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    texts, language = update.texts, update.language
    communities = await uow.leaders.communities(update.leader)
    if len(communities) > 1:
        choices = [button(texts.gettext("All my communities"), Act.STATS_COMMUNITY, 0)]
        choices += [button(c.name, Act.STATS_COMMUNITY, c.id) for c in communities]
        return say(texts.gettext("Which community?"), language, *choices)
    if communities:
        return await pick_consultation(
            update.app,
            uow,
            Act.STATS,
            communities[0].id,
            communities[0].organisation_id,
            texts,
            language,
            open_only=False,
        )
    return say(texts.gettext("You do not lead any community at the moment."), language)


@replies
async def on_stats_community(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    """Id 0 is "all my communities"."""
    community = await own_community(uow, update.leader, update.item) if update.item else None
    if update.item and community is None:
        return gone(update.texts, update.language)
    organisation_id = community.organisation_id if community else update.leader.organisation_id
    return await pick_consultation(
        update.app,
        uow,
        Act.STATS,
        update.item,
        organisation_id,
        update.texts,
        update.language,
        open_only=False,
    )


@replies
async def on_stats_consultation(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    report = await leader_stats(
        update.app, uow, update.leader, update.item, update.arg, update.language
    )
    return gone(update.texts, update.language) if report is None else say(report, update.language)


def router() -> Router:
    """A fresh router (a sub-router of the leaders', which checks who may use it)."""
    stats = Router(name="leader-stats")
    stats.message.register(on_stats, Command("stats"))
    buttons = stats.callback_query
    buttons.register(on_stats_community, LeaderAct.filter(F.act == Act.STATS_COMMUNITY))
    buttons.register(on_stats_consultation, LeaderAct.filter(F.act == Act.STATS))
    return stats
