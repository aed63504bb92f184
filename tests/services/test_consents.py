"""Consent per purpose, told as citizens live it: taking part, being called back, being
named; each asked where it is needed, recorded with the flow version and the time,
and withdrawn from /consents."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from database_checks import session_of
from openpyxl import load_workbook
from sqlalchemy import select

from dialogs.events import ButtonPress, ContactInput, TextInput
from konsulta.bootstrap import App, build_app
from konsulta.consents import show_consents, withdraw
from konsulta.conversations import CONSENT_STEP, Conversations, Delivery, Who
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from review.export import export_consultation
from storage.models import Answer, ConsentRecord, OutboxMessage, Run

FLOW = """
id: call-me
version: 1
title: {en: Call me back, pl: Oddzwońcie}
organisation: Test town
languages: [en, pl]
default_language: en
consent: {en: We keep your answers., pl: Zapisujemy odpowiedzi.}
contact_consent: {en: Only the caseworker sees your number., pl: Numer widzi tylko urzędnik.}
name_consent: {en: Your name helps us write back., pl: Imię pomaga nam odpisać.}
steps:
  - id: need
    kind: text
    text: {en: "What do you need?", pl: "Czego potrzebujesz?"}
  - id: phone
    kind: contact
    text: {en: Share your number., pl: Udostępnij numer.}
  - id: when
    kind: single_choice
    text: {en: "When may we call?", pl: "Kiedy możemy zadzwonić?"}
    options:
      - {key: morning, label: {en: Morning, pl: Rano}}
      - {key: evening, label: {en: Evening, pl: Wieczorem}}
ends:
  - text: {en: Thank you., pl: Dziękujemy.}
