"""The leader's side of the bot in Telegram, one router per feature: invite links and
posters (`invites`), statistics (`stats`), helping someone answer (`assist`),
broadcasts and the approvers' buttons (`broadcasts`), one-time "become a leader" links
(`become`); what they share is in `common`.

These routers come before the citizens' ones (see `bot.telegram.routers`). The leaders'
router lets through only updates from active leaders (`common.LeaderContext` finds
them: one lookup, or for a tap on an answer button a list read every few seconds;
its filter only looks); an update none of its handlers wants goes on to the
citizens' routers, so a leader is also an ordinary citizen. Each
`LeaderAction` has exactly one handler, chosen by a magic filter on the `LeaderAct`
callback data (a test holds this); handlers parse and delegate to
`konsulta.leaders`; every dialog step is stored (broadcast rows, the leader's
`assisting` person); nothing routes on visible text.
"""

from __future__ import annotations

from aiogram import Router

from bot.telegram.leaders import assist, become, broadcasts, invites, stats
from bot.telegram.leaders.common import LeaderContext, is_leader

__all__ = ["get_routers"]


def get_routers() -> list[Router]:
    """Fresh routers: one-time leader links first (whoever opens one is not a leader
    yet), approvals (an approver need not be a leader), then the
    leaders', whose features stand in this order because helping someone takes what
    the leader types before a message being composed does."""
    leaders = Router(name="leaders")
    for observer in (leaders.message, leaders.callback_query):
        observer.outer_middleware(LeaderContext())
        observer.filter(is_leader)
    leaders.include_routers(invites.router(), stats.router(), assist.router(), broadcasts.router())
    return [become.router(), broadcasts.approvals_router(), leaders]
