"""espeak-ng, the default voice: offline, in Debian (`apt-get install espeak-ng`), and
it speaks all twelve of Konsulta's languages.

It sounds robotic, but it is clear, small (no model files) and fast (a question takes
well under a second on one core). The text goes in on standard input, so nothing a
flow says can be taken for an option, and WAV comes out on standard output.
"""

from __future__ import annotations

import shutil
import subprocess

from konsulta.speech import Clip, SpeechUnavailable, decode_wav, encode_voice

__all__ = ["RATE_WPM", "VOICES", "EspeakEngine"]

#: Konsulta's languages and espeak-ng's voice for each (`espeak-ng --voices`).
VOICES = {
    "pl": "pl",
    "en": "en-gb",
    "uk": "uk",
    "ru": "ru",
    "et": "et",
    "es": "es",
    "hu": "hu",
    "nl": "nl",
    "it": "it",
    "sv": "sv",
    "fi": "fi",
    "ar": "ar",
}
#: Words per minute: slower than espeak-ng's 175, for seniors and for people
#: listening in a language they are still learning.
RATE_WPM = 145
#: Longest a synthesis may take before it counts as failed.
TIMEOUT_SECONDS = 60


class EspeakEngine:
    name = "espeak"

    def __init__(self, binary: str = "espeak-ng") -> None:
        path = shutil.which(binary)
        if path is None:
            raise SpeechUnavailable(
                f"{binary} is not installed (Debian/Ubuntu: apt-get install espeak-ng), "
                "or set KONSULTA_TTS=off"
            )
        self.binary = path

    def voice(self, language: str) -> str | None:
        return VOICES.get(language)

    def synthesise(self, text: str, voice: str) -> Clip:
        done = subprocess.run(
            [self.binary, "-v", voice, "-s", str(RATE_WPM), "-b", "1", "--stdout"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0 or not done.stdout:
            error = done.stderr.decode("utf-8", "replace").strip()
            raise SpeechUnavailable(f"espeak-ng failed for voice {voice}: {error}")
        samples, rate = decode_wav(done.stdout)
        return encode_voice(samples, rate)
