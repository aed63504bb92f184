"""Reading aloud: every text the bot shows can also come as a Telegram voice message.

Many of the citizens Konsulta is for see poorly or read little. A citizen who taps
"🔊 Listen" or sends /voice on gets each question, hint, consent and end message
followed by a voice message in their language, synthesised offline (never a cloud
service, never a model downloaded at run time).

Three parts, each replaceable:

- a `SpeechEngine` turns a text into OGG/Opus audio (the format of Telegram's voice
  messages): espeak-ng by default (`konsulta/speech_espeak.py`), or Piper with voices
  the operator puts in a folder (`konsulta/speech_piper.py`); `KONSULTA_TTS` picks one;
- `ReadAloud` keeps what was synthesised in the `voice_clips` table, keyed by
  (engine, language, voice, text), so a flow version or a broadcast is synthesised once
  per language whatever the number of citizens, and remembers Telegram's `file_id` of
  the first upload so the audio itself goes over the wire once;
- the sender (bot/telegram/sender.py) asks `ReadAloud` for the note of a voice row
  right before it sends it, so synthesis never runs inside a citizen's transaction.

Without an engine (`KONSULTA_TTS=off`, or espeak-ng not installed) nothing breaks: no
"Listen" button is offered, /voice on says voice messages are not available, and the
text is there as always.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import soundfile as sf  # type: ignore[import-untyped]

from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from numpy.typing import NDArray


log = logging.getLogger(__name__)

__all__ = [
    "OPUS_RATE",
    "Clip",
    "ReadAloud",
    "SpeechEngine",
    "SpeechUnavailable",
    "VoiceNote",
    "encode_voice",
    "speakable",
]

#: libsndfile's Opus encoder takes 8, 12, 16, 24 or 48 kHz; Opus itself runs at 48.
OPUS_RATE = 48_000
_OPUS_RATES = frozenset({8_000, 12_000, 16_000, 24_000, 48_000})
#: About 30 kbit/s, like Telegram's own voice notes (libsndfile's default is ~130).
OPUS_COMPRESSION = 0.9
#: Synthesis runs in threads; two at a time keeps a small server responsive.
MAX_SYNTHESES = 2


class SpeechUnavailable(RuntimeError):
    """The configured engine cannot speak (not installed, no voice): the message says
    what to install or where to put what."""


@dataclass(frozen=True)
class Clip:
    """Audio ready for sendVoice: OGG/Opus bytes and how long they play."""

    audio: bytes
    duration: float


class SpeechEngine(Protocol):
    """Text in, OGG/Opus out. `synthesise` blocks (a subprocess, an encoder): callers
    run it in a thread."""

    #: Goes into the cache key, so switching engines never replays the other's audio.
    name: str

    def voice(self, language: str) -> str | None:
        """The engine's voice for a bare language code ("pl"), None if it has none."""
        ...

    def synthesise(self, text: str, voice: str) -> Clip: ...


def encode_voice(samples: NDArray[np.float32], rate: int) -> Clip:
    """Mono samples as OGG/Opus, resampled to 48 kHz when libsndfile's Opus encoder
    would refuse the rate (espeak-ng speaks at 22050 Hz)."""
    if samples.ndim > 1:
        samples = samples.mean(axis=1).astype(np.float32)
    if rate not in _OPUS_RATES:
        # Linear interpolation: plenty for speech, and no resampling library to carry.
        count = max(1, round(len(samples) * OPUS_RATE / rate))
        positions = np.arange(count, dtype=np.float64) * (rate / OPUS_RATE)
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
        rate = OPUS_RATE
    buffer = io.BytesIO()
    sf.write(
        buffer, samples, rate, format="OGG", subtype="OPUS", compression_level=OPUS_COMPRESSION
    )
    return Clip(buffer.getvalue(), len(samples) / rate)


def decode_wav(wav: bytes) -> tuple[NDArray[np.float32], int]:
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=False)
    return samples, int(rate)


#: Pictographs and marks a voice would spell out ("🔊", "✅") or stumble on.
_SILENT = {"So", "Sk", "Cs", "Co", "Cn", "Cf"}
_SPACES = re.compile(r"[ \t]+")


def speakable(text: str) -> str:
    """The text as it should be read: no emoji, no invisible marks, tidy spacing."""
    kept = "".join(" " if unicodedata.category(c) in _SILENT else c for c in text)
    lines = (_SPACES.sub(" ", line).strip() for line in kept.splitlines())
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class VoiceNote:
    """What sendVoice needs for one text: Telegram's `file_id` once the clip was
    uploaded, else the audio; `key` names the clip, to remember the `file_id` by."""

    key: str
    duration: int
    file_id: str | None = None
    audio: bytes | None = None


class Units(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


class ReadAloud:
    """The voice notes of texts, each synthesised once (see the module docstring)."""

    def __init__(self, engine: SpeechEngine | None, units: Units | None) -> None:
        self.engine = engine
        self._units = units
        self._syntheses = asyncio.Semaphore(MAX_SYNTHESES)
        self._busy: dict[str, asyncio.Lock] = {}
        #: How many texts this process synthesised (tests check the cache with it).
        self.synthesised = 0

    @property
    def available(self) -> bool:
        return self.engine is not None and self._units is not None

    def speaks(self, language: str) -> bool:
        """Whether a text in `language` can be read aloud here."""
        return (
            self.available and self.engine is not None and self.engine.voice(language) is not None
        )

    @staticmethod
    def key(engine: str, voice: str, language: str, text: str) -> str:
        return hashlib.sha256("\0".join((engine, voice, language, text)).encode()).hexdigest()

    async def note(self, text: str, language: str) -> VoiceNote | None:
        """The voice note of `text` in `language`; None when there is nothing to say or
        no voice for the language. Synthesised (off the event loop) only the first time."""
        engine, units = self.engine, self._units
        spoken = speakable(text)
        if engine is None or units is None or not spoken:
            return None
        voice = engine.voice(language)
        if voice is None:
            return None
        key = self.key(engine.name, voice, language, spoken)
        # Two sends of one new text in this process synthesise it once: the second
        # waits, then finds the clip the first committed.
        lock = self._busy.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._note(units, engine, key, voice, language, spoken)
        finally:
            self._busy.pop(key, None)

    async def _note(
        self, units: Units, engine: SpeechEngine, key: str, voice: str, language: str, text: str
    ) -> VoiceNote:
        async with units(read_only=True) as uow:
            clip = await uow.voice_clips.get(key)
            if clip is not None:
                return _note(key, clip.duration, clip.file_id, clip.audio)
        async with self._syntheses:
            made = await asyncio.to_thread(engine.synthesise, text, voice)
        self.synthesised += 1
        async with units() as uow:
            await uow.voice_clips.add(
                key,
                engine=engine.name,
                voice=voice[:64],
                language=language,
                audio=made.audio,
                duration=made.duration,
            )
            await uow.commit()
        return _note(key, made.duration, None, made.audio)

    async def uploaded(self, key: str, file_id: str) -> None:
        """Telegram took the clip: from now on it is sent by `file_id`."""
        if self._units is None:
            return
        async with self._units() as uow:
            await uow.voice_clips.set_file_id(key, file_id)
            await uow.commit()


def _note(key: str, duration: float, file_id: str | None, audio: bytes) -> VoiceNote:
    seconds = max(1, round(duration))
    if file_id:
        return VoiceNote(key, seconds, file_id=file_id)
    return VoiceNote(key, seconds, audio=audio)
