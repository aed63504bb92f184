"""Staff hear a citizen's voice note on the dashboard (issue 15.2, the smallest part).

The dashboard fetches the note through the Bot API (here the emulator, which holds the
file as Telegram would), only for staff of the consultation's organisation; each
listen is audited, and the audio is sent with `Cache-Control: no-store`.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
import soundfile as sf

from emulator import EmulatorConfig, start_emulator
from emulator.server import Emulator
from konsulta.bootstrap import App, build_app
from tests.review.conftest import Browser, add_run, logged_in, seed_organisations, settings_for

AUDIO = re.compile(r'<audio class="voice-note"[^>]* src="(/answers/\d+/voice)"')


def spoken_note(seconds: float = 2.0) -> bytes:
    rate = 48000
    tone = 0.2 * np.sin(np.linspace(0, 220 * 2 * np.pi * seconds, int(rate * seconds)))
    buffer = io.BytesIO()
    sf.write(buffer, tone.astype(np.float32), rate, format="OGG", subtype="OPUS")
    return buffer.getvalue()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await start_emulator("127.0.0.1", 0, EmulatorConfig())
    try:
        yield emu
    finally:
        await emu.close()


@pytest.fixture
async def app(migrated_url: str, emulator: Emulator) -> AsyncIterator[App]:
    """The dashboard's app, its Bot API the emulator."""
    built = await build_app(
        settings_for(migrated_url, api_base_url=emulator.base_url), migrate=False
    )
    try:
        await seed_organisations(built)
        yield built
    finally:
        await built.close()


async def test_staff_hear_a_voice_note_and_the_listen_is_audited(
    app: App, emulator: Emulator, browser_factory: Callable[[], Browser]
) -> None:
    note = spoken_note()
    stored = emulator.state.store_file(note, "voice", file_name=None, mime_type="audio/ogg")
    await add_run(
        app,
        "park-survey",
        2001,
        {"idea": {"voice": stored.file_id, "duration": 2}},
        display={"idea": "Voice note"},
    )
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = await staff.get("/consultations/park-survey/texts")
    [url] = AUDIO.findall(page.text)

    heard = await staff.get(url)
    assert heard.status_code == 200 and heard.content == note
    assert heard.headers["content-type"] == "audio/ogg"
    assert heard.headers["cache-control"] == "no-store"
    async with app.uow() as uow:
        [listen] = await uow.audit.search(organisation_id=None, action="listen")
    assert listen.target is not None and listen.target.startswith("park-survey/answer/")

    # A player reading the end of the file (to learn its length) gets that part, and
    # that is not another listen.
    tail = await staff.get(url, headers={"range": "bytes=100-"})
    assert tail.status_code == 206 and tail.content == note[100:]
    assert tail.headers["content-range"] == f"bytes 100-{len(note) - 1}/{len(note)}"
    assert tail.headers["cache-control"] == "no-store"
    beyond = await staff.get(url, headers={"range": f"bytes={len(note)}-"})
    assert beyond.status_code == 416

    # Another organisation's staff cannot even tell that the note exists.
    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(url)).status_code == 404
    async with app.uow() as uow:
        assert len(await uow.audit.search(organisation_id=None, action="listen")) == 1


async def test_a_spoken_idea_is_heard_typed_up_by_the_moderator_and_only_then_approved(
    app: App, emulator: Emulator, browser_factory: Callable[[], Browser]
) -> None:
    """A resident spoke their idea on a statements step; others must read it in words."""
    note = spoken_note()
    stored = emulator.state.store_file(note, "voice", file_name=None, mime_type="audio/ogg")
    pid = await add_run(app, "park-survey", 2003, {}, language="pl")
    async with app.uow() as uow:
        citizen = await uow.citizens.get_by_participant_id(pid)
        assert citizen is not None
        [run] = await uow.runs.list_for_citizen(citizen.id)
        statement = await uow.statements.add(
            run.consultation_id,
            "ideas",
            "🎤",
            "pl",
            author_run_id=run.id,
            voice={"file_id": stored.file_id, "duration": 2},
        )
        await uow.commit()
    queue = "/consultations/park-survey/statements"
    url = f"{queue}/{statement.id}/voice"
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = await staff.get(queue)
    assert f'src="{url}"' in page.text

    heard = await staff.get(url)
    assert heard.status_code == 200 and heard.content == note
    assert heard.headers["cache-control"] == "no-store"
    async with app.uow() as uow:
        [listen] = await uow.audit.search(organisation_id=None, action="listen")
    assert listen.target == f"park-survey/statement/{statement.id}"

    # Approving "🎤" would show others an emoji: it is typed up first.
    await staff.post(f"{queue}/{statement.id}/approve")
    async with app.uow() as uow:
        still = await uow.statements.get(run.consultation_id, statement.id)
        assert still is not None and still.status == "pending"
    await staff.post(f"{queue}/{statement.id}/correct", {"text": "Więcej ławek przy rzece"})
    await staff.post(f"{queue}/{statement.id}/approve")
    async with app.uow() as uow:
        live = await uow.statements.get(run.consultation_id, statement.id)
        assert live is not None and live.status == "approved"
        assert live.shown_text == "Więcej ławek przy rzece"

    other = await logged_in(browser_factory, "staff-b@example.org")
    assert (await other.get(url)).status_code == 404
