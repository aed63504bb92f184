"""Two organisations share one bot: the youth council chose the informal register,
the town hall keeps the formal one.

Kasia answers the youth council's consultation and the bot's own texts say "ty" to
her (the consent, the hint after a wrong answer, /help, /mydata); Jan answers the town hall's
on the same bot and reads "Pan/Pani" and "Prosimy". An English-speaking member of
the youth council reads the English texts, which have one register. The youth
council's register is set with the real CLI, as an operator would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from in_process import bot_in_process, settled, tap_label

from bot.cli import main
from emulator import Emulator
from konsulta.bootstrap import App
from konsulta.publishing import organisation_slug, read_flow

YOUTH_COUNCIL = "Młodzieżowa Rada Miasta"
TOWN_HALL = "Urząd Miasta"
FLOW = """
id: {slug}
version: 1
title: {{pl: "{title}", en: "{title}"}}
organisation: {organisation}
languages: [pl, en]
default_language: pl
consent: {{pl: Zapisujemy odpowiedzi., en: We keep your answers.}}
steps:
  - id: age
    kind: number
    text: {{pl: "Wiek?", en: "Age?"}}
    min: 13
    max: 30
ends:
  - text: {{pl: Dziękujemy., en: Thank you.}}
"""
KASIA, JAN, ALEX = 7101, 7102, 7103


def flow_file(tmp_path: Path, slug: str, title: str, organisation: str) -> Path:
    path = tmp_path / f"{slug}.yaml"
    path.write_text(FLOW.format(slug=slug, title=title, organisation=organisation))
    return path


async def said(app: App, emu: Emulator, user_id: int, text: str) -> str:
    """Send `text`; everything the bot said back, one message a line."""
    before = len(emu.bot_messages(user_id)) if user_id in emu.state.chats else 0
    await emu.citizens.send_text(user_id, text)
    await settled(app, emu)
    return "\n".join(m.text or m.caption or "" for m in emu.bot_messages(user_id)[before:])


async def joined(app: App, emu: Emulator, user_id: int, slug: str) -> str:
    """/start the consultation; the consent it asks."""
    return await said(app, emu, user_id, f"/start {slug}")


async def test_the_youth_councils_citizens_read_ty_while_the_town_hall_says_pan_pani(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flows = [
        read_flow(flow_file(tmp_path, "ideas", "Pomysły", YOUTH_COUNCIL)),
        read_flow(flow_file(tmp_path, "housing", "Mieszkania", TOWN_HALL)),
    ]
    async with bot_in_process(migrated_url, flows, name="register", default_language="pl") as bot:
        emu, app = bot.emu, bot.app
        monkeypatch.setenv("KONSULTA_DATABASE_URL", migrated_url)
        youth = organisation_slug(YOUTH_COUNCIL)
        code = await asyncio.to_thread(main, ["organisations", "register", youth, "informal"])
        assert code == 0
        async with app.uow() as uow:
            [changed] = await uow.audit.search(organisation_id=None, action="set_register", limit=5)
        assert (changed.email, changed.target) == ("cli", youth)

        emu.citizens.create(KASIA, "Kasia", "pl")
        emu.citizens.create(JAN, "Jan", "pl")
        emu.citizens.create(ALEX, "Alex", "en")

        # The consent: "ty" for the youth council, "Pan/Pani" for the town hall.
        consent = await joined(app, emu, KASIA, "ideas")
        assert "Zgadzasz się wziąć udział?" in consent
        assert "Pan/Pani" not in consent
        assert "Czy wyraża Pan/Pani zgodę na udział?" in await joined(app, emu, JAN, "housing")
        for citizen in (KASIA, JAN):
            await tap_label(emu, citizen, "Tak")
        await settled(app, emu)

        # A wrong answer gets the bot's hint, in each organisation's register.
        hint = await said(app, emu, KASIA, "nie wiem")
        assert "Podaj liczbę całkowitą od 13 do 30." in hint, hint
        hint = await said(app, emu, JAN, "nie wiem")
        assert "Prosimy podać liczbę całkowitą od 13 do 30." in hint, hint

        # /help outside the dialog's steps speaks the same way.
        assert "co o tobie przechowujemy" in await said(app, emu, KASIA, "/help")
        assert "co o Panu/Pani przechowujemy" in await said(app, emu, JAN, "/help")
        assert "To wszystko, co o tobie przechowujemy." in await said(app, emu, KASIA, "/mydata")
        assert "co przechowujemy o Panu/Pani." in await said(app, emu, JAN, "/mydata")

        # English has one "you": the informal choice falls back to the one catalog.
        consent = await joined(app, emu, ALEX, "ideas")
        assert "Do you agree to take part?" in consent
        await tap_label(emu, ALEX, "Yes")
        await settled(app, emu)
        assert "Please send a whole number between 13 and 30." in await said(app, emu, ALEX, "?!")
