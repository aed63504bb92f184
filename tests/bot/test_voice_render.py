"""A voice row renders to sendVoice: the audio on the first send, Telegram's file_id
after it; never a text message that repeats what the row before said."""

from __future__ import annotations

from gettext import NullTranslations

import pytest
from aiogram.methods import SendVoice
from aiogram.types import BufferedInputFile

from bot.telegram.render import render
from konsulta.outbound import OutboundMessage
from konsulta.speech import VoiceNote

TEXTS = NullTranslations()


def test_a_voice_row_is_sent_as_audio_first_and_by_file_id_after() -> None:
    row = OutboundMessage.spoken("Which floor do you live on?", language="en").to_payload()
    assert row == {"text": "Which floor do you live on?", "language": "en", "voice": True}

    first = render(42, row, TEXTS, voice=VoiceNote("k", 3, audio=b"OggS..."))
    assert isinstance(first, SendVoice) and first.duration == 3
    assert isinstance(first.voice, BufferedInputFile) and first.voice.data == b"OggS..."
    assert first.voice.filename == "voice.ogg" and first.caption is None

    again = render(42, row, TEXTS, voice=VoiceNote("k", 3, file_id="AwACAgQ"))
    assert isinstance(again, SendVoice) and again.voice == "AwACAgQ"


def test_a_voice_row_without_its_audio_is_a_mistake_not_a_text() -> None:
    row = OutboundMessage.spoken("Thank you!", language="en")
    with pytest.raises(ValueError, match="VoiceNote"):
        render(42, row, TEXTS)
