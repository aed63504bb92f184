"""Machine transcripts of voice answers (issue 15.2, `KONSULTA_STT`).

No real model here: a fake transcriber is handed to the `App` the way bootstrap hands
a real one, and the outreach job fetches the note through a stand-in for the Bot API.
The engines themselves are checked for the one thing a deployment without them
sees: a clear error naming what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from konsulta.bootstrap import App
from konsulta.settings import Settings
from konsulta.transcription import (
    SAMPLE_RATE,
    TranscriptionUnavailable,
    VoskTranscriber,
    WhisperTranscriber,
    decode_voice,
    transcriber,
)
from outreach.scheduler import Outreach
from storage.citizen_data import citizen_data
from storage.models import Answer
from tests.review.conftest import Browser, add_run, logged_in
from tests.review.test_dashboard_voice import spoken_note

HINT = 'class="hint stt-hint"'


class FakeTranscriber:
    name = "fake"

    def __init__(self) -> None:
        self.heard: list[tuple[int, str]] = []

    def transcribe(self, ogg: bytes, language: str) -> str:
        self.heard.append((len(decode_voice(ogg)), language))
        return "The swings by the pond are broken"


async def voice_answer(app: App, note: bytes) -> tuple[int, dict[str, bytes]]:
    files = {"voice-file-1": note}
    await add_run(
        app,
        "park-survey",
        3001,
        {"idea": {"voice": "voice-file-1", "duration": 2}},
        language="pl",
        display={"idea": "Voice note"},
    )
    async with app.uow() as uow:
        [answer] = [a for a in await uow.answers.untranscribed_voice(10)]
    return answer[0], files


async def test_a_voice_answer_gets_a_machine_transcript_found_and_coded(
    app: App, browser_factory: Callable[[], Browser]
) -> None:
    note = spoken_note(2.0)
    answer_id, files = await voice_answer(app, note)
    await add_run(
        app, "park-survey", 3002, {"idea": "More benches"}, display={"idea": "More benches"}
    )
    fake = FakeTranscriber()
    app.transcriber = fake

    async def fetch(file_id: str) -> bytes:
        return files[file_id]

    outreach = Outreach(app, fetch_file=fetch)
    assert await outreach.transcribe() == 1
    assert await outreach.transcribe() == 0  # only notes without a transcript
    [(samples, language)] = fake.heard
    assert language == "pl" and abs(samples - 2 * SAMPLE_RATE) < SAMPLE_RATE // 10
    async with app.uow() as uow:
        stored = await uow.get(Answer, answer_id)
        assert stored is not None
        assert stored.transcript == "The swings by the pond are broken"
        assert stored.transcript_by == "fake"
        # The citizen's own copy of their data has it too.
        run = await uow.runs.get(stored.run_id)
        assert run is not None
        mine = await uow.read(citizen_data, run.citizen_id)
        [copy] = mine["runs"][0]["answers"]
        assert copy["machine_transcript"] == "The swings by the pond are broken"

    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = await staff.get("/consultations/park-survey/texts")
    assert '<span class="badge">Machine transcript</span>' in page.text
    assert "The swings by the pond are broken" in page.text
    assert HINT not in page.text

    found = await staff.get("/consultations/park-survey/texts", params={"q": "swings POND"})
    assert f'id="answer-{answer_id}"' in found.text and "More benches" not in found.text
    missed = await staff.get("/consultations/park-survey/texts", params={"q": "fountain"})
    assert f'id="answer-{answer_id}"' not in missed.text

    # Coded like any text answer (coding is by answer id).
    coded = await staff.post(
        f"/consultations/park-survey/answers/{answer_id}/coding",
        {"mark": "complaint", "back": "/consultations/park-survey/texts"},
    )
    assert coded.status_code == 303
    async with app.uow() as uow:
        assert (await uow.codings.codings([answer_id]))[answer_id].mark == "complaint"


async def test_without_stt_the_page_says_how_to_add_it(
    app: App, browser_factory: Callable[[], Browser]
) -> None:
    assert app.transcriber is None  # KONSULTA_STT is off by default
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await add_run(
        app, "park-survey", 3002, {"idea": "More benches"}, display={"idea": "More benches"}
    )
    assert HINT not in (await staff.get("/consultations/park-survey/texts")).text

    await voice_answer(app, spoken_note(1.0))
    page = await staff.get("/consultations/park-survey/texts")
    assert HINT in page.text and "KONSULTA_STT_MODELS" in page.text
    assert 'class="transcript"' not in page.text
    # And the job does nothing without an engine.
    assert await Outreach(app).transcribe() == 0


def test_decoding_a_voice_note_gives_16_khz_mono() -> None:
    samples = decode_voice(spoken_note(1.5))
    assert samples.dtype.name == "float32" and samples.ndim == 1
    assert abs(len(samples) - 1.5 * SAMPLE_RATE) < SAMPLE_RATE // 10


def settings(stt: str, models: Path | None) -> Settings:
    return Settings(stt=stt, stt_models=models, pseudonym_secret=SecretStr("x" * 32))  # type: ignore[arg-type]


def test_vosk_without_its_package_or_a_model_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(TranscriptionUnavailable, match="'vosk' is not installed"):
        VoskTranscriber(tmp_path)
    with pytest.raises(TranscriptionUnavailable, match="faster-whisper"):
        WhisperTranscriber(tmp_path)
    with caplog.at_level(logging.WARNING, logger="konsulta.transcription"):
        assert transcriber(settings("vosk", tmp_path)) is None
    [warning] = caplog.records
    assert "machine transcripts are off" in warning.getMessage()
    assert "vosk" in warning.getMessage()

    # The package is there (pretend), the model is not.
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    with pytest.raises(TranscriptionUnavailable, match="KONSULTA_STT_MODELS is not set"):
        VoskTranscriber(None)
    with pytest.raises(TranscriptionUnavailable, match="does not exist"):
        VoskTranscriber(tmp_path / "gone")
    with pytest.raises(TranscriptionUnavailable, match="no Vosk model in"):
        VoskTranscriber(tmp_path)
    with pytest.raises(TranscriptionUnavailable, match="no Whisper model in"):
        WhisperTranscriber(tmp_path)

    # Vosk's models are found by the language in their folder names.
    (tmp_path / "vosk-model-small-pl-0.22").mkdir()
    (tmp_path / "vosk-model-uk-v3").mkdir()
    found = VoskTranscriber(tmp_path)
    assert sorted(found.folders) == ["pl", "uk"]
    with pytest.raises(TranscriptionUnavailable, match="no Vosk model for 'ar'"):
        found.transcribe(spoken_note(0.5), "ar")


def test_stt_is_off_by_default() -> None:
    assert transcriber(settings("off", None)) is None


async def test_the_scheduler_runs_the_job_only_with_an_engine_and_a_bot(app: App) -> None:
    async def fetch(file_id: str) -> bytes:
        return b""

    for transcriber_, fetch_, expected in (
        (None, fetch, False),
        (FakeTranscriber(), None, False),
        (FakeTranscriber(), fetch, True),
    ):
        app.transcriber = transcriber_
        outreach = Outreach(app, fetch_file=fetch_)
        outreach.start()
        try:
            assert outreach._scheduler is not None
            assert (outreach._scheduler.get_job("transcripts") is not None) is expected
        finally:
            await outreach.shutdown()
