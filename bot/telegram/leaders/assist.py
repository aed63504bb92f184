"""A leader helps someone without a phone answer, on the leader's phone: /assist, then
which community and which consultation; while they help, the leader's taps, typed
answers and /back, /skip, /restart are that person's (`konsulta.leaders.assist`).

A message that says nothing the dialog can use (a dice, a poll) is not the person's
answer: it goes on to the citizens' routers like any other, which answer it kindly.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.telegram.callbacks import LeaderAct, Tap
from bot.telegram.citizens import answer_tap
from bot.telegram.events import event_of
from bot.telegram.leaders.common import (
    LeaderUpdate,
    Payload,
    button,
    gone,
    not_a_command,
    pick_consultation_of,
    pick_target,
    queue,
    replies,
    reply,
    say,
    send,
)
from dialogs.events import ButtonPress, CommandInput, Event, Translator
from konsulta.bootstrap import App
from konsulta.conversations import Conversations, Delivery, Outcome, Who
from konsulta.leaders import assist
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import open_consultation, own_community
from storage.models import Leader
from storage.uow import UnitOfWork

__all__ = ["router"]


def assisting(event: TelegramObject, leader: Leader) -> bool:
    return leader.assisting_citizen_id is not None


def readable(message: Message) -> bool | dict[str, Any]:
    """Passes what the message says (`said`) if the dialog engine can use it."""
    said = event_of(message)
    return False if said is None else {"said": said}


def thanks(texts: Translator, language: str) -> Payload:
    text = texts.gettext(
        "Thank you for helping. The answers are stored under a code of their own; "
        "you cannot see them later. Your chat is yours again."
    )
    return say(text, language)


@replies
async def on_assist(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    texts, language = update.texts, update.language
    if update.leader.assisting_citizen_id is not None:
        return say(
            texts.gettext("You are helping someone answer right now."),
            language,
            button(texts.gettext("Stop helping"), Act.ASSIST_STOP),
        )
    return await pick_target(update, uow, Act.ASSIST_COMMUNITY, Act.ASSIST)


@replies
async def on_assist_community(update: LeaderUpdate, uow: UnitOfWork) -> Payload:
    return await pick_consultation_of(update, uow, Act.ASSIST)


async def on_assist_consultation(
    query: CallbackQuery,
    callback_data: LeaderAct,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    """The leader starts helping: the intro now, then the consultation's consent text
    from the conversation service (which marks the update)."""
    await query.answer()
    async with app.uow() as uow:
        community = await own_community(uow, leader, callback_data.id)
        consultation = (
            await open_consultation(uow, callback_data.arg, community.organisation_id)
            if community is not None
            else None
        )
        person = None
        if community is not None and consultation is not None:
            person = await assist.switch_to(app, uow, leader.id, community, consultation)
        if person is None or community is None or consultation is None:
            await send(uow, delivery, gone(texts, language))
            await uow.commit()
            return
        intro = texts.gettext(
            "You are now helping someone answer. Read the next message aloud to them and "
            "tap \u201cYes\u201d only if they agree aloud. Then ask each question and tap or "
            "type their answer. /assist to stop."
        )
        await queue(uow, delivery, say(intro, language))
        await uow.commit()
    await conversations.open(
        assist.assisted_who(who, person.id),
        consultation.id,
        source="assisted",
        delivery=delivery,
        community_id=community.id,
    )


async def on_assist_stop(
    query: CallbackQuery,
    app: App,
    leader: Leader,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    if leader.assisting_citizen_id is not None:
        await _stop_assisting(app, leader, delivery, language, completed=False)
    await reply(app, delivery)


# While helping someone, the leader's answers are that person's.


async def on_assisted_command(
    message: Message,
    command: CommandObject,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
) -> None:
    name = command.command.lower()
    said = CommandInput("back" if name == "back" else "skip" if name == "skip" else "restart")
    await _assisted(app, conversations, leader, who, delivery, said)


async def on_assisted_tap(
    query: CallbackQuery,
    callback_data: Tap,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
) -> None:
    said = ButtonPress(callback_data.step, callback_data.key)
    outcome = await _assisted(
        app, conversations, leader, who, delivery, said, run_id=callback_data.run or None
    )
    await answer_tap(query, outcome)


async def on_assisted_message(
    message: Message,
    said: Event,
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
) -> None:
    await _assisted(app, conversations, leader, who, delivery, said)


async def _assisted(
    app: App,
    conversations: Conversations,
    leader: Leader,
    who: Who,
    delivery: Delivery,
    said: Event,
    run_id: int | None = None,
) -> Outcome:
    """The person's answer through the conversation service (which marks the update);
    when their dialog is over, the leader's chat is theirs again."""
    assert leader.assisting_citizen_id is not None
    person = assist.assisted_who(who, leader.assisting_citizen_id)
    outcome: Outcome = await conversations.handle(person, said, delivery=delivery, run_id=run_id)
    if outcome.completed or outcome.run_id is None:
        await _stop_assisting(app, leader, delivery, outcome.language, completed=outcome.completed)
    return outcome


async def _stop_assisting(
    app: App, leader: Leader, delivery: Delivery, language: str, *, completed: bool
) -> None:
    async with app.uow() as uow:
        await assist.stop(uow, leader.id, completed=completed)
        await queue(uow, delivery, thanks(app.texts(language), language))
        await uow.commit()


def router() -> Router:
    """A fresh router (a sub-router of the leaders', which checks who may use it).
    It stands before the broadcasts' one: while helping someone, what the leader types
    is that person's answer, not a message to their community."""
    helping = Router(name="leader-assist")
    helping.message.register(on_assist, Command("assist"))
    helping.message.register(on_assisted_command, assisting, Command("back", "skip", "restart"))
    helping.message.register(on_assisted_message, assisting, not_a_command, readable)
    helping.callback_query.register(on_assisted_tap, assisting, Tap.filter())
    buttons = helping.callback_query
    buttons.register(on_assist_community, LeaderAct.filter(F.act == Act.ASSIST_COMMUNITY))
    buttons.register(on_assist_consultation, LeaderAct.filter(F.act == Act.ASSIST))
    buttons.register(on_assist_stop, LeaderAct.filter(F.act == Act.ASSIST_STOP))
    return helping
