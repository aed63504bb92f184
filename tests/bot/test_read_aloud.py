"""A senior who cannot read the screen well asks the real bot to read aloud.

The bot runs with `KONSULTA_TTS=espeak` against the emulator. The citizen taps
"🔊 Listen" under the consent and from then on gets a voice message after every text:
the story decodes each file the bot uploaded (real OGG/Opus of a plausible length) and
checks that a text heard twice was synthesised and uploaded once (the second
`sendVoice` carries Telegram's file_id). Skipped only where espeak-ng is missing (CI
installs it).
"""

from __future__ import annotations

import io
import shutil

import pytest
import soundfile as sf
from bot_world import Konsulta, Phone
from database_checks import session_of
from sqlalchemy import func, select

from emulator.state import ChatMessage
from storage.models import Citizen, VoiceClip

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


def kinds(messages: list[ChatMessage]) -> list[str]:
    return [m.kind for m in messages]


def heard(world: Konsulta, message: ChatMessage, words: int) -> str:
    """The voice message's file, decoded: OGG/Opus lasting about as long as `words`
    words take to say. Returns its file_id."""
    assert message.kind == "voice", message
    voice = message.content["voice"]
    audio = world.emu.file_bytes(voice["file_id"])
    assert voice["mime_type"] == "audio/ogg"
    assert world.emu.state.files[voice["file_id"]].mime_type == "audio/ogg"
    info = sf.info(io.BytesIO(audio))
    assert (info.format, info.subtype, info.channels) == ("OGG", "OPUS", 1)
    samples, rate = sf.read(io.BytesIO(audio))
    seconds = len(samples) / rate
    # espeak-ng reads 145 words a minute, a little slower with pauses at full stops.
    assert 0.2 * words < seconds < 1.2 * words + 2, (seconds, words)
    assert abs(samples).max() > 0.05  # speech, not silence
    assert voice["duration"] == max(1, round(seconds))
    return str(voice["file_id"])


async def test_a_senior_who_taps_listen_hears_the_consent_and_every_question(
    sqlite_world: Konsulta,
) -> None:
    world = sqlite_world
    senior: Phone = world.phone(4242501, "pl", "Halina")
    world.bot.start(tts="espeak")

    await senior.send("/start senior-housing")
    [consent] = await senior.expect(1)
    assert senior.label(consent, "~listen") == "🔊 Chcę posłuchać"

    await senior.tap(consent, "~listen")
    turned_on, notice_voice, consent_voice = await senior.expect(3)
    assert kinds([turned_on, notice_voice, consent_voice]) == ["text", "voice", "voice"]
    assert "/voice off" in (turned_on.text or "")
    heard(world, notice_voice, len((turned_on.text or "").split()))
    consent_words = len((consent.text or "").split())
    heard(world, consent_voice, consent_words)
    # The consent keeps its text and buttons, all but "🔊 Listen".
    await senior.until(lambda: "~listen" not in str(consent.reply_markup))
    assert consent.callback_data()[0].endswith(":agree")

    await senior.tap(consent, "agree")
    welcome, welcome_voice, age, age_voice = await senior.expect(4)
    assert kinds([welcome, welcome_voice, age, age_voice]) == ["text", "voice", "text", "voice"]
    assert "Ile ma Pan/Pani lat?" in (age.text or "")
    labels = [senior.label(age, key.rsplit(":", 1)[-1]) for key in age.callback_data()]
    age_file = heard(world, age_voice, len((age.text or "").split()) + 2 * len(labels))

    # Off and on again: the question on screen is read again, from the same clip.
    await senior.send("/voice off")
    [turned_off] = await senior.expect(1)
    assert turned_off.kind == "text" and "/voice on" in (turned_off.text or "")
    await senior.send("/voice on")
    again, again_voice, age_again = await senior.expect(3)
    assert kinds([again, again_voice, age_again]) == ["text", "voice", "voice"]
    assert again.text == turned_on.text
    assert again_voice.content["voice"]["file_id"] == notice_voice.content["voice"]["file_id"]
    assert age_again.content["voice"]["file_id"] == age_file

    # One clip per text, each uploaded once and then sent by its file_id.
    await world.settled()
    async with world.uow() as uow:
        clips = (await session_of(uow).execute(select(VoiceClip))).scalars().all()
        listening = (
            await session_of(uow).execute(select(func.count()).where(Citizen.read_aloud))
        ).scalar()
    voices = [m.content["voice"]["file_id"] for m in senior.messages() if m.kind == "voice"]
    assert len(clips) == len(set(voices)) == 4 and len(voices) == 6
    assert {clip.file_id for clip in clips} == set(voices)
    assert listening == 1
    world.bot.assert_healthy()


async def test_a_citizen_who_does_not_ask_gets_no_voice(sqlite_world: Konsulta) -> None:
    world = sqlite_world
    citizen = world.phone(4242502, "en", "Sam")
    world.bot.start(tts="espeak")
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    await citizen.tap(consent, "agree")
    await world.said(citizen)
    assert "voice" not in kinds(citizen.messages())
    commands = [c["command"] for c in world.emu.commands_for_chat(citizen.chat_id)]
    assert "voice" in commands
