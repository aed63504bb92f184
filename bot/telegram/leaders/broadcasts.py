"""A leader's message to their community: /broadcast, which community, their own words
or an invitation to a consultation, languages, preview, send; and the approvers'
Approve/Reject buttons when the organisation reviews messages first.

The steps and their rules (who may act on which broadcast, when it can still change,
the daily limit, approval) are `konsulta.leaders.broadcasts`'; each handler here reads
one button, asks that service and says what happened.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, TelegramObject

from bot.telegram.callbacks import LeaderAct
from bot.telegram.leaders.common import (
    LeaderUpdate,
    Payload,
    bot_username,
    button,
    gone,
    not_a_command,
    pick_community,
    pick_consultation,
    replies,
    say,
    send,
)
from dialogs.events import Translator
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Who
from konsulta.leaders import broadcasts
from konsulta.leaders.actions import BroadcastKind, Verdict
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import open_consultation, own_community
from storage.models import Community, Leader, LeaderBroadcast
from storage.uow import UnitOfWork

__all__ = ["approvals_router", "router"]


async def composing(event: TelegramObject, app: App, leader: Leader) -> bool:
    """The leader started a message broadcast and is to type its text now."""
    async with app.uow(read_only=True) as uow:
        return await uow.leader_broadcasts.composing(leader.id) is not None


E = TypeVar("E", bound=StrEnum)


def _parsed(kind: type[E], value: str) -> E | None:
    """A button's `arg` as the enum it names (None: not one of its values)."""
    try:
        return kind(value)
    except ValueError:
        return None


def kinds(community: Community, texts: Translator, language: str) -> Payload:
    return say(
        texts.gettext("What do you want to send to {community}?").format(community=community.name),
        language,
        button(
            texts.gettext("✍ Write a message"),
            Act.BROADCAST_KIND,
            community.id,
            BroadcastKind.MESSAGE,
        ),
        button(
            texts.gettext("📋 Invite to a consultation"),
            Act.BROADCAST_KIND,
            community.id,
            BroadcastKind.INVITE,
        ),
    )


async def _draft(
    uow: UnitOfWork, leader: Leader, broadcast_id: int, texts: Translator, language: str
) -> tuple[LeaderBroadcast, Community] | Payload:
    """The leader's broadcast a button names if it can still change; else what to tell
    the leader."""
    found = await broadcasts.own_broadcast(uow, leader, broadcast_id)
    if found is None:
        return gone(texts, language)
    if not broadcasts.editable(found[0]):
        return say(texts.gettext("This message was already sent or cancelled."), language)
    return found


