"""The reminder's buttons in Telegram: "Continue" and "Don't remind me".

A reminder is a question with the pseudo step `~remind` on the run it reminds of, so
its buttons arrive as ordinary `Tap` callbacks; this router sits before the dialog's
and takes only those.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.telegram.callbacks import Tap
from dialogs.events import Message, Translator
from konsulta.bootstrap import App
from konsulta.conversations import Conversations, Outcome, Who, queue_messages
from konsulta.outbound import Delivery
from outreach.reminders import NO_REMINDERS, REMINDER_STEP
from storage.models import RunStatus

__all__ = ["get_router"]


async def on_reminder(
    query: CallbackQuery,
    callback_data: Tap,
    app: App,
    conversations: Conversations,
    who: Who,
    delivery: Delivery,
    language: str,
    texts: Translator,
) -> None:
    await query.answer()
    async with app.uow() as uow:
        citizen = await uow.citizens.find(who.user_id, channel=who.channel)
        run = await uow.runs.get(callback_data.run) if callback_data.run else None
        if callback_data.key == NO_REMINDERS or run is None or run.status != RunStatus.STARTED:
            if callback_data.key == NO_REMINDERS:
                if citizen is not None:
                    await uow.citizens.set_flags(citizen, no_reminders=True)
                text = texts.gettext("All right, I will not send you reminders.")
            else:
                text = texts.gettext("This consultation is finished. Thank you for taking part.")
            outcome = Outcome((Message(text, "notice"),), language)
            await queue_messages(uow, citizen.id if citizen else None, outcome, delivery)
            await uow.commit()
            return
        consultation_id = run.consultation_id
    await conversations.open(who, consultation_id, source="reminder", delivery=delivery)


def get_router() -> Router:
    """A fresh router for each Dispatcher."""
    router = Router(name="outreach")
    router.callback_query.register(on_reminder, Tap.filter(F.step == REMINDER_STEP))
    return router
