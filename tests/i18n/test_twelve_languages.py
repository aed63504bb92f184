"""Twelve neighbours report the same dark street lamp, each in their own language.

The real runtime (in this process, long polling) talks to the Bot API emulator. Each
citizen's Telegram says a different language; each one agrees, taps, types a date the
way their language writes it, shares a location and finishes the service-need report.
Nothing any of them sees may be in English where their language has a translation,
everything must fit Telegram's limits, and the Arabic neighbour's lines must start
right-to-left.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from in_process import bot_in_process

from dialogs.answers import typed_date
from dialogs.schema import Flow
from emulator import Emulator
from emulator.state import ChatMessage
from konsulta.bootstrap import App
from konsulta.catalogs import LANGUAGES, ROOT, bot_catalog_paths, read_catalog
from konsulta.publishing import read_flow

FLOW = ROOT / "dialogs" / "flows" / "service-need.yaml"
TIMEOUT = 30.0
#: "The street lamp by the bus stop does not work", as each neighbour types it.
LAMP = {
    "pl": "Lampa przy przystanku nie świeci",
    "en": "The lamp by the bus stop is dark",
    "uk": "Ліхтар біля зупинки не світить",
    "ru": "Фонарь у остановки не горит",
    "et": "Bussipeatuse lamp ei põle",
    "es": "La farola de la parada no funciona",
    "hu": "A megállónál nem ég a lámpa",
    "nl": "De lamp bij de bushalte is kapot",
    "it": "Il lampione alla fermata è spento",
    "sv": "Lampan vid busshållplatsen lyser inte",
    "fi": "Bussipysäkin lamppu ei pala",
    "ar": "المصباح عند موقف الحافلة لا يعمل",
}


@dataclass
class Town:
    emu: Emulator
    app: App
    flow: Flow


@pytest.fixture
async def town(migrated_url: str) -> AsyncIterator[Town]:
    flow, text = read_flow(FLOW)
    async with bot_in_process(migrated_url, [(flow, text)], name="languages") as bot:
        yield Town(bot.emu, bot.app, flow)


async def report(town: Town, user_id: int, language: str) -> list[ChatMessage]:
    """One neighbour's whole report; returns everything the bot showed them."""
    emu, flow = town.emu, town.flow
    emu.citizens.create(user_id, f"Neighbour {language}", language)

    def say(step_id: str) -> str:
        return flow.localize(flow.step(step_id).text, language)

    async def shown(text: str) -> ChatMessage:
        def find() -> ChatMessage | None:
            return next((m for m in emu.bot_messages(user_id) if text in (m.text or "")), None)

        assert await emu.state.wait_until(lambda: find() is not None, TIMEOUT), (
            language,
            text,
            [m.text for m in emu.bot_messages(user_id)],
        )
        found = find()
        assert found is not None
        return found

    async def tap(message: ChatMessage, key: str) -> None:
        data = next(d for d in message.callback_data() if d.rsplit(":", 1)[-1] == key)
        await emu.citizens.tap(user_id, message.message_id, data)

    await emu.citizens.send_text(user_id, "/start service-need")
    consent = await shown(flow.localize(flow.consent, language))
    await tap(consent, "agree")
    await tap(await shown(say("what")), "lighting")
    await shown(say("describe"))
    await emu.citizens.send_text(user_id, LAMP[language])
    await shown(say("place"))
    await emu.citizens.send_location(user_id, 54.4641, 17.0285)
    await tap(await shown(say("photo")), "~skip")
    await tap(await shown(say("urgency")), "soon")
    await shown(say("since"))
    await emu.citizens.send_text(user_id, typed_date(dt.date(2026, 10, 7), language))
    affects = await shown(say("affects"))
    await tap(affects, "seniors")
    await emu.state.wait_until(lambda: "✅" in str(affects.reply_markup), TIMEOUT)
    await tap(affects, "~done")
    await tap(await shown(say("reported_before")), "no")
    await tap(await shown(say("contact_pref")), "chat")
    end = flow.localize(flow.ends[-1].text, language).split("{{")[0]
    await shown(end)
    return emu.bot_messages(user_id)


def english_sentences() -> set[str]:
    """Every English text that has a translation: the bot's msgids and the flow's
    English catalog (short words like "No" or "Photo" could be a name; not checked)."""
    found: set[str] = set()
    english_flow = read_catalog(FLOW.parent / "service-need.locales" / "en.po", "en")
    bot = read_catalog(bot_catalog_paths()["en"], "en")
    for catalog in (english_flow, bot):
        for message in catalog:
            strings = [message.string] if isinstance(message.string, str) else message.string
            for text in strings:
                for part in text.split("{")[0].split("\n"):
                    if len(part) >= 16 and " " in part:
                        found.add(part.strip())
    return found


def first_strong_direction(line: str) -> str | None:
    for char in line:
        direction = unicodedata.bidirectional(char)
        if direction in {"L", "R", "AL"}:
            return direction
    return None


async def test_the_service_need_report_in_each_of_twelve_languages(town: Town) -> None:
    chats = await asyncio.gather(
        *(report(town, 8100 + index, language) for index, language in enumerate(LANGUAGES))
    )
    english = english_sentences()
    assert len(english) > 80
    for language, messages in zip(LANGUAGES, chats, strict=True):
        assert len(messages) >= 10, language
        for message in messages:
            text = message.text or message.caption or ""
            labels = [
                str(button.get("text", ""))
                for row in (message.reply_markup or {}).get("inline_keyboard", [])
                for button in row
            ]
            # Telegram's limits: 4096 characters of text, 64 bytes of callback data
            assert len(text) <= 4096
            assert all(len(d.encode()) <= 64 for d in message.callback_data())
            if language == "en":
                continue
            for sentence in english:
                assert sentence not in text, (language, sentence, text)
                assert all(sentence not in label for label in labels), (language, labels)
            if language == "ar":
                for line in filter(None, text.split("\n")):
                    # the citizen's own answers are shown back as they were typed
                    if LAMP["ar"] in line or "54.46" in line:
                        continue
                    assert first_strong_direction(line) in {None, "R", "AL"}, line
    # every neighbour's report was stored in their own language
    async with town.app.uow() as uow:
        for index, language in enumerate(LANGUAGES):
            citizen = await uow.citizens.find(8100 + index)
            assert citizen is not None and citizen.language == language