"""

ANNA = Who("telegram", 2001, 2001, "en", name="Anna Nowak")
BOGDAN = Who("telegram", 2002, 2002, "en", name="Bogdan Zieliński")


@pytest.fixture
async def app(migrated_url: str, tmp_path: Path) -> AsyncIterator[App]:
    app = await build_app(Settings(database_url=migrated_url), migrate=False)
    path = tmp_path / "call-me.yaml"
    path.write_text(FLOW)
    flow, text = read_flow(path)
    async with app.uow() as uow:
        await publish(uow, flow, text, open_now=True)
        await uow.commit()
    try:
        yield app
    finally:
        await app.close()


async def take_part(app: App, who: Who, *, named: bool) -> Conversations:
    """Agree to take part, answer naming, tell the need: the contact consent is next."""
    conversations = Conversations(app)
    async with app.uow() as uow:  # the Telegram runtime keeps the name it sees
        await uow.citizens.get_or_create(
            who.user_id, who.chat_id, secret=app.settings.pseudonym_secret.get_secret_value(),
            display_name=who.name,
        )  # fmt: skip
        await uow.commit()
    await conversations.open(who, "call-me", source="telegram", delivery=None)
    shown = await conversations.handle(who, ButtonPress(CONSENT_STEP, "agree"), delivery=None)
    assert shown.messages[-1].step_id == "~named"
    assert shown.messages[-1].text.startswith("Your name helps us write back.")
    await conversations.handle(who, ButtonPress("~named", "yes" if named else "no"), delivery=None)
    shown = await conversations.handle(who, TextInput("A ramp at the library"), delivery=None)
    asked = shown.messages[-1]
    assert asked.step_id == "~contact"
    assert asked.text.startswith("Only the caseworker sees your number.")
    return conversations


async def decisions(app: App) -> list[tuple[str, bool, str]]:
    async with app.uow() as uow:
        records = (await session_of(uow).execute(select(ConsentRecord))).scalars().all()
    return [(r.purpose, r.granted, r.text_version) for r in records]


async def stored_answers(app: App) -> dict[str, object]:
    async with app.uow() as uow:
        answers = (await session_of(uow).execute(select(Answer))).scalars().all()
    return {a.step_id: a.value for a in answers}


async def export_csv(app: App) -> list[dict[str, str]]:
    out = io.BytesIO()
    async with app.uow(read_only=True) as uow:
        await export_consultation(uow, app.flows, "call-me", "csv", out)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


async def test_a_citizen_who_says_no_to_contact_is_never_asked_for_a_phone(app: App) -> None:
    conversations = await take_part(app, ANNA, named=False)
    shown = await conversations.handle(ANNA, ButtonPress("~contact", "no"), delivery=None)
    assert [m.step_id for m in shown.messages] == ["when"]  # the phone question passed over
    assert shown.answer == "No"
    # A number shared anyway answers nothing: the dialog is at another question.
    await conversations.handle(ANNA, ContactInput("+48600100200"), delivery=None)
    await conversations.handle(ANNA, ButtonPress("when", "morning"), delivery=None)
    answers = await stored_answers(app)
    assert "phone" not in answers and answers["when"] == "morning"
    async with app.uow() as uow:
        [run] = (await session_of(uow).execute(select(Run))).scalars().all()
    assert run.status == "completed"
    assert "+48600100200" not in json.dumps(run.state)
    assert [d[:2] for d in await decisions(app)] == [
        ("participation", True),
        ("named", False),
        ("contact", False),
    ]
    assert ("contact", False, "call-me@1/contact") in await decisions(app)
    [row] = await export_csv(app)
    assert row["phone"] == "" and row["consent:contact"] == "" and row["name"] == ""
    assert row["consent:participation"] != ""


async def test_one_who_agrees_and_later_withdraws_has_the_phone_deleted(app: App) -> None:
    conversations = await take_part(app, ANNA, named=False)
    shown = await conversations.handle(ANNA, ButtonPress("~contact", "yes"), delivery=None)
    assert shown.messages[-1].step_id == "phone" and shown.messages[-1].expects == "contact"
    await conversations.handle(ANNA, ContactInput("+48600100200"), delivery=None)
    await conversations.handle(ANNA, ButtonPress("when", "evening"), delivery=None)
    assert (await stored_answers(app))["phone"] == {"phone": "+48600100200"}
    [row] = await export_csv(app)
    assert row["phone"] == "'+48600100200"  # neutralised: a leading + is a formula
    assert row["consent:contact"].startswith("20")

    # /consents lists it, with a button to withdraw it.
    chat = Delivery(chat_id=ANNA.chat_id)
    await show_consents(app, ANNA.user_id, ANNA.channel, "en", chat)
    async with app.uow() as uow:
        [listing] = (await session_of(uow).execute(select(OutboxMessage))).scalars().all()
    assert "Call me back" in listing.payload["text"]
    assert "Being contacted (phone number, address): ✅ given on" in listing.payload["text"]
    buttons = listing.payload["buttons"]
    [contact] = [b for b in buttons if b["key"] == "contact"]
    consultation = contact["callback"].split(":")[1]
    assert contact["callback"] == f"cw:{consultation}:contact"

    assert await withdraw(app, ANNA.user_id, ANNA.channel, "en", chat, int(consultation), "contact")
    answers = await stored_answers(app)
    assert "phone" not in answers and answers["need"] == "A ramp at the library"
    async with app.uow() as uow:
        [run] = (await session_of(uow).execute(select(Run))).scalars().all()
    assert "+48600100200" not in json.dumps(run.state)
    assert (await decisions(app))[-1][:2] == ("contact", False)
    [row] = await export_csv(app)
    assert row["phone"] == "" and row["consent:contact"] == ""
    # Withdrawing twice finds nothing to withdraw.
    assert not await withdraw(
        app, ANNA.user_id, ANNA.channel, "en", chat, int(consultation), "contact"
    )


async def test_the_export_names_only_who_consented_to_be_named(app: App) -> None:
    for who, named in ((ANNA, True), (BOGDAN, False)):
        conversations = await take_part(app, who, named=named)
        await conversations.handle(who, ButtonPress("~contact", "no"), delivery=None)
        await conversations.handle(who, ButtonPress("when", "morning"), delivery=None)
    rows = await export_csv(app)
    assert sorted(row["name"] for row in rows) == ["", "Anna Nowak"]
    anna = next(row for row in rows if row["name"])
    assert anna["consent:named"].startswith("20")

    out = io.BytesIO()
    async with app.uow(read_only=True) as uow:
        await export_consultation(uow, app.flows, "call-me", "json", out)
    named = next(r for r in json.loads(out.getvalue()) if r["name"])
    sheet = io.BytesIO()
    async with app.uow(read_only=True) as uow:
        await export_consultation(uow, app.flows, "call-me", "xlsx", sheet)
    basis = dict(load_workbook(sheet, read_only=True)["basis"].iter_rows(values_only=True))
    assert basis["name"] == "consent (named)" and basis["phone"] == "consent (contact)"
    assert basis["need"] == "consent (participation)" and basis["run"] == "no personal data"
    assert named["basis"]["name"].startswith("consent (named) given 20")
    assert named["basis"]["need"].startswith("consent (participation) given 20")

    # Anna withdraws: from then on, her name is in no export.
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("call-me")
        assert consultation is not None
    chat = Delivery(chat_id=ANNA.chat_id)
    assert await withdraw(app, ANNA.user_id, ANNA.channel, "en", chat, consultation.id, "named")
    assert [row["name"] for row in await export_csv(app)] == ["", ""]
