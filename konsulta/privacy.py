"""The citizen's GDPR rights from the chat: see everything stored (/mydata), erase it
(/delete), and stop or resume messages from the bot (/stop, /start); and, for a
participant a leader helped (no Telegram account, so no /delete), the same erasure
asked for by the organisation's admin on the dashboard (`erase_assisted`).
"""

from __future__ import annotations

import base64
import json

from dialogs.events import Message
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Outcome, Who, queue_messages
from konsulta.outbound import mark_update
from storage.citizen_data import citizen_data
from storage.engine import fold_in_erasures
from storage.repositories.review import ERASED_PARTICIPANT


async def _citizen_id(app: App, who: Who) -> int | None:
    async with app.uow() as uow:
        citizen = await uow.citizens.find(who.user_id, channel=who.channel)
        return citizen.id if citizen else None


async def my_data(app: App, who: Who, language: str, delivery: Delivery) -> None:
    """Send the citizen a JSON file of exactly their own data."""
    async with app.uow() as uow:
        citizen = await uow.citizens.find(who.user_id, channel=who.channel)
        texts = await app.citizen_texts(uow, citizen.id if citizen else None, language)
        if citizen is None:
            outcome = Outcome(
                (Message(texts.gettext("We have no data about you."), "notice"),), language
            )
            await queue_messages(uow, None, outcome, delivery)
        else:
            data = await uow.read(citizen_data, citizen.id)
            content = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
            caption = texts.gettext("This is everything we keep about you.")
            payload = {
                "language": language,
                "text": caption,
                "document": {
                    "filename": "my-data.json",
                    "content_base64": base64.b64encode(content).decode(),
                },
                # The file holds personal data: the sent row is deleted, not kept.
                "forget": True,
            }
            await uow.outbox.enqueue(
                delivery.chat_id, "notice", payload, citizen_id=citizen.id, bot=delivery.bot
            )
            if delivery.update_id is not None:
                await mark_update(uow, delivery.update_id, bot=delivery.bot)
        await uow.commit()


async def erase(app: App, who: Who, language: str, delivery: Delivery) -> None:
    """Delete everything about the citizen; the goodbye leaves no trace once sent."""
    async with app.uow() as uow:
        citizen = await uow.citizens.find(who.user_id, channel=who.channel)
        # Asked before the erasure, which takes the runs that tell the register.
        texts = await app.citizen_texts(uow, citizen.id if citizen else None, language)
        if citizen is not None:
            await uow.citizens.erase(citizen)
        goodbye = texts.gettext(
            "All your answers and your data are deleted. Thank you for your time. "
            "If you ever want to take part again, send /start."
        )
        payload = {"language": language, "text": goodbye, "role": "end", "forget": True}
        if delivery.source_message_id is not None:
            payload["edit_message_id"] = delivery.source_message_id
            payload["edit"] = True
        await uow.outbox.enqueue(delivery.chat_id, "notice", payload, bot=delivery.bot)
        if delivery.update_id is not None:
            await mark_update(uow, delivery.update_id, bot=delivery.bot)
        await uow.commit()
    await fold_in_erasures(app.engine)


async def erase_assisted(
    app: App, citizen_id: int, organisation_id: int, *, by_email: str, by_id: int | None
) -> bool:
    """Erase a participant a leader helped, as /delete erases a citizen (the same
    `CitizenRepository.erase`), audited as "erase" by `by_email` naming
    `ERASED_PARTICIPANT`, never the participant id. Only for an assisted participant
    whose every run is in `organisation_id` (an admin erases nothing another
    organisation holds); returns False, doing nothing, otherwise."""
    async with app.uow() as uow:
        person = await uow.citizens.get_for_update(citizen_id)
        if person is None or person.assisted_by is None:
            return False
        if await uow.runs.organisations_of(person.id) - {organisation_id}:
            return False
        await uow.citizens.erase(person)
        await uow.audit.add(
            "erase",
            email=by_email,
            staff_user_id=by_id,
            organisation_id=organisation_id,
            target=ERASED_PARTICIPANT,
            detail={"participant": "assisted"},
        )
        await uow.commit()
    await fold_in_erasures(app.engine)
    return True


async def set_stopped(app: App, who: Who, stopped: bool) -> bool:
    """/stop: no broadcasts, reminders or follow-ups until /start. Returns whether a
    citizen exists to stop. Nothing is written unless the flag changes. (/start ends
    a /stop in the conversation's own transaction: `Conversations.open`.)"""
    async with app.uow(read_only=True) as uow:
        citizen = await uow.citizens.find(who.user_id, channel=who.channel)
    if citizen is None or citizen.stopped == stopped:
        return citizen is not None
    async with app.uow() as uow:
        citizen = await uow.citizens.find(who.user_id, channel=who.channel)
        if citizen is None:
            return False
        await uow.citizens.set_flags(citizen, stopped=stopped)
        await uow.commit()
        return True
