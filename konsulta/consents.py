"""/consents: what a citizen agreed to, per consultation and purpose, and withdrawing it.

Consent is recorded per purpose (storage's `ConsentPurpose`): taking part (asked before
the first question, `konsulta/conversations.py`), being contacted and being named (asked
by the dialog engine where the flow needs them). Every decision is a new record with
the flow version and the time; what stands is the latest per consultation and purpose.

Withdrawing is a new "no" record, and acts on what the consent covered:
- contact: the answers it allowed (a phone number, a location marked `contact_data`)
  are deleted from every run of that consultation, from the stored answers and from the
  dialog state, and the rest of a dialog in progress passes over such questions;
- named: exports show the participant code only, from that moment (they read the
  standing consent, `storage.repositories.citizens.standing_consent`);
- taking part: is not withdrawn here; /delete erases the citizen's answers and data
  (one erasure, `CitizenRepository.erase`), which the message says.
"""

from __future__ import annotations

from itertools import groupby

from babel.dates import format_date

from dialogs.schema import Flow
from konsulta.bootstrap import App
from konsulta.outbound import Delivery, OutboundButton, OutboundMessage, deliver
from storage.models import ConsentPurpose, ConsentRecord
from storage.uow import UnitOfWork

__all__ = ["WITHDRAW_PREFIX", "contact_steps", "show_consents", "withdraw", "withdraw_callback"]

#: The callback data prefix of a withdraw button (bot/telegram/callbacks.py unpacks it).
WITHDRAW_PREFIX = "cw"

#: The purposes /consents shows, in this order; the ones a button can withdraw.
SHOWN = (ConsentPurpose.PARTICIPATION, ConsentPurpose.CONTACT, ConsentPurpose.NAMED)
WITHDRAWABLE = (ConsentPurpose.CONTACT, ConsentPurpose.NAMED)


def _(message: str) -> str:
    """Mark a text for extraction; it is translated where it is shown."""
    return message


PURPOSE_NAMES = {
    ConsentPurpose.PARTICIPATION: _("Taking part"),
    ConsentPurpose.CONTACT: _("Being contacted (phone number, address)"),
    ConsentPurpose.NAMED: _("Your name with your answers"),
}
WITHDRAW_LABELS = {
    ConsentPurpose.CONTACT: _("Withdraw contact ({number})"),
    ConsentPurpose.NAMED: _("Withdraw name ({number})"),
}


def withdraw_callback(consultation_id: int, purpose: str) -> str:
    """Packed as aiogram packs `WithdrawConsent` (prefix, then fields, ':'-separated)."""
    return f"{WITHDRAW_PREFIX}:{consultation_id}:{purpose}"


def contact_steps(flow: Flow) -> set[str]:
    """Ids of the questions (follow-ups too) whose answers the contact consent covers."""
    steps = [*flow.steps, *(s for f in flow.followups for s in f.steps)]
    return {step.id for step in steps if step.purpose == ConsentPurpose.CONTACT}


async def _title(app: App, uow: UnitOfWork, consultation_id: int, language: str) -> str:
    consultation = await uow.consultations.get(consultation_id)
    if consultation is None:
        return "?"
    current = await app.flows.current(uow, consultation)
    if current is None:
        return consultation.title
    flow = current[1]
    return flow.localize(flow.title, language)


