"""A leader's invite links and printable posters: /invite, then which community and
which consultation; and the "Stop this link" button for a leaked poster."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.telegram.callbacks import LeaderAct
from bot.telegram.leaders.common import (
    Payload,
    bot_username,
    button,
    gone,
    pick_community,
    pick_consultation,
    say,
    send,
)
from dialogs.events import Translator
from konsulta.bootstrap import App
from konsulta.conversations import Delivery
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import (
    document_payload,
    invitation,
    open_consultation,
    own_community,
    revoke_own_link,
)
from storage.models import Community, Leader

__all__ = ["router"]


async def on_invite(
    message: Message, app: App, leader: Leader, delivery: Delivery, language: str, texts: Translator
) -> None:
    async with app.uow() as uow:
        found = await pick_community(uow, leader, Act.INVITE_COMMUNITY, texts, language)
        if isinstance(found, Community):
            found = await pick_consultation(app, uow, Act.INVITE, found.id, texts, language)
        await send(uow, delivery, found)
        await uow.commit()


async def on_invite_community(
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
        community = await own_community(uow, leader, callback_data.id)
        if community is None:
            answer = gone(texts, language)
        else:
            answer = await pick_consultation(app, uow, Act.INVITE, community.id, texts, language)
        await send(uow, delivery, answer)
        await uow.commit()


async def on_invite_consultation(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    bot: Bot,
    leader: Leader,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    async with app.uow() as uow:
        community = await own_community(uow, leader, callback_data.id)
        consultation = await open_consultation(uow, callback_data.arg)
        answers: list[Payload] = [gone(texts, language)]
        if community is not None and consultation is not None:
            made = await invitation(
                app, uow, leader, community, consultation, await bot_username(bot)
            )
            text = texts.gettext(
                "The invite link of {community}: {link}\n\n"
                "Share it or print the poster. Everyone who answers through it is counted "
                "for your community (you never see their answers)."
            ).format(community=community.name, link=made.url)
            name = f"poster-{consultation.slug}-{made.link.id}"
            stop = button(texts.gettext("Stop this link"), Act.REVOKE, made.link.id)
            answers = [
                say(text, language, stop),
                document_payload(
                    f"{name}.pdf", made.poster.pdf, texts.gettext("Poster to print (A4)"), language
                ),
                document_payload(
                    f"{name}.png", made.poster.png, texts.gettext("Poster as a picture"), language
                ),
            ]
        await send(uow, delivery, *answers)
        await uow.commit()


async def on_revoke(
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
        if await revoke_own_link(uow, leader, callback_data.id):
            text = texts.gettext(
                "The link no longer works. Send /invite for a new link and poster."
            )
            answer = say(text, language)
        else:
            answer = gone(texts, language)
        await send(uow, delivery, answer)
        await uow.commit()


def router() -> Router:
    """A fresh router (a sub-router of the leaders', which checks who may use it)."""
    invites = Router(name="leader-invites")
    invites.message.register(on_invite, Command("invite"))
    buttons = invites.callback_query
    buttons.register(on_invite_community, LeaderAct.filter(F.act == Act.INVITE_COMMUNITY))
    buttons.register(on_invite_consultation, LeaderAct.filter(F.act == Act.INVITE))
    buttons.register(on_revoke, LeaderAct.filter(F.act == Act.REVOKE))
    return invites
