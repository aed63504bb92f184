"""Telegram handlers: parse the update, hand it to a service, never decide or store.

A handler that has nothing to say just returns: the inbox worker marks every update
it leaves unmarked (bot/telegram/inbox.py).

Routers come back from `get_routers()` in an explicit order: commands, buttons,
private messages, then the catch-all that gives anything unexpected a kind answer.
"""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from bot.telegram.callbacks import ConfirmErase, PickLanguage, Tap, WithdrawConsent
from bot.telegram.events import event_of
from dialogs.events import (
    Button,
    ButtonPress,
    CommandInput,
    Translator,
)
from dialogs.events import Message as Say
from konsulta.bootstrap import App
from konsulta.consents import show_consents, withdraw
from konsulta.conversations import Conversations, Outcome, Who, queue_messages
from konsulta.conversations import language_picker as conversation_language_picker
from konsulta.menu import help_text, stopped_text
from konsulta.outbound import Delivery
from konsulta.privacy import erase, my_data, set_stopped

private = F.chat.type == "private"


async def reply(app: App, delivery: Delivery, language: str, *messages: Say) -> None:
    """Queue plain service messages and mark the update handled, in one transaction."""
    async with app.uow() as uow:
        await queue_messages(uow, None, Outcome(messages, language), delivery)
        await uow.commit()


def language_picker(app: App, language: str, texts: Translator) -> Say:
    """Each language named in itself, so anyone can find their own."""
    return conversation_language_picker(app.i18n.available_locales, language, texts)


# --- commands ------------------------------------------------------------------------


async def on_start(
    message: Message,
    command: CommandObject,
    app: App,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
) -> None:
    payload = (command.args or "").strip() or None
    source = f"link:{payload}" if payload else "telegram"
    await conversations.open(who, payload, source=source, delivery=delivery, resume_messages=True)


