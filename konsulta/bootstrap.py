"""The one place that wires Konsulta together (the `bootstrap` of cosmicpython).

Commands, the bot runtime and tests all build an `App` from Settings here, so the
database engine, catalogs and services exist once per process and are passed down,
never imported as globals.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from dialogs.events import Translator
from konsulta.clock import Clock, ControllableClock, SystemClock
from konsulta.flow_library import FlowLibrary
from konsulta.i18n import Catalogs, make_i18n, translator
from konsulta.settings import Settings
from konsulta.speech import ReadAloud, SpeechEngine, SpeechUnavailable
from konsulta.speech_espeak import EspeakEngine
from konsulta.speech_piper import PiperEngine
from konsulta.transcription import Transcriber, transcriber
from storage.engine import Engine, Sessionmaker, create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import Register
from storage.uow import Handoff, UnitOfWork, WriterTurns

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessionmaker: Sessionmaker
    i18n: Catalogs
    flows: FlowLibrary
    #: What time it is for outreach: real UTC, or moved by `konsulta clock advance`.
    clock: Clock = field(default_factory=SystemClock)
    #: SQLite's writers take turns in asyncio (None on PostgreSQL).
    writer_turns: WriterTurns | None = None
    #: The sender of this process, once the bot runs one: replies queued by a unit of
    #: work go to it straight from memory (see `OutboxRepository.queue`).
    handoff: Handoff | None = None
    #: Voice messages of the bot's texts (text only when no engine can run here).
    speech: ReadAloud = field(default_factory=lambda: ReadAloud(None, None))
    #: Machine transcripts of voice notes (None: `KONSULTA_STT` off or cannot run).
    transcriber: Transcriber | None = None

    def uow(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work; `read_only` ones never wait for (or hold up) writers."""
        return UnitOfWork(
            self.sessionmaker, turns=self.writer_turns, read_only=read_only, handoff=self.handoff
        )

    def texts(self, language: str, register: Register = Register.FORMAL) -> Translator:
        """The bot's texts in `language`, addressing the citizen in `register` (that of
        the organisation whose consultation it is: see `Conversations.texts_for`)."""
        return translator(self.i18n, language, register)

    async def citizen_texts(
        self, uow: UnitOfWork, citizen_id: int | None, language: str
    ) -> Translator:
        """The bot's texts for a citizen outside a consultation (/mydata, /consents,
        /delete): in the register of the organisation whose consultation they touched
        last, formal for someone who has answered none."""
        register = Register.FORMAL
        if citizen_id is not None:
            register = await uow.organisations.register_for_citizen(citizen_id)
        return self.texts(language, register)

    async def close(self) -> None:
        await self.engine.dispose()


async def build_app(settings: Settings, *, migrate: bool = True) -> App:
    if migrate:
        await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    clock: Clock = ControllableClock(sessionmaker) if settings.controllable_clock else SystemClock()
    await clock.refresh()
    turns = WriterTurns() if engine.dialect.name == "sqlite" else None

    def units(*, read_only: bool = False) -> UnitOfWork:
        return UnitOfWork(sessionmaker, turns=turns, read_only=read_only)

    return App(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        i18n=make_i18n(settings.default_language),
        flows=FlowLibrary(),
        clock=clock,
        writer_turns=turns,
        speech=ReadAloud(speech_engine(settings), units),
        transcriber=transcriber(settings),
    )


def speech_engine(settings: Settings) -> SpeechEngine | None:
    """The engine `KONSULTA_TTS` names, or None (off). An engine that cannot run here
    leaves the bot text-only, with the reason in the log: citizens never lose the text
    because a voice is missing."""
    try:
        if settings.tts == "espeak":
            return EspeakEngine()
        if settings.tts == "piper":
            return PiperEngine(settings.tts_models)
    except SpeechUnavailable as error:
        log.warning("reading aloud is off: %s", error)
    return None


@asynccontextmanager
async def running_app(settings: Settings, *, migrate: bool = True) -> AsyncIterator[App]:
    app = await build_app(settings, migrate=migrate)
    try:
        yield app
    finally:
        await app.close()
