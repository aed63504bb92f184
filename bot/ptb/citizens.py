"""The citizens' journey on python-telegram-bot: parse a ptb `Update`, call a service.

The same calls, in the same order of precedence, as the aiogram routers in
`bot/telegram/citizens.py` and `bot/telegram/reminders.py`: commands, reminder buttons,
answer buttons, the dialog, then the kind answers to anything else. What a service
decides reaches the citizen through the outbox, never from here; the only Bot API call
made here is answering a tapped button (it has to come within seconds and is not a
message). Buttons are read with the same `CallbackData` factories the aiogram side
packs them with, so a button shown by one adapter works under the other.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram.filters.callback_data import CallbackData
from telegram import Message as PtbMessage
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram.callbacks import ConfirmErase, PickLanguage, Tap, WithdrawConsent
from bot.telegram.citizens import language_picker, reply
from dialogs.events import (
    Button,
    ButtonPress,
    CommandInput,
    ContactInput,
    Event,
    LocationInput,
    MediaInput,
    MediaKind,
    TextInput,
    Translator,
)
from dialogs.events import Message as Say
from konsulta.bootstrap import App
from konsulta.consents import show_consents, withdraw
from konsulta.conversations import Conversations, Delivery, Outcome, Who, queue_messages
from konsulta.menu import help_text, stopped_text
from konsulta.privacy import erase, my_data, set_stopped
from outreach.reminders import NO_REMINDERS, REMINDER_STEP
from storage.models import RunStatus

Context = ContextTypes.DEFAULT_TYPE
Data = TypeVar("Data", bound=CallbackData)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
MEDIA_KINDS: tuple[MediaKind, ...] = (
    "audio",
    "video",
    "video_note",
    "document",
    "sticker",
    "animation",
)


@dataclass(frozen=True)
class Incoming:
    """What aiogram's `CitizenContext` middleware works out, for a ptb update."""

    who: Who
    delivery: Delivery
    language: str
    texts: Translator


def unpack(factory: type[Data], data: object) -> Data | None:
    """The button's callback data read by `factory`, or None if it is not one of its."""
    if not isinstance(data, str) or not data.startswith(factory.__prefix__ + ":"):
        return None
    try:
        return factory.unpack(data)
    except (TypeError, ValueError):
        return None


def event_of(message: PtbMessage) -> Event | None:
    """What the citizen sent, as the engine understands it (`bot.telegram.events` for
    aiogram's `Message`)."""
    if message.location is not None:
        return LocationInput(message.location.latitude, message.location.longitude)
    if message.contact is not None:
        sender = message.from_user.id if message.from_user else None
        own = message.contact.user_id in (None, sender)
        return ContactInput(message.contact.phone_number, own)
    if message.photo:
        return MediaInput("photo", message.photo[-1].file_id)
    if message.voice is not None:
        # to_dict: reading `duration` warns that ptb 23 makes it a timedelta.
        seconds = message.voice.to_dict().get("duration")
        return MediaInput("voice", message.voice.file_id, seconds)
    for kind in MEDIA_KINDS:
        media = getattr(message, kind)
        if media is not None:
            return MediaInput(kind, media.file_id)
    if message.text is not None:
        return TextInput(message.text)
    return None


