"""Reading aloud, below the bot: the engines, the cache of clips, the service's choices.

The stories with the real bot and the emulator are in tests/bot/test_read_aloud.py.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile as sf
from database_checks import session_of
from sqlalchemy import func, select

from dialogs.events import Button, ButtonPress, Message
from konsulta.bootstrap import App, build_app, speech_engine
from konsulta.catalogs import LANGUAGES
from konsulta.conversations import CONSENT_STEP, LISTEN, Conversations, Who, message_payloads
from konsulta.outbound import OutboundMessage, read_aloud
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from konsulta.speech import ReadAloud, SpeechUnavailable, speakable
from konsulta.speech_espeak import VOICES, EspeakEngine
from konsulta.speech_piper import PiperEngine
from storage.models import VoiceClip

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
ANNA = Who("telegram", 1001, 1001, "pl")

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


async def published_app(url: str, **settings: object) -> App:
    app = await build_app(Settings(database_url=url, **settings), migrate=False)  # type: ignore[arg-type]
    flow, text = read_flow(FLOWS / "senior-housing.yaml")
    async with app.uow() as uow:
        await publish(uow, flow, text, open_now=True)
        await uow.commit()
    return app


@pytest.fixture
async def speaking_app(migrated_url: str) -> AsyncIterator[App]:
    app = await published_app(migrated_url, tts="espeak")
    try:
        yield app
    finally:
        await app.close()


@needs_espeak
async def test_one_text_is_synthesised_once_and_then_sent_by_file_id(speaking_app: App) -> None:
    speech = speaking_app.speech
    first = await speech.note("Ile ma Pan lub Pani lat?", "pl")
    again = await speech.note("Ile ma Pan lub Pani lat?", "pl")
    assert first is not None and again is not None and speech.synthesised == 1
    assert first.audio == again.audio and first.key == again.key

    info = sf.info(io.BytesIO(first.audio or b""))
    assert (info.format, info.subtype, info.samplerate) == ("OGG", "OPUS", 48000)
    assert 1.0 < info.duration < 6.0 and first.duration == round(info.duration)

    # Another process (a second webhook worker) finds the clip in the database.
    other = ReadAloud(speech.engine, speaking_app.uow)
    assert (await other.note("Ile ma Pan lub Pani lat?", "pl")) == first
    assert other.synthesised == 0

    await speech.uploaded(first.key, "telegram-file-id")
    sent = await other.note("Ile ma Pan lub Pani lat?", "pl")
    assert sent is not None and (sent.file_id, sent.audio) == ("telegram-file-id", None)
    async with speaking_app.uow() as uow:
        clips = (
            await session_of(uow).execute(select(func.count()).select_from(VoiceClip))
        ).scalar()
    assert clips == 1


@needs_espeak
async def test_the_same_words_in_another_language_are_another_clip(speaking_app: App) -> None:
    speech = speaking_app.speech
    polish = await speech.note("Taxi", "pl")
    finnish = await speech.note("Taxi", "fi")
    assert polish is not None and finnish is not None and polish.key != finnish.key
    assert speech.synthesised == 2


@needs_espeak
def test_espeak_ng_speaks_all_twelve_languages() -> None:
    assert set(VOICES) == set(LANGUAGES)
    listed = subprocess.run(
        ["espeak-ng", "--voices"], capture_output=True, text=True, check=True
    ).stdout
    known = {line.split()[1] for line in listed.splitlines()[1:] if line.split()}
    assert set(VOICES.values()) <= known
    engine = EspeakEngine()
    clip = engine.synthesise("مرحبا، كيف حالك؟", VOICES["ar"])
    samples, rate = sf.read(io.BytesIO(clip.audio))
    assert rate == 48000 and len(samples) / rate == pytest.approx(clip.duration)
    assert 0.5 < clip.duration < 5 and abs(samples).max() > 0.05  # not silence


def test_what_is_read_has_no_emoji_or_invisible_marks() -> None:
    assert speakable("💡 Proszę  wybrać\u200f jedną:\n\n✅ Tak") == "Proszę wybrać jedną:\nTak"
    assert speakable("🔊 ✅") == ""


def test_piper_without_its_voices_says_which_folder_it_reads(tmp_path: Path) -> None:
    with pytest.raises(SpeechUnavailable, match="KONSULTA_TTS_MODELS"):
        PiperEngine(None)
    with pytest.raises(SpeechUnavailable, match=str(tmp_path)):
        PiperEngine(tmp_path)
    (tmp_path / "pl_PL-gosia-medium.onnx").write_bytes(b"")
    (tmp_path / "pl_PL-gosia-medium.onnx.json").write_text("{}")
    with pytest.raises(SpeechUnavailable, match=f"not installed.*{tmp_path}"):
        PiperEngine(tmp_path, binary="konsulta-no-such-piper")
    # The bot then runs without voice: text only, never a crash.
    assert speech_engine(Settings(tts="piper", tts_models=tmp_path / "missing")) is None


async def test_with_reading_aloud_off_no_listen_button_is_offered(migrated_url: str) -> None:
    app = await published_app(migrated_url)  # KONSULTA_TTS defaults to off
    try:
        assert not app.speech.available
        conversations = Conversations(app)
        shown = await conversations.open(ANNA, "senior-housing", source="telegram", delivery=None)
        [consent] = shown.messages
        assert LISTEN not in [b.key for b in consent.buttons]
        sorry = await conversations.set_read_aloud(ANNA, True, delivery=None)
        expected = app.texts("pl").gettext("Sorry, I cannot send voice messages here yet.")
        assert [m.text for m in sorry.messages] == [expected] and not sorry.heard
    finally:
        await app.close()


@needs_espeak
async def test_a_citizen_who_listens_hears_the_consent_then_every_question(
    speaking_app: App,
) -> None:
    conversations = Conversations(speaking_app)
    shown = await conversations.open(ANNA, "senior-housing", source="telegram", delivery=None)
    [consent] = shown.messages
    assert consent.buttons[-1].key == LISTEN and consent.buttons[-1].label == "🔊 Chcę posłuchać"

    listening = await conversations.handle(ANNA, ButtonPress(CONSENT_STEP, LISTEN), delivery=None)
    [heard] = listening.heard
    assert heard.step_id == CONSENT_STEP and LISTEN not in [b.key for b in heard.buttons]
    # The tapped consent loses its "🔊 Listen" (an edit), then the notice says how to stop.
    edited, notice = listening.messages
    assert edited.edit and edited.step_id == CONSENT_STEP
    assert LISTEN not in [b.key for b in edited.buttons]
    assert "/voice off" in notice.text


def test_a_question_read_aloud_also_reads_its_options_but_not_the_controls() -> None:
    question = Message(
        "💡 Which floor do you live on?",
        "question",
        "floor",
        (Button("low", "Ground floor"), Button("high", "3rd or higher"), Button("~skip", "Skip")),
        expects="choice",
    )
    text, voice = message_payloads(question, 7, "en", listen=True)
    assert text["text"] == question.text and "voice" not in text
    assert voice == {
        "text": "💡 Which floor do you live on?\nGround floor\n3rd or higher",
        "language": "en",
        "voice": True,
    }
    assert OutboundMessage.from_payload(voice) == OutboundMessage.spoken(
        voice["text"], language="en"
    )
    assert message_payloads(question, 7, "en", listen=False) == [text]
    # A ticked option edits the question in place: nothing new to hear.
    ticked = OutboundMessage.from_engine(
        replace(question, edit=True), run_id=7, language="en", edit_message_id=12
    )
    assert read_aloud([ticked]) == [ticked]
    # The next statement of a statements step edits the card too, but it is new words.
    card = replace(question, text="« More evening buses »", expects="statements", edit=True)
    statement = OutboundMessage.from_engine(card, run_id=7, language="en", edit_message_id=12)
    shown, heard = read_aloud([statement])
    assert shown == statement and heard.voice and "More evening buses" in heard.text


FAKE_PIPER = """#!{python}
# Stands in for Piper's command line: --model M --output_file F, text on stdin.
import math, struct, sys, wave
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
assert args["--model"].endswith(".onnx"), args
words = len(sys.stdin.read().split())
rate = 22050
frames = b"".join(
    struct.pack("<h", int(8000 * math.sin(i / 10))) for i in range(rate * words // 3)
)
with wave.open(args["--output_file"], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(rate); out.writeframes(frames)
"""


def test_piper_reads_with_the_voice_from_the_folder(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    for name in ("pl_PL-gosia-medium", "uk_UA-ukrainian_tts-medium"):
        (voices / f"{name}.onnx").write_bytes(b"")
        (voices / f"{name}.onnx.json").write_text("{}")
    piper = tmp_path / "piper"
    piper.write_text(FAKE_PIPER.format(python=sys.executable))
    piper.chmod(0o755)
    engine = PiperEngine(voices, binary=str(piper))
    assert engine.voice("pl") == "pl_PL-gosia-medium" and engine.voice("ar") is None
    clip = engine.synthesise("Jedno dwa trzy", "pl_PL-gosia-medium")
    info = sf.info(io.BytesIO(clip.audio))
    assert (info.format, info.subtype, info.samplerate) == ("OGG", "OPUS", 48000)
    assert clip.duration == pytest.approx(1.0, abs=0.05)
