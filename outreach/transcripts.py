"""Machine transcripts of voice answers (`KONSULTA_STT`, docs/speech.md).

A few notes per run: each is fetched through the Bot API (by the function the bot
process hands in), transcribed in a thread, and its words stored beside the note.
Only answers without a transcript are taken, so a note heard twice by two processes
costs some CPU, never a second transcript. A note that fails is left alone until the
process restarts (logged once), so one bad note never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from konsulta.bootstrap import App

__all__ = ["FetchFile", "Transcripts"]

log = logging.getLogger(__name__)

#: Downloads a Telegram file by its file_id.
FetchFile = Callable[[str], Awaitable[bytes]]

#: Notes per run: a run holds up no one (it has a job of its own), but stays short.
BATCH = 3


class Transcripts:
    def __init__(self, app: App, fetch: FetchFile | None) -> None:
        self.app = app
        self.fetch = fetch
        self._failed: set[int] = set()

    @property
    def on(self) -> bool:
        return self.app.transcriber is not None and self.fetch is not None

    async def run(self, limit: int = BATCH) -> int:
        """Transcribe up to `limit` voice notes; returns how many were stored."""
        transcriber, fetch = self.app.transcriber, self.fetch
        if transcriber is None or fetch is None:
            return 0
        async with self.app.uow(read_only=True) as uow:
            due = await uow.answers.untranscribed_voice(limit, skip=self._failed)
        stored = 0
        for answer_id, file_id, language in due:
            try:
                audio = await fetch(file_id)
                text = await asyncio.to_thread(transcriber.transcribe, audio, language)
            except Exception as error:  # an engine or the Bot API: skip this note
                self._failed.add(answer_id)
                log.warning("no transcript for answer %s: %s", answer_id, error)
                continue
            async with self.app.uow() as uow:
                if await uow.answers.set_transcript(answer_id, file_id, text, transcriber.name):
                    stored += 1
                await uow.commit()
        return stored
