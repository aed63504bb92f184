"""Machine transcripts of citizens' voice notes (`KONSULTA_STT`, docs/speech.md).

An optional plug-in: `vosk` or `whisper` (faster-whisper), each reading a model from
the folder the operator provides (`KONSULTA_STT_MODELS`); none is bundled and nothing
is downloaded. The packages are imported only when chosen, so a deployment without
them loses nothing. Building an engine only checks that the package and a model are
there (cheap: the dashboard does it too, to say whether transcripts are coming); the
model itself is loaded on the first note.

Transcription is CPU work: callers run `transcribe` off the event loop
(`asyncio.to_thread`).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile as sf  # type: ignore[import-untyped]
from numpy.typing import NDArray

from konsulta.settings import Settings

__all__ = [
    "Transcriber",
    "TranscriptionUnavailable",
    "VoskTranscriber",
    "WhisperTranscriber",
    "decode_voice",
    "transcriber",
]

log = logging.getLogger(__name__)

#: What both engines listen at.
SAMPLE_RATE = 16000


class TranscriptionUnavailable(RuntimeError):
    """The engine cannot run here; the message names what is missing."""


class Transcriber(Protocol):
    #: Stored with each transcript, marking it as a machine's ("vosk", "whisper").
    name: str

    def transcribe(self, ogg: bytes, language: str) -> str:
        """The words of an OGG/Opus voice note spoken in `language` ("" if none)."""
        ...


def decode_voice(ogg: bytes) -> NDArray[np.float32]:
    """A voice note (OGG/Opus, as Telegram sends it) as mono 16 kHz samples."""
    samples, rate = sf.read(io.BytesIO(ogg), dtype="float32", always_2d=False)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if rate != SAMPLE_RATE and len(samples):
        # Linear interpolation, as for reading aloud: plenty for speech.
        count = max(1, round(len(samples) * SAMPLE_RATE / rate))
        positions = np.arange(count, dtype=np.float64) * (rate / SAMPLE_RATE)
        samples = np.interp(positions, np.arange(len(samples)), samples)
    return np.asarray(samples, dtype=np.float32)


def _package(name: str, install: str) -> None:
    if importlib.util.find_spec(name) is None:
        raise TranscriptionUnavailable(
            f"the Python package {name!r} is not installed (pip install {install})"
        )


def _folder(models: Path | None, engine: str) -> Path:
    if models is None:
        raise TranscriptionUnavailable(
            f"KONSULTA_STT_MODELS is not set (a folder of {engine} models)"
        )
    if not models.is_dir():
        raise TranscriptionUnavailable(f"the model folder {models} does not exist")
    return models


class VoskTranscriber:
    """Vosk (Kaldi): small, fast on one core; one model folder per language, named as
    Vosk's models come (`vosk-model-small-pl-0.22`) or just `pl`."""

    name = "vosk"

    def __init__(self, models: Path | None) -> None:
        _package("vosk", "vosk")
        folder = _folder(models, "Vosk")
        self.folders: dict[str, Path] = {}
        for child in sorted(folder.iterdir()):
            if child.is_dir():
                for part in child.name.lower().split("-"):
                    if len(part) == 2 and part.isalpha():  # the first code in the name
                        self.folders.setdefault(part, child)
                        break
        if not self.folders:
            raise TranscriptionUnavailable(
                f"no Vosk model in {folder} "
                "(one folder per language, e.g. vosk-model-small-pl-0.22)"
            )
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def transcribe(self, ogg: bytes, language: str) -> str:
        folder = self.folders.get(language)
        if folder is None:
            raise TranscriptionUnavailable(f"no Vosk model for {language!r}")
        vosk = importlib.import_module("vosk")
        with self._lock:
            model = self._models.get(language)
            if model is None:
                model = self._models[language] = vosk.Model(str(folder))
        recogniser = vosk.KaldiRecognizer(model, SAMPLE_RATE)
        pcm = (np.clip(decode_voice(ogg), -1.0, 1.0) * 32767).astype("<i2").tobytes()
        recogniser.AcceptWaveform(pcm)
        return str(json.loads(recogniser.FinalResult()).get("text", "")).strip()


class WhisperTranscriber:
    """Whisper through faster-whisper (CTranslate2), on the CPU: one multilingual
    model, a folder with `model.bin` (the folder itself or one inside it)."""

    name = "whisper"

    def __init__(self, models: Path | None) -> None:
        _package("faster_whisper", "faster-whisper")
        folder = _folder(models, "Whisper")
        found = [folder] if (folder / "model.bin").is_file() else []
        found += sorted(p.parent for p in folder.glob("*/model.bin"))
        if not found:
            raise TranscriptionUnavailable(
                f"no Whisper model in {folder} (a CTranslate2 model folder with model.bin)"
            )
        self.folder = found[0]
        self._model: Any = None
        self._lock = threading.Lock()

    def transcribe(self, ogg: bytes, language: str) -> str:
        with self._lock:
            if self._model is None:
                whisper = importlib.import_module("faster_whisper")
                self._model = whisper.WhisperModel(
                    str(self.folder), device="cpu", compute_type="int8"
                )
            segments, _info = self._model.transcribe(decode_voice(ogg), language=language)
            return " ".join(str(s.text).strip() for s in segments).strip()


def transcriber(settings: Settings) -> Transcriber | None:
    """The engine `KONSULTA_STT` names, or None (off, or it cannot run: one warning
    says what is missing, and voice notes simply stay without a transcript)."""
    try:
        if settings.stt == "vosk":
            return VoskTranscriber(settings.stt_models)
        if settings.stt == "whisper":
            return WhisperTranscriber(settings.stt_models)
    except TranscriptionUnavailable as error:
        log.warning("machine transcripts are off: %s", error)
    return None
