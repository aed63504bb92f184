"""Consent per purpose in Telegram, against the emulator: a citizen agrees to be called
back, shares her number, and later withdraws that consent from /consents; the number
is gone. The menu offers /consents in her language."""

from __future__ import annotations

import asyncio
from pathlib import Path

from database_checks import session_of
from in_process import bot_in_process, settled, tap_label
from sqlalchemy import select

from konsulta.publishing import read_flow
from storage.models import Answer, ConsentRecord

FLOW = """
id: call-me
version: 1
title: {en: Call me back, pl: Oddzwońcie}
organisation: Test town
languages: [en, pl]
default_language: en
consent: {en: We keep your answers., pl: Zapisujemy odpowiedzi.}
contact_consent: {en: Only the caseworker sees your number., pl: Numer widzi tylko urzędnik.}
steps:
  - id: need
    kind: text
    text: {en: "What do you need?", pl: "Czego potrzebujesz?"}
  - id: phone
    kind: contact
    text: {en: Share your number., pl: Udostępnij numer.}
ends:
  - text: {en: Thank you., pl: Dziękujemy.}
"""
OLGA = 5001


async def test_a_citizen_withdraws_her_contact_consent_and_her_number_is_deleted(
    migrated_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "call-me.yaml"
    path.write_text(FLOW)
    async with bot_in_process(
        migrated_url, [read_flow(path)], name="consents", default_language="pl"
    ) as bot:
        emu, app, people = bot.emu, bot.app, bot.emu.citizens
        people.create(OLGA, "Olga", "pl")
        await settled(app, emu)
        # The bot sets its command menu as it starts, one language after another.
        for _ in range(200):
            menu = [c["command"] for c in emu.commands_for_chat(OLGA)]
            if "consents" in menu:
                break
            await asyncio.sleep(0.05)
        assert "consents" in menu

        await people.send_text(OLGA, "/start call-me")
        await settled(app, emu)
        await tap_label(emu, OLGA, "Tak")  # "Tak, zgadzam się": taking part
        await settled(app, emu)
        await people.send_text(OLGA, "Podjazd przy bibliotece")
        await settled(app, emu)
        asked = emu.bot_messages(OLGA)[-1].text or ""
        assert asked.startswith("Numer widzi tylko urzędnik.")  # in her language
        await tap_label(emu, OLGA, "Tak")
        await settled(app, emu)
        await people.send_contact(OLGA, "+48600100200")
        await settled(app, emu)
        async with app.uow() as uow:
            phones = await session_of(uow).scalars(select(Answer).where(Answer.step_id == "phone"))
            assert [a.value for a in phones] == [{"phone": "+48600100200"}]

        await people.send_text(OLGA, "/consents")
        await settled(app, emu)
        listing = emu.bot_messages(OLGA)[-1].text or ""
        assert "Oddzwońcie" in listing and "Kontakt (numer telefonu" in listing
        await tap_label(emu, OLGA, "Wycofaj zgodę na kontakt")
        await settled(app, emu)
        assert (emu.bot_messages(OLGA)[-1].text or "").endswith("są usunięte.")
        async with app.uow() as uow:
            answers = (await session_of(uow).scalars(select(Answer))).all()
            assert [a.step_id for a in answers] == ["need"]
            records = (await session_of(uow).scalars(select(ConsentRecord))).all()
        assert [(r.purpose, r.granted) for r in records] == [
            ("participation", True),
            ("contact", True),
            ("contact", False),
        ]