async def show_consents(
    app: App, user_id: int, channel: str, language: str, delivery: Delivery
) -> None:
    """The citizen's standing decisions, per consultation, with a withdraw button for
    each consent that can be withdrawn and stands."""
    async with app.uow() as uow:
        citizen = await uow.citizens.find(user_id, channel=channel)
        texts = await app.citizen_texts(uow, citizen.id if citizen else None, language)
        records: list[ConsentRecord] = []
        if citizen is not None:
            records = [
                r
                for r in await uow.consents.standing(citizen.id)
                if r.consultation_id is not None and r.purpose in SHOWN
            ]
        buttons: list[OutboundButton] = []
        if not records:
            text = texts.gettext("You have not given any consent yet.")
        else:
            lines = [texts.gettext("What you agreed to:")]
            grouped = groupby(records, key=lambda r: r.consultation_id or 0)
            for number, (consultation_id, group) in enumerate(grouped, 1):
                decisions = {r.purpose: r for r in group}
                title = await _title(app, uow, consultation_id, language)
                lines.append(f"\n{number}. {title}")
                for purpose in SHOWN:
                    record = decisions.get(purpose)
                    if record is None:
                        continue
                    if record.granted:
                        when = format_date(record.created_at, "medium", locale=language)
                        state = "✅ " + texts.gettext("given on {date}").format(date=when)
                    else:
                        state = "— " + texts.gettext("not given")
                    name = texts.gettext(PURPOSE_NAMES[purpose])
                    lines.append(f"   {name}: {state}")
                    if record.granted and purpose in WITHDRAWABLE:
                        label = texts.gettext(WITHDRAW_LABELS[purpose]).format(number=number)
                        callback = withdraw_callback(consultation_id, purpose)
                        buttons.append(OutboundButton(purpose, label, callback=callback))
            lines.append(
                "\n"
                + texts.gettext(
                    "To stop taking part, send /delete: it erases all your answers and data."
                )
            )
            text = "\n".join(lines)
        message = OutboundMessage(text, language, role="notice", buttons=tuple(buttons))
        await deliver(uow, delivery, [message], citizen_id=citizen.id if citizen else None)
        await uow.commit()


async def withdraw(
    app: App,
    user_id: int,
    channel: str,
    language: str,
    delivery: Delivery,
    consultation_id: int,
    purpose: str,
) -> bool:
    """Withdraw a standing consent (see the module docstring); False if none stands."""
    async with app.uow() as uow:
        citizen = await uow.citizens.find(user_id, channel=channel)
        texts = await app.citizen_texts(uow, citizen.id if citizen else None, language)
        latest = None
        if citizen is not None and purpose in WITHDRAWABLE:
            latest = await uow.consents.latest(citizen.id, purpose, consultation_id=consultation_id)
        if citizen is None or latest is None or not latest.granted:
            text = texts.gettext("There is nothing to withdraw.")
            done = False
        else:
            await uow.consents.record(
                citizen.id, purpose, latest.text_version, False, consultation_id=consultation_id
            )
            if purpose == ConsentPurpose.CONTACT:
                await _forget_contact(app, uow, citizen.id, consultation_id)
                text = texts.gettext(
                    "Done. Your phone number and other contact details for this "
                    "consultation are deleted."
                )
            else:
                text = texts.gettext("Done. Your name is no longer shown with your answers.")
            done = True
        message = OutboundMessage(text, language, role="notice")
        await deliver(uow, delivery, [message], citizen_id=citizen.id if citizen else None)
        await uow.commit()
        return done


async def _forget_contact(app: App, uow: UnitOfWork, citizen_id: int, consultation_id: int) -> None:
    """Delete the contact answers of every run of the citizen in the consultation, in
    the answers table and in the dialog state, and mark the state's contact consent
    withdrawn so a dialog in progress asks no such question again."""
    for run in await uow.runs.list_for_citizen(citizen_id):
        if run.consultation_id != consultation_id:
            continue
        version = await uow.consultations.get_version_by_id(run.flow_version_id)
        if version is None:
            continue
        steps = contact_steps(app.flows.flow(version))
        state = dict(run.state)
        if "consents" in state or "answers" in state:
            state["answers"] = {
                k: v for k, v in dict(state.get("answers", {})).items() if k not in steps
            }
            state["history"] = [s for s in state.get("history", []) if s not in steps]
            state["consents"] = {**dict(state.get("consents", {})), ConsentPurpose.CONTACT: False}
        if steps:
            await uow.answers.delete_steps(run.id, steps)
        await uow.runs.save(run, state=state)
