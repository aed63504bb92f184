"""Reminders for dialogs left half-way.

A run that has consent, is not finished and was not touched for the reminder delay
(default 24 h; after a reminder, again the delay since it) gets a reminder, at most
`reminder_max` times (default once), only while its consultation is open, never at
night, never to citizens who sent /stop, blocked the bot or tapped "Don't remind me".
Which reminder a run is at is a row in `reminders`, unique on (run, number), inserted
in the same transaction as the outbox row: two processes cannot both send it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dialogs.events import Button, Message
from dialogs.render import fill
from konsulta.bootstrap import App
from konsulta.conversations import message_payloads
from konsulta.quiet import QuietHours

__all__ = ["CONTINUE", "NO_REMINDERS", "REMINDER_STEP", "Reminders"]

#: The pseudo step of a reminder's buttons (handled by bot.telegram.reminders).
REMINDER_STEP = "~remind"
CONTINUE = "continue"
NO_REMINDERS = "stop"


class Reminders:
    def __init__(self, app: App, quiet: QuietHours) -> None:
        self.app = app
        self.quiet = quiet

    async def send_due(self, now: datetime, *, batch: int = 100) -> int:
        settings = self.app.settings
        if settings.reminder_max <= 0:
            return 0
        delay = timedelta(hours=settings.reminder_delay_hours)
        sent = 0
        async with self.app.uow() as uow:
            due = await uow.reminders.due_runs(
                now, delay=delay, at_most=settings.reminder_max, limit=batch
            )
            for run, number in due:
                citizen = await uow.citizens.get(run.citizen_id)
                chat_id = await uow.citizens.chat_id(run.citizen_id)
                if citizen is None or chat_id is None:
                    continue
                if self.quiet.deferred_until(now, citizen.timezone) is not None:
                    continue  # looked at again every tick; goes in the morning
                if not await uow.reminders.record(run.id, number, now):
                    continue  # another process sent this one
                version = await uow.consultations.get_version_by_id(run.flow_version_id)
                assert version is not None
                flow = self.app.flows.flow(version)
                register = await uow.organisations.register_of(run.consultation_id)
                texts = self.app.texts(run.language, register)
                text = fill(
                    texts.gettext(
                        "You started “{title}” but did not finish. Your answers so far are "
                        "kept. Would you like to continue?"
                    ),
                    title=flow.localize(flow.title, run.language),
                )
                message = Message(
                    text,
                    "question",
                    REMINDER_STEP,
                    (
                        Button(CONTINUE, texts.gettext("Continue")),
                        Button(NO_REMINDERS, texts.gettext("Don't remind me")),
                    ),
                    expects="reminder",
                )
                listen = citizen.read_aloud and self.app.speech.speaks(run.language)
                payloads = message_payloads(message, run.id, run.language, listen=listen)
                for part, payload in enumerate(payloads):
                    await uow.outbox.enqueue(
                        chat_id,
                        "reminder",
                        payload,
                        citizen_id=citizen.id,
                        dedupe_key=f"rm:{run.id}:{number}" + (f":{part}" if part else ""),
                    )
                sent += 1
            await uow.commit()
        return sent
