"""Piper: more natural voices than espeak-ng, from model files the operator provides.

Konsulta never downloads a voice. The operator installs Piper (the `piper` command of
the `piper-tts` package) and puts one voice per language in `KONSULTA_TTS_MODELS`,
named after the language, as Piper's voices come: `pl_PL-gosia-medium.onnx` with its
`pl_PL-gosia-medium.onnx.json` beside it. A language without a voice there is not read
aloud (the text is sent as always).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from konsulta.speech import Clip, SpeechUnavailable, decode_wav, encode_voice

__all__ = ["PiperEngine"]

TIMEOUT_SECONDS = 120


class PiperEngine:
    name = "piper"

    def __init__(self, models: Path | None, binary: str = "piper") -> None:
        if models is None:
            raise SpeechUnavailable(
                "KONSULTA_TTS=piper needs KONSULTA_TTS_MODELS: a folder with one Piper "
                "voice per language (<lang>_<REGION>-<name>.onnx and its .onnx.json)"
            )
        if not models.is_dir():
            raise SpeechUnavailable(f"the Piper voices folder {models} does not exist")
        self.models = models
        self.voices = _voices(models)
        if not self.voices:
            raise SpeechUnavailable(
                f"no Piper voice in {models}: put <lang>_<REGION>-<name>.onnx files there "
                "(with their .onnx.json)"
            )
        path = shutil.which(binary)
        if path is None:
            raise SpeechUnavailable(
                f"Piper is not installed (the `{binary}` command, pip package piper-tts); "
                f"its voices would be read from {models}"
            )
        self.binary = path

    def voice(self, language: str) -> str | None:
        """The voice's name ("pl_PL-gosia-medium"), not its path: moving the folder
        keeps the clips already made."""
        model = self.voices.get(language)
        return model.stem if model is not None else None

    def synthesise(self, text: str, voice: str) -> Clip:
        model = next((m for m in self.voices.values() if m.stem == voice), None)
        if model is None:
            raise SpeechUnavailable(f"no Piper voice {voice} in {self.models}")
        with tempfile.TemporaryDirectory(prefix="konsulta-piper-") as folder:
            wav = Path(folder) / "speech.wav"
            done = subprocess.run(
                [self.binary, "--model", str(model), "--output_file", str(wav)],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
            if done.returncode != 0 or not wav.exists():
                error = done.stderr.decode("utf-8", "replace").strip()[-500:]
                raise SpeechUnavailable(f"piper failed with {voice}: {error}")
            samples, rate = decode_wav(wav.read_bytes())
        return encode_voice(samples, rate)


def _voices(models: Path) -> dict[str, Path]:
    """language -> the first voice for it, by file name ("pl_PL-gosia-medium.onnx")."""
    found: dict[str, Path] = {}
    for model in sorted(models.glob("*.onnx")):
        if not model.with_name(model.name + ".json").exists():
            continue
        language = model.name.split("_", 1)[0].split("-", 1)[0].lower()
        found.setdefault(language, model)
    return found