async def on_help(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    await reply(app, delivery, language, Say(help_text(texts), "notice"))


async def on_consultations(
    message: Message, conversations: Conversations, who: Who, delivery: Delivery
) -> None:
    await conversations.open(who, None, source="telegram", delivery=delivery, menu=True)


async def on_language(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    await reply(app, delivery, language, language_picker(app, language, texts))


async def on_stop(
    message: Message, app: App, who: Who, delivery: Delivery, language: str, texts: Translator
) -> None:
    await set_stopped(app, who, True)
    await reply(app, delivery, language, Say(stopped_text(texts), "notice"))


async def on_voice(
    message: Message,
    command: CommandObject,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
) -> None:
    await conversations.voice_command(who, command.args, delivery=delivery)


async def on_mydata(
    message: Message, app: App, who: Who, delivery: Delivery, language: str
) -> None:
    await my_data(app, who, language, delivery)


async def on_consents(
    message: Message, app: App, who: Who, delivery: Delivery, language: str
) -> None:
    await show_consents(app, who.user_id, who.channel, language, delivery)


async def on_delete(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    question = Say(
        texts.gettext("Do you want to delete all your answers and data? This cannot be undone."),
        "question",
        "~erase",
        (
            Button("yes", texts.gettext("Yes, delete everything")),
            Button("no", texts.gettext("No, keep my data")),
        ),
    )
    await reply(app, delivery, language, question)


async def on_dialog_command(
    message: Message,
    command: CommandObject,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
) -> None:
    name = command.command.lower()
    event = CommandInput("back" if name == "back" else "skip" if name == "skip" else "restart")
    await conversations.handle(who, event, delivery=delivery)


async def on_unknown_command(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    text = texts.gettext("I do not know that command.") + "\n\n" + help_text(texts)
    await reply(app, delivery, language, Say(text, "notice"))


# --- buttons -------------------------------------------------------------------------


async def answer_tap(query: CallbackQuery, outcome: Outcome) -> None:
    """Answer a tap once it is handled: with a short note when it was on a stale copy
    of a question (the service then changed nothing). Telegram refuses answers after
    about 15 seconds; the tap was handled all the same, so that is let go."""
    with contextlib.suppress(TelegramBadRequest):
        await query.answer(outcome.stale)


async def on_tap(
    query: CallbackQuery,
    callback_data: Tap,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
) -> None:
    event = ButtonPress(callback_data.step, callback_data.key)
    run_id = callback_data.run or None
    outcome = await conversations.handle(who, event, delivery=delivery, run_id=run_id)
    await answer_tap(query, outcome)


async def on_pick_language(
    query: CallbackQuery,
    callback_data: PickLanguage,
    app: App,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
) -> None:
    await query.answer()
    if callback_data.code not in app.i18n.available_locales:
        return  # nothing to say
    await conversations.set_language(who, callback_data.code, delivery=delivery)


async def on_confirm_erase(
    query: CallbackQuery,
    callback_data: ConfirmErase,
    app: App,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    if callback_data.sure:
        await erase(app, who, language, delivery)
    else:
        kept = Say(texts.gettext("Good, nothing was deleted."), "notice", edit=True)
        await reply(app, delivery, language, kept)


async def on_withdraw_consent(
    query: CallbackQuery,
    callback_data: WithdrawConsent,
    app: App,
    who: Who,
    delivery: Delivery,
    language: str,
) -> None:
    await query.answer()
    await withdraw(
        app,
        who.user_id,
        who.channel,
        language,
        delivery,
        callback_data.consultation,
        callback_data.purpose,
    )


async def on_unknown_button(query: CallbackQuery, texts: Translator) -> None:
    await query.answer(texts.gettext("This button no longer works. Send /start to continue."))


# --- what citizens send in a private chat --------------------------------------------


async def on_forwarded(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    text = texts.gettext("I can only use answers you write yourself. Please type your answer.")
    await reply(app, delivery, language, Say(text, "notice"))


async def on_message(
    message: Message,
    app: App,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    event = event_of(message)
    if event is None:
        text = texts.gettext(
            "Sorry, I cannot use this kind of message. Please type or tap an answer."
        )
        await reply(app, delivery, language, Say(text, "notice"))
        return
    await conversations.handle(who, event, delivery=delivery)


# --- everything else -----------------------------------------------------------------


async def on_edited(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    text = texts.gettext(
        "I cannot see changes to messages. I kept your first answer; "
        "to change it, send /back and answer again."
    )
    await reply(app, delivery, language, Say(text, "notice"))


async def on_group_command(
    message: Message, app: App, delivery: Delivery, language: str, texts: Translator
) -> None:
    text = texts.gettext("I only answer in a private chat. Please write to me directly.")
    await reply(app, delivery, language, Say(text, "notice"))


def get_routers() -> list[Router]:
    """The citizens' routers, fresh, in order: commands, buttons, the dialog, then
    everything else (see `bot.telegram.routers` for where they stand among the others)."""
    commands = Router(name="commands")
    commands.message.filter(private)
    commands.message.register(on_start, CommandStart())
    commands.message.register(on_help, Command("help"))
    commands.message.register(on_consultations, Command("consultations"))
    commands.message.register(on_language, Command("language"))
    commands.message.register(on_stop, Command("stop"))
    commands.message.register(on_mydata, Command("mydata"))
    commands.message.register(on_voice, Command("voice"))
    commands.message.register(on_consents, Command("consents"))
    commands.message.register(on_delete, Command("delete"))
    commands.message.register(on_dialog_command, Command("back", "skip", "restart"))
    commands.message.register(on_unknown_command, F.text.startswith("/"))

    buttons = Router(name="buttons")
    buttons.callback_query.register(on_tap, Tap.filter())
    buttons.callback_query.register(on_pick_language, PickLanguage.filter())
    buttons.callback_query.register(on_confirm_erase, ConfirmErase.filter())
    buttons.callback_query.register(on_withdraw_consent, WithdrawConsent.filter())
    buttons.callback_query.register(on_unknown_button)

    dialog = Router(name="dialog")
    dialog.message.filter(private)
    dialog.message.register(on_forwarded, F.forward_origin)
    dialog.message.register(on_message)

    other = Router(name="other")
    other.edited_message.register(on_edited, private)
    other.message.register(on_group_command, F.chat.type != "private", Command("start", "help"))

    return [commands, buttons, dialog, other]