class Citizens:
    """The ptb handlers of the citizens' journey, over the services of one `App`."""

    def __init__(self, app: App, conversations: Conversations) -> None:
        self.app = app
        self.conversations = conversations

    async def incoming(self, update: Update) -> Incoming:
        user, chat = update.effective_user, update.effective_chat
        assert user is not None  # every update these handlers take has a sender
        available = set(self.app.i18n.available_locales)
        stored = await self.conversations.stored_language(user.id)
        told = user.language_code.split("-")[0].lower() if user.language_code else None
        chosen = [str(code) for code in (stored, told) if code in available]
        language = chosen[0] if chosen else self.app.settings.default_language
        source_id = source_text = None
        query = update.callback_query
        if query is not None and isinstance(query.message, PtbMessage):
            source_id, source_text = query.message.message_id, query.message.text
        chat_id = chat.id if chat else user.id
        return Incoming(
            Who("telegram", user.id, chat_id, user.language_code),
            Delivery(chat_id, update.update_id, source_id, source_text),
            language,
            self.app.texts(language, await self.conversations.stored_register(user.id)),
        )

    async def notice(self, got: Incoming, text: str) -> None:
        await reply(self.app, got.delivery, got.language, Say(text, "notice"))

    # --- commands ------------------------------------------------------------------

    async def on_start(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = update.message.text if update.message else None
        payload = (text or "").partition(" ")[2].strip() or None
        source = f"link:{payload}" if payload else "telegram"
        await self.conversations.open(
            got.who, payload, source=source, delivery=got.delivery, resume_messages=True
        )

    async def on_help(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        await self.notice(got, help_text(got.texts))

    async def on_consultations(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        await self.conversations.open(
            got.who, None, source="telegram", delivery=got.delivery, menu=True
        )

    async def on_language(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        picker = language_picker(self.app, got.language, got.texts)
        await reply(self.app, got.delivery, got.language, picker)

    async def on_stop(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        await set_stopped(self.app, got.who, True)
        await self.notice(got, stopped_text(got.texts))

    async def on_mydata(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        await my_data(self.app, got.who, got.language, got.delivery)

    async def on_voice(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = update.message.text if update.message and update.message.text else ""
        argument = text.partition(" ")[2]
        await self.conversations.voice_command(got.who, argument, delivery=got.delivery)

    async def on_consents(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        who = got.who
        await show_consents(self.app, who.user_id, who.channel, got.language, got.delivery)

    async def on_delete(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        texts = got.texts
        question = Say(
            texts.gettext(
                "Do you want to delete all your answers and data? This cannot be undone."
            ),
            "question",
            "~erase",
            (
                Button("yes", texts.gettext("Yes, delete everything")),
                Button("no", texts.gettext("No, keep my data")),
            ),
        )
        await reply(self.app, got.delivery, got.language, question)

    async def on_dialog_command(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = update.message.text if update.message and update.message.text else "/"
        name = text[1:].split()[0].split("@")[0].lower()
        event = CommandInput("back" if name == "back" else "skip" if name == "skip" else "restart")
        await self.conversations.handle(got.who, event, delivery=got.delivery)

    async def on_unknown_command(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = got.texts.gettext("I do not know that command.") + "\n\n" + help_text(got.texts)
        await self.notice(got, text)

    # --- buttons -------------------------------------------------------------------

    async def on_reminder(self, update: Update, context: Context) -> None:
        """As `bot.telegram.reminders.on_reminder`: "Continue" reopens the run's
        consultation; "Don't remind me" or a finished run gets a notice."""
        query, got = update.callback_query, await self.incoming(update)
        assert query is not None
        await query.answer()
        data = unpack(Tap, query.data)
        assert data is not None  # the handler's pattern
        async with self.app.uow() as uow:
            citizen = await uow.citizens.find(got.who.user_id, channel=got.who.channel)
            run = await uow.runs.get(data.run) if data.run else None
            if data.key == NO_REMINDERS or run is None or run.status != RunStatus.STARTED:
                if data.key == NO_REMINDERS:
                    if citizen is not None:
                        await uow.citizens.set_flags(citizen, no_reminders=True)
                    text = got.texts.gettext("All right, I will not send you reminders.")
                else:
                    text = got.texts.gettext(
                        "This consultation is finished. Thank you for taking part."
                    )
                outcome = Outcome((Say(text, "notice"),), got.language)
                await queue_messages(uow, citizen.id if citizen else None, outcome, got.delivery)
                await uow.commit()
                return
            consultation_id = run.consultation_id
        await self.conversations.open(
            got.who, consultation_id, source="reminder", delivery=got.delivery
        )

    async def on_tap(self, update: Update, context: Context) -> None:
        query, got = update.callback_query, await self.incoming(update)
        assert query is not None
        data = unpack(Tap, query.data)
        assert data is not None
        event = ButtonPress(data.step, data.key)
        outcome = await self.conversations.handle(
            got.who, event, delivery=got.delivery, run_id=data.run or None
        )
        # After handling: a tap on a stale copy of a question gets a short note.
        with contextlib.suppress(BadRequest):
            await query.answer(outcome.stale)

    async def on_pick_language(self, update: Update, context: Context) -> None:
        query, got = update.callback_query, await self.incoming(update)
        assert query is not None
        await query.answer()
        data = unpack(PickLanguage, query.data)
        assert data is not None
        if data.code not in self.app.i18n.available_locales:
            await reply(self.app, got.delivery, self.app.settings.default_language)
            return
        await self.conversations.set_language(got.who, data.code, delivery=got.delivery)

    async def on_confirm_erase(self, update: Update, context: Context) -> None:
        query, got = update.callback_query, await self.incoming(update)
        assert query is not None
        await query.answer()
        data = unpack(ConfirmErase, query.data)
        assert data is not None
        if data.sure:
            await erase(self.app, got.who, got.language, got.delivery)
        else:
            kept = Say(got.texts.gettext("Good, nothing was deleted."), "notice", edit=True)
            await reply(self.app, got.delivery, got.language, kept)

    async def on_withdraw_consent(self, update: Update, context: Context) -> None:
        query, got = update.callback_query, await self.incoming(update)
        assert query is not None
        await query.answer()
        data = unpack(WithdrawConsent, query.data)
        assert data is not None
        who = got.who
        await withdraw(
            self.app,
            who.user_id,
            who.channel,
            got.language,
            got.delivery,
            data.consultation,
            data.purpose,
        )

    async def on_unknown_button(self, update: Update, context: Context) -> None:
        query, got = update.callback_query, await self.incoming(update)
        assert query is not None
        await query.answer(
            got.texts.gettext("This button no longer works. Send /start to continue.")
        )
        await reply(self.app, got.delivery, got.language)  # marks the update handled

    # --- what citizens send in a private chat, and everything else -----------------

    async def on_forwarded(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = got.texts.gettext(
            "I can only use answers you write yourself. Please type your answer."
        )
        await self.notice(got, text)

    async def on_message(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        event = event_of(update.message) if update.message else None
        if event is None:
            text = got.texts.gettext(
                "Sorry, I cannot use this kind of message. Please type or tap an answer."
            )
            await self.notice(got, text)
            return
        await self.conversations.handle(got.who, event, delivery=got.delivery)

    async def on_edited(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = got.texts.gettext(
            "I cannot see changes to messages. I kept your first answer; "
            "to change it, send /back and answer again."
        )
        await self.notice(got, text)

    async def on_group_command(self, update: Update, context: Context) -> None:
        got = await self.incoming(update)
        text = got.texts.gettext("I only answer in a private chat. Please write to me directly.")
        await self.notice(got, text)

    def handlers(self) -> list[BaseHandler[Update, Any, None]]:
        """In the order of `bot.telegram.citizens.get_routers()`, reminders first among
        the buttons as in `bot.telegram.routers`; ptb runs the first that matches."""

        def command(names: str | list[str], callback: Any) -> CommandHandler[Any, None]:
            return CommandHandler(names, callback, filters=PRIVATE)

        def button(factory: type[CallbackData], callback: Any) -> CallbackQueryHandler[Any, None]:
            return CallbackQueryHandler(callback, lambda d: unpack(factory, d) is not None)

        def reminder(data: object) -> bool:
            tap = unpack(Tap, data)
            return tap is not None and tap.step == REMINDER_STEP

        return [
            command("start", self.on_start),
            command("help", self.on_help),
            command("consultations", self.on_consultations),
            command("language", self.on_language),
            command("stop", self.on_stop),
            command("mydata", self.on_mydata),
            command("voice", self.on_voice),
            command("consents", self.on_consents),
            command("delete", self.on_delete),
            command(["back", "skip", "restart"], self.on_dialog_command),
            MessageHandler(PRIVATE & filters.Regex(r"^/"), self.on_unknown_command),
            CallbackQueryHandler(self.on_reminder, reminder),
            button(Tap, self.on_tap),
            button(PickLanguage, self.on_pick_language),
            button(ConfirmErase, self.on_confirm_erase),
            button(WithdrawConsent, self.on_withdraw_consent),
            CallbackQueryHandler(self.on_unknown_button),
            MessageHandler(PRIVATE & filters.FORWARDED, self.on_forwarded),
            MessageHandler(PRIVATE, self.on_message),
            MessageHandler(
                filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, self.on_edited
            ),
            CommandHandler(
                ["start", "help"],
                self.on_group_command,
                filters=filters.UpdateType.MESSAGE & ~filters.ChatType.PRIVATE,
            ),
        ]
