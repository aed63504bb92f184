"""A leader's invite links and printable posters: /invite, then which community and
which consultation; and the "Stop this link" button for a leaked poster."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.telegram.callbacks import LeaderAct
from bot.telegram.leaders.common import (
    LeaderUpdate,
    Payload,
    bot_username,
    button,
    gone,
    pick_consultation_of,
    pick_target,
    replies,
    say,
)
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import (
    document_payload,
    invitation,
    open_consultation,
    own_community,
    revoke_own_link,
)
from storage.uow import UnitOfWork

__all__ = ["router"]


@replies
async def on_invite(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    return await pick_target(update, uow, Act.INVITE_COMMUNITY, Act.INVITE)


@replies
async def on_invite_community(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    return await pick_consultation_of(update, uow, Act.INVITE)


@replies
async def on_invite_consultation(update: LeaderUpdate, uow: UnitOfWork) -> list[Payload]:
    texts, language = update.texts, update.language
    community = await own_community(uow, update.leader, update.item)
    consultation = (
        await open_consultation(uow, update.arg, community.organisation_id) if community else None
    )
    if community is None or consultation is None:
        return [gone(texts, language)]
    made = await invitation(
        update.app, uow, update.leader, community, consultation, await bot_username(update.bot)
    )
    text = texts.gettext(
        "The invite link of {community}: {link}\n\n"
        "Share it or print the poster. Everyone who answers through it is counted "
        "for your community (you never see their answers)."
    ).format(community=community.name, link=made.url)
    name = f"poster-{consultation.slug}-{made.link.id}"
    stop = button(texts.gettext("Stop this link"), Act.REVOKE, made.link.id)
    return [
        say(text, language, stop),
        document_payload(
            f"{name}.pdf", made.poster.pdf, texts.gettext("Poster to print (A4)"), language
        ),
        document_payload(
            f"{name}.png", made.poster.png, texts.gettext("Poster as a picture"), language
        ),
    ]


@replies
async def on_revoke(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    if not await revoke_own_link(uow, update.leader, update.item):
        return gone(update.texts, update.language)
    text = update.texts.gettext("The link no longer works. Send /invite for a new link and poster.")
    return say(text, update.language)


def router() -> Router:
    """A fresh router (a sub-router of the leaders', which checks who may use it)."""
    invites = Router(name="leader-invites")
    invites.message.register(on_invite, Command("invite"))
    buttons = invites.callback_query
    buttons.register(on_invite_community, LeaderAct.filter(F.act == Act.INVITE_COMMUNITY))
    buttons.register(on_invite_consultation, LeaderAct.filter(F.act == Act.INVITE))
    buttons.register(on_revoke, LeaderAct.filter(F.act == Act.REVOKE))
    return invites
