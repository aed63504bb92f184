"""A one-time "become a leader" link opened in Telegram (`/start leader-...`): staff
made it on the dashboard for a community; whoever opens it first leads that
community from now on, anyone after them is told kindly that it was used. Ahead of
the leaders' router, since the person is not a leader yet, and of the citizens'
/start, since the payload is not a consultation's invite."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.telegram.leaders.common import reply, say
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Who
from konsulta.leaders.service import Claim, claim_leader_link, is_leader_link

__all__ = ["router"]


async def on_leader_link(
    message: Message,
    command: CommandObject,
    app: App,
    delivery: Delivery,
    language: str,
    who: Who,
) -> None:
    texts = app.texts(language)
    channel = who.channel  # the bot the link was opened in: the leader leads there
    user = message.from_user
    assert user is not None  # a private chat's message has a sender
    async with app.uow() as uow:
        claim = await claim_leader_link(
            app, uow, (command.args or "").strip(), user.id, now=app.clock.now(), channel=channel
        )
        name = claim.community.name if claim.community else ""
        if claim.outcome == Claim.LEADER:
            text = texts.gettext(
                "Welcome! You are now a leader of {community}. Your menu has new commands: "
                "/invite for invite links and posters, /broadcast to write to your "
                "community, /stats to see how many of your people answered."
            ).format(community=name)
        elif claim.outcome == Claim.ALREADY:
            text = texts.gettext("You already lead {community}.").format(community=name)
        else:
            text = texts.gettext(
                "This leader link has already been used or is no longer valid. "
                "Please ask the person who sent it to you for a new one."
            )
        await uow.commit()
    await reply(app, delivery, say(text, language))


def router() -> Router:
    """A fresh router for the one-time leader links, in private chats only."""
    become = Router(name="leader-links")
    become.message.register(
        on_leader_link,
        F.chat.type == "private",
        CommandStart(deep_link=True, magic=F.args.func(is_leader_link)),
    )
    return become
