"""The bot's voice messages: sendVoice with an upload or with a file_id, as Telegram
takes them, and the bytes kept for the test (and the playground's player)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import numpy as np
import soundfile as sf

from emulator import Emulator

BotCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


def ogg_opus(seconds: float = 1.0) -> bytes:
    rate = 48000
    tone = 0.3 * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(rate * seconds)))
    buffer = io.BytesIO()
    sf.write(buffer, tone.astype(np.float32), rate, format="OGG", subtype="OPUS")
    return buffer.getvalue()


async def upload(emulator: Emulator, http: aiohttp.ClientSession, data: bytes) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("chat_id", "21")
    form.add_field("duration", "2")
    form.add_field("voice", data, filename="voice.ogg", content_type="application/octet-stream")
    async with http.post(f"{emulator.base_url}/bot{emulator.token}/sendVoice", data=form) as r:
        assert r.status == 200, await r.text()
        result: dict[str, Any] = (await r.json())["result"]
        return result


async def test_a_voice_is_uploaded_once_then_sent_by_its_file_id(
    emulator: Emulator, call: BotCall, http: aiohttp.ClientSession
) -> None:
    emulator.citizens.create(21)
    audio = ogg_opus()
    first = await upload(emulator, http, audio)
    voice = first["voice"]
    assert (voice["duration"], voice["mime_type"], voice["file_size"]) == (
        2,
        "audio/ogg",
        len(audio),
    )
    status, again = await call("sendVoice", chat_id=21, voice=voice["file_id"], duration=2)
    assert status == 200 and again["result"]["voice"]["file_id"] == voice["file_id"]
    assert [m.kind for m in emulator.bot_messages(21)] == ["voice", "voice"]
    assert emulator.file_bytes(voice["file_id"]) == audio
    async with http.get(f"{emulator.base_url}/_test/files/{voice['file_id']}") as r:
        assert r.content_type == "audio/ogg" and await r.read() == audio

    status, body = await call("sendVoice", chat_id=21, voice="no-such-file-id")
    assert status == 400 and "wrong file identifier" in body["description"]


async def test_audio_that_is_not_ogg_opus_arrives_as_a_document(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.citizens.create(21)
    wav = io.BytesIO()
    sf.write(wav, np.zeros(4800, dtype=np.float32), 48000, format="WAV")
    sent = await upload(emulator, http, wav.getvalue())
    assert "voice" not in sent and sent["document"]["file_name"] == "voice.ogg"