@replies
async def on_broadcast(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    texts, language = update.texts, update.language
    found = await pick_community(uow, update.leader, Act.BROADCAST_COMMUNITY, texts, language)
    return kinds(found, texts, language) if isinstance(found, Community) else found


@replies
async def on_broadcast_community(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    community = await own_community(uow, update.leader, update.item)
    if community is None:
        return gone(update.texts, update.language)
    return kinds(community, update.texts, update.language)


@replies
async def on_broadcast_kind(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    texts, language = update.texts, update.language
    kind = _parsed(BroadcastKind, update.arg)
    community = await own_community(uow, update.leader, update.item)
    if community is None or kind is None:
        return gone(texts, language)
    broadcast = await broadcasts.start(uow, update.leader, community, kind)
    if kind == BroadcastKind.MESSAGE:
        text = texts.gettext(
            "Type your message to {community} now. "
            "You will see it exactly as they will before anything is sent."
        ).format(community=community.name)
        return say(text, language)
    return await pick_consultation(
        update.app,
        uow,
        Act.BROADCAST_CONSULTATION,
        broadcast.id,
        community.organisation_id,
        texts,
        language,
    )


@replies
async def on_broadcast_text(update: LeaderUpdate, uow: UnitOfWork) -> list[Payload]:
    """The text of the message the leader is composing; the draft panel comes back."""
    written = await broadcasts.write_text(uow, update.leader, update.text)
    if written is None:  # it was sent or cancelled meanwhile: nothing to say
        return []
    broadcast, community = written
    return [broadcasts.draft_panel(update.app, broadcast, community, update.language)]


@replies
async def on_broadcast_consultation(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    found = await _draft(uow, update.leader, update.item, update.texts, update.language)
    if isinstance(found, dict):
        return found
    broadcast, community = found
    consultation = await open_consultation(uow, update.arg, community.organisation_id)
    if consultation is None or not await broadcasts.choose_consultation(
        uow, update.leader, broadcast, community, consultation, await bot_username(update.bot)
    ):
        return gone(update.texts, update.language)
    return broadcasts.draft_panel(update.app, broadcast, community, update.language)


@replies
async def on_broadcast_language(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    found = await _draft(uow, update.leader, update.item, update.texts, update.language)
    if isinstance(found, dict):
        return found
    broadcast, community = found
    await broadcasts.toggle_language(uow, broadcast, community, update.arg)
    return {
        **broadcasts.draft_panel(update.app, broadcast, community, update.language),
        "edit": True,
    }


@replies
async def on_broadcast_preview(update: LeaderUpdate, uow: UnitOfWork) -> list[Payload]:
    found = await _draft(uow, update.leader, update.item, update.texts, update.language)
    if isinstance(found, dict):
        return [found]
    broadcast, community = found
    if not broadcast.languages:
        return [say(update.texts.gettext("Pick at least one language first."), update.language)]
    return await broadcasts.leader_preview(
        update.app, uow, update.leader, broadcast, community, update.language
    )


@replies
async def on_broadcast_send(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    found = await _draft(uow, update.leader, update.item, update.texts, update.language)
    if isinstance(found, dict):
        return found
    result = await broadcasts.request(update.app, uow, found[0], update.leader)
    return _requested(result, update.app, update.texts, update.language)


def _requested(result: broadcasts.Request, app: App, texts: Translator, language: str) -> Payload:
    if result.outcome == "sent":
        text = texts.ngettext(
            "Sent. It is going to {count} person.",
            "Sent. It is going to {count} people.",
            result.recipients,
        ).format(count=result.recipients)
    elif result.outcome == "awaiting":
        text = texts.gettext(
            "Your organisation approves messages before they go out. "
            "I will tell you when it is decided."
        )
    elif result.outcome == "limit":
        text = texts.ngettext(
            "You have sent {count} message today, the most allowed. Please try again tomorrow.",
            "You have sent {count} messages today, the most allowed. Please try again tomorrow.",
            app.settings.leader_daily_broadcasts,
        ).format(count=app.settings.leader_daily_broadcasts)
    elif result.outcome == "nothing":
        text = texts.gettext("Pick at least one language first.")
    else:
        text = texts.gettext("This message was already sent or cancelled.")
    return say(text, language, edit=True)


@replies
async def on_broadcast_cancel(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    found = await broadcasts.own_broadcast(uow, update.leader, update.item)
    if found is None or not await broadcasts.cancel(uow, update.leader, found[0]):
        return gone(update.texts, update.language)
    return say(update.texts.gettext("Cancelled. Nothing was sent."), update.language, edit=True)


# --- approvers ---------------------------------------------------------------------------


async def on_approve(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    verdict = _parsed(Verdict, callback_data.arg)
    async with app.uow() as uow:
        approver = await uow.citizens.find(who.user_id)
        if approver is None or not await broadcasts.may_approve(uow, callback_data.id, approver.id):
            await send(uow, delivery, gone(texts, language))
            await uow.commit()
            return
        decision = await broadcasts.decide(
            app,
            uow,
            callback_data.id,
            verdict == Verdict.APPROVE,
            by=f"approver:{approver.id}",
        )
        if decision.outcome == "sent":
            text = texts.ngettext(
                "Approved. It is going to {count} person.",
                "Approved. It is going to {count} people.",
                decision.recipients,
            ).format(count=decision.recipients)
        elif decision.outcome == "rejected":
            text = texts.gettext("Rejected. The leader has been told.")
        else:
            text = texts.gettext("This was already decided.")
        await send(uow, delivery, say(text, language, edit=True))
        await uow.commit()


def approvals_router() -> Router:
    """A fresh router for the approvers' buttons (an approver need not be a leader)."""
    approvals = Router(name="leader-approvals")
    approvals.callback_query.register(on_approve, LeaderAct.filter(F.act == Act.APPROVE))
    return approvals


def router() -> Router:
    """A fresh router (a sub-router of the leaders', which checks who may use it)."""
    sending = Router(name="leader-broadcasts")
    sending.message.register(on_broadcast, Command("broadcast"))
    sending.message.register(on_broadcast_text, composing, F.text, not_a_command)
    buttons = sending.callback_query
    for act, handler in (
        (Act.BROADCAST_COMMUNITY, on_broadcast_community),
        (Act.BROADCAST_KIND, on_broadcast_kind),
        (Act.BROADCAST_CONSULTATION, on_broadcast_consultation),
        (Act.BROADCAST_LANGUAGE, on_broadcast_language),
        (Act.BROADCAST_PREVIEW, on_broadcast_preview),
        (Act.BROADCAST_SEND, on_broadcast_send),
        (Act.BROADCAST_CANCEL, on_broadcast_cancel),
    ):
        buttons.register(handler, LeaderAct.filter(F.act == act))
    return sending
