"""One citizen event, one unit of work: find the run, let the engine decide, persist.

Every adapter (the terminal simulator, the Telegram runtime) hands citizen events to
`Conversations` and shows what comes back; none of them touches the engine or the
database directly. Consent is asked here, before the engine's first question, because
it belongs to the consultation and the deployment rather than to the dialog: without
a "yes" nothing but the refusal itself is stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from babel import Locale, UnknownLocaleError

from dialogs import engine
from dialogs.answers import Accepted, Choice, WordCommand, fold, parse_yes_no, word_command
from dialogs.events import (
    Button,
    ButtonPress,
    CommandInput,
    Event,
    Message,
    TextInput,
    Translator,
    Turn,
)
from dialogs.schema import Flow, Step
from konsulta.bootstrap import App
from konsulta.catalogs import LANGUAGES
from konsulta.deeplinks import preset_of, slug_of
from konsulta.followup_flow import followup_flow, followup_id_of
from konsulta.ideas import IdeaRouting, deck_for, store_turn
from konsulta.menu import help_text, stopped_text
from konsulta.outbound import Delivery as Delivery
from konsulta.outbound import OutboundMessage, deliver, read_aloud
from storage.models import (
    Citizen,
    ConsentPurpose,
    Consultation,
    ConsultationStatus,
    InviteLink,
    OutboxKind,
    Register,
    Run,
    ThreadDirection,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

#: Seconds a cached language of the bot's texts is trusted (see Conversations).
LANGUAGE_TTL = 30.0

#: Pseudo step ids of the questions the service itself asks.
CONSENT_STEP = "~consent"
PICK_STEP = "~pick"
LANGUAGE_STEP = "~language"
#: The question asked before consent when the consultation is not offered in the
#: citizen's language: which of its languages? (Its buttons carry the run, like answers.)
CONSULTATION_LANGUAGE_STEP = "~in-language"
#: The consent question's control button that opens the language picker.
CHANGE_LANGUAGE = "~language"
#: A run's state before consent while that question waits for an answer.
CHOOSING_LANGUAGE = "choosing_language"
#: Telegram shows longer button labels cut off (and the catalog checks keep ours below).
MAX_BUTTON_LABEL = 64
#: Languages named after a title the citizen cannot read, at most this many.
MENU_LANGUAGES = 3
AGREE = "agree"
DECLINE = "decline"
#: The control button that asks for voice messages ("🔊 Listen"), on the consent and
#: on the list of consultations: wherever it is tapped, it means the same.
LISTEN = "~listen"


@dataclass(frozen=True)
class Who:
    """The person behind an event, as their channel identifies them."""

    channel: str
    user_id: int
    chat_id: int
    language_code: str | None = None
    name: str | None = None
    #: A person without a channel of their own (a leader helps them answer on the
    #: leader's phone): their citizen row; `chat_id` is then the leader's chat.
    citizen_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What to show the citizen, in which language, for which run."""

    messages: tuple[Message, ...]
    language: str
    run_id: int | None = None
    completed: bool = False
    #: Answer given in this event, shown under the tapped question when it is closed.
    answer: str | None = None
    #: Messages already on screen, now only read aloud (after "🔊 Listen").
    heard: tuple[Message, ...] = ()
    #: Answer given to a location or contact question (asked with a keyboard under the
    #: input field): echoed in a message that also takes that keyboard away.
    receipt: str | None = None
    #: A tapped button that answers nothing (an earlier copy of a question, another
    #: run's button): what the tap itself is answered with. Nothing else changes.
    stale: str | None = None


def message_payload(message: Message, run_id: int | None, language: str) -> dict[str, Any]:
    """An engine message as an outbox row keeps it (for outreach's own queueing)."""
    return message_payloads(message, run_id, language, listen=False)[0]


def message_payloads(
    message: Message, run_id: int | None, language: str, *, listen: bool
) -> list[dict[str, Any]]:
    """`message_payload`, and for a citizen who listens the same text read aloud (the
    rows outreach queues itself: reminders, follow-ups)."""
    shown = OutboundMessage.from_engine(
        message, run_id=run_id, language=language, edit_message_id=None
    )
    return [m.to_payload() for m in (read_aloud([shown]) if listen else [shown])]


def outbound_messages(
    outcome: Outcome, delivery: Delivery, *, listen: bool = False
) -> list[OutboundMessage]:
    """What `outcome` shows in the chat: first the tapped question closed with the
    answer under it, then the new messages (a toggle edits the tapped message); for a
    citizen who listens (`listen`), each new text followed by a voice message."""
    shown: list[OutboundMessage] = []
    source = delivery.source_message_id
    if outcome.answer is not None and source is not None:
        shown.append(
            OutboundMessage.close_question(
                source, delivery.source_text or "", outcome.answer, language=outcome.language
            )
        )
    if outcome.receipt is not None:
        shown.append(OutboundMessage.receipt(outcome.receipt, language=outcome.language))
    for message in outcome.messages:
        shown.append(
            OutboundMessage.from_engine(
                message, run_id=outcome.run_id, language=outcome.language, edit_message_id=source
            )
        )
    if not listen:
        return shown
    heard = [
        OutboundMessage.from_engine(
            m, run_id=outcome.run_id, language=outcome.language, edit_message_id=None
        )
        for m in outcome.heard
    ]
    return [
        *read_aloud(shown),
        *(OutboundMessage.spoken(m.heard_text, language=m.language) for m in heard),
    ]


class Conversations:
    """The citizens' side of one bot. `organisations`: the slugs of the organisations
    whose consultations it offers (None: every organisation's), so a municipality's
    own bot never lists, or opens by a link, another organisation's consultation."""

    def __init__(self, app: App, organisations: frozenset[str] | None = None) -> None:
        self.app = app
        self.organisations = organisations
        #: Which statements unite or split the opinion groups (statements steps).
        self.routing = IdeaRouting(lambda: app.uow(read_only=True))
        #: user id -> (stored language, register, when looked up): a cache, so the
        #: language and register of the bot's own texts cost no query on every update.
        #: Changes made here update the language at once; another process's change
        #: (and a register changed by starting another organisation's consultation)
        #: shows within LANGUAGE_TTL.
        self._languages: dict[int, tuple[str | None, Register, float]] = {}
        #: consultation id -> (its organisation's register, when looked up): a dialog's
        #: every update needs it; a change on the dashboard shows within LANGUAGE_TTL.
        self._registers: dict[int, tuple[Register, float]] = {}

    async def stored_language(self, user_id: int, channel: str = "telegram") -> str | None:
        """The language the citizen chose, if any (cached for a few seconds)."""
        return (await self._stored(user_id, channel))[0]

    async def stored_register(self, user_id: int, channel: str = "telegram") -> Register:
        """The register of the bot's texts for the citizen outside a dialog: that of the
        organisation whose consultation they touched last (cached for a few seconds)."""
        return (await self._stored(user_id, channel))[1]

    async def _stored(self, user_id: int, channel: str) -> tuple[str | None, Register]:
        cached = self._fresh(user_id)
        if cached is not None:
            return cached
        register = Register.FORMAL
        async with self.app.uow(read_only=True) as uow:
            citizen = await uow.citizens.find(user_id, channel=channel)
            if citizen is not None:
                register = await uow.organisations.register_for_citizen(citizen.id)
        language = citizen.language if citizen else None
        self._seen(user_id, language, register)
        return language, register

    def _fresh(self, user_id: int) -> tuple[str | None, Register] | None:
        """The cached language and register, if looked up less than LANGUAGE_TTL ago."""
        cached = self._languages.get(user_id)
        if cached is None or time.monotonic() - cached[2] >= LANGUAGE_TTL:
            return None
        return cached[0], cached[1]

    def _seen(self, user_id: int, language: str | None, register: Register) -> None:
        """Cache the citizen's language and register as just read: by the lookup above,
        or by a dialog's own transaction, so a citizen in a dialog costs the update's
        context (`stored_language`) no read transaction of its own (the values are as
        fresh as a lookup's). The cache is bounded: past 100,000 people it starts over."""
        if len(self._languages) > 100_000:
            self._languages.clear()
        self._languages[user_id] = (language, register, time.monotonic())

    def _remember_language(self, user_id: int, language: str) -> None:
        cached = self._languages.get(user_id)
        self._seen(user_id, language, cached[1] if cached is not None else Register.FORMAL)

    # --- languages -----------------------------------------------------------------

    def bot_language(self, citizen: Citizen, who: Who) -> str:
        """The citizen's stored choice, else Telegram's language_code, else the default."""
        available = set(self.app.i18n.available_locales)
        for candidate in (citizen.language, _base(who.language_code)):
            if candidate and candidate in available:
                return candidate
        return self.app.settings.default_language

    # --- entry points --------------------------------------------------------------

    async def open(
        self,
        who: Who,
        consultation: str | int | None,
        *,
        source: str,
        delivery: Delivery | None,
        menu: bool = False,
        community_id: int | None = None,
        resume_messages: bool = False,
    ) -> Outcome:
        """The citizen asks to take part (/start, a deep link, a menu tap, the simulator).

        An unfinished run of the same consultation resumes where it stopped; otherwise
        the consent question comes first. A community's invite link (or `community_id`)
        attributes the new run to that community. A payload "<slug>__<step>__<key>"
        (`konsulta.deeplinks`) opens `<slug>` with that answer preset after consent.
        `resume_messages` (/start) ends a /stop, in the same transaction.
        """
        async with self.app.uow() as uow:
            citizen = await self._citizen(uow, who)
            if resume_messages and citizen.stopped:
                await uow.citizens.set_flags(citizen, stopped=False)
            language = self.bot_language(citizen, who)
            texts = await self._opening_texts(uow, who, citizen, language)
            invite = await self._invite(uow, consultation)
            if invite is not None:
                community_id = invite.community_id
                consultation = invite.consultation_id
            elif isinstance(consultation, str):
                # "<slug>__<step>__<key>": the preset is read back from the run's
                # source ("link:<payload>") once the citizen consents.
                consultation = slug_of(consultation)
            target = await self._find(uow, consultation)
            if menu:
                outcome = await self._menu(uow, citizen, language, texts)
            elif target is None:
                if consultation is None and (run := await uow.runs.latest_active(citizen.id)):
                    outcome = await self._advance(uow, citizen, who, run, CommandInput("repeat"))
                else:
                    outcome = await self._menu(uow, citizen, language, texts, unknown=consultation)
            elif target.status != ConsultationStatus.OPEN:
                outcome = Outcome(
                    (
                        _notice(
                            texts.gettext(
                                "This consultation is closed. Thank you for your interest!"
                            )
                        ),
                    ),
                    language,
                )
            elif run := await uow.runs.get_active(citizen.id, target.id):
                outcome = await self._advance(uow, citizen, who, run, CommandInput("repeat"))
            else:
                outcome = await self._ask_consent(uow, citizen, who, target, source, community_id)
                if invite is not None:
                    await uow.invites.record_open(invite, outcome.language)
            await self._finish(uow, citizen, outcome, delivery)
            return outcome

    async def handle(
        self, who: Who, event: Event, *, delivery: Delivery | None, run_id: int | None = None
    ) -> Outcome:
        """Anything the citizen sends or taps while (possibly) in a dialog.

        `run_id` comes with a tapped button: a button of an earlier, finished or
        restarted run is old and answers nothing.
        """
        if isinstance(event, ButtonPress) and event.key == LISTEN:
            return await self.set_read_aloud(
                who, True, delivery=delivery, tapped_step=event.step_id
            )
        if isinstance(event, ButtonPress) and event.step_id == PICK_STEP:
            return await self.open(who, _int(event.key), source=who.channel, delivery=delivery)
        async with self.app.uow() as uow:
            newest: int | None = None  # the chat's newest question, for a tapped button
            tapped = (
                isinstance(event, ButtonPress)
                and delivery is not None
                and delivery.source_message_id is not None
            )
            found = await self._tapping_citizen(uow, who, delivery) if tapped else None
            if found is not None:
                citizen, run, newest = found
            else:
                citizen = await self._citizen(uow, who)
                run = await uow.runs.latest_active(citizen.id)
                if tapped and run is not None and delivery is not None:  # a leader's tap
                    newest = await uow.keyboards.newest(delivery.chat_id)
            language = self.bot_language(citizen, who)
            texts = await self.texts_for(uow, language, run=run, citizen=citizen)
            if run is None and (passed := await self._pass_on_to_staff(uow, citizen, event, texts)):
                outcome = Outcome((passed,), language)
            elif run is None:
                outcome = await self._menu(uow, citizen, language, texts, nothing_active=True)
            elif self._stale(run, event, run_id, delivery, newest):
                # An earlier copy of a question, or another run's button: the tap is
                # answered with a note, and nothing changes (no state, no messages).
                stale = texts.gettext(
                    "This button is out of date. Please use the newest question below."
                )
                outcome = Outcome((), language, run.id, stale=stale)
            elif run.consent_record_id is None:
                outcome = await self._consent_answer(uow, citizen, who, run, event)
            elif said := await self._typed_command(uow, citizen, who, run, event):
                outcome = said
            else:
                outcome = await self._advance(uow, citizen, who, run, event)
            await self._finish(uow, citizen, outcome, delivery)
            if run is not None and who.citizen_id is None:  # not a leader helping someone
                register = await self._register_of(uow, run.consultation_id)
                self._seen(who.user_id, citizen.language, register)
            return outcome

    @staticmethod
    def _stale(
        run: Run,
        event: Event,
        run_id: int | None,
        delivery: Delivery | None,
        newest: int | None,
    ) -> bool:
        """Whether a tapped button answers nothing now: it belongs to another run,
        names a question that is not the current one, or sits on a copy of the
        question older than `newest`, the newest one shown in the chat (read with the
        citizen and the run, `CitizenRepository.find_with_run`)."""
        if not isinstance(event, ButtonPress):
            return False
        if run_id is not None and run_id != run.id:
            return True
        # Before consent the language question and the consent's own buttons are
        # sorted out by `_consent_answer`. After it, a consent a question needs
        # (contact, naming) is asked before the question: its buttons count as current.
        current = run.state.get("current")
        if (
            run.consent_record_id is not None
            and event.step_id != current
            and event.step_id not in engine.CONSENT_QUESTIONS.values()
        ):
            return True
        if delivery is None or delivery.source_message_id is None:
            return False
        # Older than the newest copy noted; a newer one may not be noted yet (a tap
        # quicker than the adapter's note), and it is the newest then.
        return newest is not None and delivery.source_message_id < newest

    async def _pass_on_to_staff(
        self, uow: UnitOfWork, citizen: Citizen, event: Event, texts: Translator
    ) -> Message | None:
        """A citizen with no dialog writes text after staff wrote to them (a reply from
        the dashboard): the text joins that organisation's thread and is acknowledged.
        None when the text is not for staff (then the menu is shown as before)."""
        if not isinstance(event, TextInput) or not event.text.strip():
            return None
        since = utcnow() - timedelta(days=self.app.settings.reply_window_days)
        organisation_id = await uow.threads.open_thread(citizen.id, since)
        if organisation_id is None:
            return None
        organisation_id = await self._thread_keeper(uow, citizen, organisation_id)
        await uow.threads.add(citizen.id, organisation_id, ThreadDirection.FROM_CITIZEN, event.text)
        return _notice(texts.gettext("Thank you. I have passed your message on."))

    async def _thread_keeper(self, uow: UnitOfWork, citizen: Citizen, wrote: int) -> int:
        """Who reads the citizen's reply to organisation `wrote`: `wrote` itself while it
        may see the citizen (its own consultation, or a partnership still running);
        after a partnership ended, the owner of the consultation the citizen last took
        part in, since the partner may no longer open the thread and the words would
        reach nobody."""
        if wrote in await uow.runs.organisations_of(citizen.id):
            return wrote
        if await uow.partnerships.citizen_runs(citizen.id, wrote):
            return wrote
        runs = await uow.runs.list_for_citizen(citizen.id)
        latest = await uow.consultations.get(runs[-1].consultation_id) if runs else None
        return latest.organisation_id if latest is not None else wrote

    async def voice_command(
        self, who: Who, argument: str | None, *, delivery: Delivery | None
    ) -> Outcome:
        """/voice on, /voice off; /voice alone (as the command menu sends it) switches."""
        wanted = (argument or "").strip().lower()
        if wanted in {"on", "off"}:
            return await self.set_read_aloud(who, wanted == "on", delivery=delivery)
        async with self.app.uow(read_only=True) as uow:
            if who.citizen_id is not None:  # a person a leader helps
                citizen = await uow.citizens.get(who.citizen_id)
            else:
                citizen = await uow.citizens.find(who.user_id, channel=who.channel)
        listening = citizen is not None and citizen.read_aloud
        return await self.set_read_aloud(who, not listening, delivery=delivery)

    async def set_read_aloud(
        self, who: Who, on: bool, *, delivery: Delivery | None, tapped_step: str | None = None
    ) -> Outcome:
        """ "🔊 Listen" or /voice on|off: remembered for the citizen. Turned on, what is
        on screen now (the consent, the question, the list) is read aloud at once, and
        the message whose "🔊 Listen" was tapped (`tapped_step`) loses that button."""
        async with self.app.uow() as uow:
            citizen = await self._citizen(uow, who)
            run = await uow.runs.latest_active(citizen.id)
            language = run.language if run is not None else self.bot_language(citizen, who)
            texts = await self.texts_for(uow, language, run=run, citizen=citizen)
            # The run goes with every outcome: a leader helping someone reads a missing
            # run as the end of that person's dialog.
            run_id = run.id if run is not None else None
            if on and not self.app.speech.speaks(language):
                sorry = texts.gettext("Sorry, I cannot send voice messages here yet.")
                outcome = Outcome((_notice(sorry),), language, run_id)
                await self._finish(uow, citizen, outcome, delivery)
                return outcome
            await uow.citizens.set_flags(citizen, read_aloud=on)
            if not on:
                off = texts.gettext(
                    "I will no longer read my messages aloud. To hear them again, send /voice on."
                )
                outcome = Outcome((_notice(off),), language, run_id)
                await self._finish(uow, citizen, outcome, delivery)
                return outcome
            now = texts.gettext(
                "Good. From now on I will also read my messages aloud. To stop, send /voice off."
            )
            if run is not None:
                current = await self._advance(uow, citizen, who, run, CommandInput("repeat"))
            else:
                current = await self._menu(uow, citizen, language, texts)
            shown: tuple[Message, ...] = (_notice(now),)
            screen = current.messages[-1] if current.messages else None
            if screen is not None and tapped_step is not None and screen.step_id == tapped_step:
                shown = (replace(screen, edit=True), *shown)
            outcome = Outcome(shown, language, current.run_id, heard=current.messages)
            await self._finish(uow, citizen, outcome, delivery)
            return outcome

    async def set_language(self, who: Who, language: str, *, delivery: Delivery | None) -> Outcome:
        """/language: stored per citizen; a dialog in progress continues in it."""
        async with self.app.uow() as uow:
            citizen = await self._citizen(uow, who)
            await uow.citizens.set_language(citizen, language)
            self._remember_language(who.user_id, language)
            run = await uow.runs.latest_active(citizen.id)
            if run is not None and run.consent_record_id is not None:
                flow = await self._flow_of(uow, run)
                if language in flow.languages:
                    run.language = language
                    run.state = {**run.state, "language": language}
                outcome = await self._advance(uow, citizen, who, run, CommandInput("repeat"))
            elif run is not None:
                consultation = await uow.consultations.get(run.consultation_id)
                assert consultation is not None
                await uow.delete(run)
                outcome = await self._ask_consent(
                    uow, citizen, who, consultation, run.source, run.community_id
                )
            else:
                texts = await self.texts_for(uow, language, citizen=citizen)
                outcome = Outcome(
                    (_notice(texts.gettext("Done. I will speak to you in this language.")),),
                    language,
                )
            await self._finish(uow, citizen, outcome, delivery)
            return outcome

    async def texts_for(
        self,
        uow: UnitOfWork,
        language: str,
        *,
        run: Run | None = None,
        citizen: Citizen | None = None,
    ) -> Translator:
        """The bot's texts in `language`, in the register of the organisation whose
        consultation is at hand: the run's; outside one, that of the consultation the
        citizen touched last (formal for someone who has answered none)."""
        if run is None:
            return await self.app.citizen_texts(uow, citizen.id if citizen else None, language)
        return self.app.texts(language, await self._register_of(uow, run.consultation_id))

    async def _opening_texts(
        self, uow: UnitOfWork, who: Who, citizen: Citizen, language: str
    ) -> Translator:
        """`texts_for` outside a dialog, for /start and the menu: the register the
        update's own context looked up a moment ago (`stored_register`, the same
        query) when it is still fresh, so a /start costs no second lookup."""
        cached = self._fresh(who.user_id) if who.citizen_id is None else None
        if cached is not None:
            return self.app.texts(language, cached[1])
        return await self.texts_for(uow, language, citizen=citizen)

    async def _register_of(self, uow: UnitOfWork, consultation_id: int) -> Register:
        now = time.monotonic()
        cached = self._registers.get(consultation_id)
        if cached is not None and now - cached[1] < LANGUAGE_TTL:
            return cached[0]
        register = await uow.organisations.register_of(consultation_id)
        self._registers[consultation_id] = (register, now)
        return register

    # --- steps ---------------------------------------------------------------------

    async def _citizen(self, uow: UnitOfWork, who: Who) -> Citizen:
        if who.citizen_id is not None:
            assisted = await uow.citizens.get_for_update(who.citizen_id)
            if assisted is None:
                raise LookupError(f"no citizen {who.citizen_id}")
            return assisted
        # On PostgreSQL the citizen's row lock keeps two workers from racing on one
        # citizen; SQLite's writers take turns anyway (see WriterTurns).
        return await uow.citizens.get_or_create(
            who.user_id,
            who.chat_id,
            secret=self.app.settings.pseudonym_secret.get_secret_value(),
            channel=who.channel,
            timezone=self.app.settings.default_timezone,
            lock=self.app.writer_turns is None,
        )

    async def _tapping_citizen(
        self, uow: UnitOfWork, who: Who, delivery: Delivery | None
    ) -> tuple[Citizen, Run | None, int | None] | None:
        """For a tapped button: the citizen (as `_citizen` finds them), their run and
        the chat's newest question, in one read; None for someone new, or a leader
        helping someone (`_citizen` then does as for any update)."""
        if who.citizen_id is not None or delivery is None:
            return None
        return await uow.citizens.find_with_run(
            who.user_id,
            who.chat_id,
            delivery.chat_id,
            channel=who.channel,
            lock=self.app.writer_turns is None,
        )

    async def _invite(self, uow: UnitOfWork, key: str | int | None) -> InviteLink | None:
        """The community invite link behind a /start payload (revoked ones: none)."""
        if not isinstance(key, str) or not key:
            return None
        return await uow.invites.by_payload(key)

    async def _invited_by(self, uow: UnitOfWork, run: Run) -> str | None:
        if run.community_id is None:
            return None
        community = await uow.communities.get(run.community_id)
        return community.name if community else None

    async def _find(self, uow: UnitOfWork, key: str | int | None) -> Consultation | None:
        """The consultation `key` names, if this bot offers it."""
        if key is None:
            return None
        if isinstance(key, int):
            found = await uow.consultations.get(key)
        else:
            found = await uow.consultations.get_by_slug(key)
        served = await self._served(uow)
        if found is None or (served is not None and found.organisation_id not in served):
            return None
        return found

    async def _served(self, uow: UnitOfWork) -> set[int] | None:
        """The ids of the organisations this bot serves (None: all of them)."""
        if self.organisations is None:
            return None
        return await uow.organisations.ids_of(self.organisations)

    async def _flow_of(self, uow: UnitOfWork, run: Run) -> Flow:
        flow = self.app.flows.cached(run.flow_version_id)
        if flow is None:
            version = await uow.consultations.get_version_by_id(run.flow_version_id)
            assert version is not None
            flow = self.app.flows.flow(version)
        followup = followup_id_of(run.source)
        if followup is not None and run.parent_run_id is not None:
            # A follow-up dialog (outreach): its own steps, from the pinned version.
            parent = await uow.runs.get(run.parent_run_id)
            answers = parent.state.get("answers", {}) if parent is not None else {}
            register = await self._register_of(uow, run.consultation_id)
            return followup_flow(
                flow, followup, lambda language: self.app.texts(language, register), answers
            )
        return flow

    async def _menu(
        self,
        uow: UnitOfWork,
        citizen: Citizen,
        language: str,
        texts: Translator,
        *,
        unknown: str | int | None = None,
        nothing_active: bool = False,
    ) -> Outcome:
        """The open consultations as buttons (or a kind word when there are none)."""
        open_ones = await uow.consultations.list_all(
            status=ConsultationStatus.OPEN, organisation_ids=await self._served(uow)
        )
        lines: list[str] = []
        if unknown is not None:
            lines.append(texts.gettext("I could not find that consultation. It may have ended."))
        elif nothing_active:
            lines.append(texts.gettext("You are not answering a consultation right now."))
        if not open_ones:
            lines.append(
                texts.gettext(
                    "There is no open consultation at the moment. Thank you for your interest!"
                )
            )
            return Outcome((_notice("\n\n".join(lines)),), language)
        lines.append(texts.gettext("Which consultation would you like to answer? Tap one:"))
        buttons = []
        foreign = False
        for consultation in open_ones:
            current = await self.app.flows.current(uow, consultation)
            title = consultation.title
            if current is not None:
                flow = current[1]
                title = menu_title(flow, language)
                foreign = foreign or language not in flow.languages
            buttons.append(Button(str(consultation.id), title))
        if foreign:
            lines.append(
                texts.gettext(
                    "A consultation that is not available in your language shows its "
                    "languages in brackets. If you tap it, you can choose one of them."
                )
            )
        if self._offer_listen(citizen, language):
            buttons.append(self._listen_button(texts))
        menu = Message("\n\n".join(lines), "question", PICK_STEP, tuple(buttons), expects="pick")
        return Outcome((menu,), language)

    async def _ask_consent(
        self,
        uow: UnitOfWork,
        citizen: Citizen,
        who: Who,
        consultation: Consultation,
        source: str,
        community_id: int | None = None,
    ) -> Outcome:
        current = await self.app.flows.current(uow, consultation)
        assert current is not None
        version_id, flow = current
        own = self.bot_language(citizen, who)
        # Consent in a language the citizen cannot read is not informed consent: when
        # the consultation is not offered in theirs, they pick one of its languages
        # first (asked in their own), and the run waits in CHOOSING_LANGUAGE.
        choosing = own not in flow.languages
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=consultation.id,
            flow_version_id=version_id,
            state={CHOOSING_LANGUAGE: True} if choosing else {},
            language=flow.default_language if choosing else own,
            source=source,
            community_id=community_id,
        )
        # Outside a dialog the bot now speaks in this organisation's register (that of
        # the run touched last): known here, so the next update needs no lookup.
        self._seen(who.user_id, citizen.language, await self._register_of(uow, consultation.id))
        return await self._before_consent(uow, citizen, who, run, flow)

    async def _before_consent(
        self, uow: UnitOfWork, citizen: Citizen, who: Who, run: Run, flow: Flow
    ) -> Outcome:
        """What a run without consent asks: the language question, else the consent."""
        if run.state.get(CHOOSING_LANGUAGE):
            own = self.bot_language(citizen, who)
            texts = await self.texts_for(uow, own, run=run)
            return Outcome((self._language_question(flow, texts),), own, run.id)
        invited_by = await self._invited_by(uow, run)
        listen = self._offer_listen(citizen, run.language)
        texts = await self.texts_for(uow, run.language, run=run)
        consent = self._consent_message(flow, run.language, texts, invited_by, listen=listen)
        return Outcome((consent,), run.language, run.id)

    def _language_question(self, flow: Flow, texts: Translator) -> Message:
        """In the citizen's own language: this consultation is not in it; each of its
        languages named in itself ("Polski", "English", "Українська")."""
        text = texts.gettext(
            "This consultation is not available in your language. "
            "Which of its languages would you like to read it in?"
        )
        buttons = tuple(Button(code, language_name(code)) for code in flow.languages)
        return Message(text, "question", CONSULTATION_LANGUAGE_STEP, buttons)

    async def _choose_language(
        self, uow: UnitOfWork, citizen: Citizen, who: Who, run: Run, flow: Flow, event: Event
    ) -> Outcome:
        """The answer to the language question: a tap, or the language's name typed."""
        own = self.bot_language(citizen, who)
        picked: str | None = None
        if isinstance(event, ButtonPress) and event.step_id == CONSULTATION_LANGUAGE_STEP:
            picked = event.key
        elif isinstance(event, TextInput):
            picked = typed_language(event.text, flow.languages)
        if picked not in flow.languages:
            texts = await self.texts_for(uow, own, run=run)
            hint = _hint(texts.gettext("Please tap one of the languages below."))
            return Outcome((hint, self._language_question(flow, texts)), own, run.id)
        assert picked is not None
        run.language = picked
        run.state = {}
        outcome = await self._before_consent(uow, citizen, who, run, flow)
        return replace(outcome, answer=language_name(picked))

    def _offer_listen(self, citizen: Citizen, language: str) -> bool:
        """The "🔊 Listen" button goes where a newcomer looks first (the consent, the
        list of consultations) while the citizen does not listen yet."""
        return not citizen.read_aloud and self.app.speech.speaks(language)

    def _listen_button(self, texts: Translator) -> Button:
        return Button(LISTEN, texts.gettext("🔊 Listen"))

    def _consent_message(
        self,
        flow: Flow,
        language: str,
        texts: Translator,
        invited_by: str | None = None,
        *,
        listen: bool = False,
    ) -> Message:
        parts = [flow.localize(flow.title, language)]
        if invited_by is not None:
            parts.append(
                texts.gettext("You were invited by {community}.").format(community=invited_by)
            )
        if flow.description is not None:
            parts.append(flow.localize(flow.description, language))
        parts.append(flow.localize(flow.consent, language))
        parts.append(
            texts.gettext(
                "Your answers are kept under a code, not under your name or Telegram account. "
                "You can see your data with /mydata and erase it with /delete at any time."
            )
        )
        parts.append(texts.gettext("Do you agree to take part?"))
        # The language is Telegram's guess on first contact: "Yes, I agree" in it
        # confirms it with one tap (stored then); the 🌐 button opens the picker, and
        # a different choice asks this again in that language.
        buttons: tuple[Button, ...] = (
            Button(AGREE, texts.gettext("Yes, I agree")),
            Button(DECLINE, texts.gettext("No, thank you")),
            Button(CHANGE_LANGUAGE, f"🌐 {language_name(language)}"),
        )
        if listen:
            buttons = (*buttons, self._listen_button(texts))
        return Message("\n\n".join(parts), "question", CONSENT_STEP, buttons, expects="consent")

    def consent_version(self, flow: Flow) -> str:
        return f"{flow.id}@{flow.version}/privacy-{self.app.settings.privacy_version}"

    async def _consent_answer(
        self, uow: UnitOfWork, citizen: Citizen, who: Who, run: Run, event: Event
    ) -> Outcome:
        flow = await self._flow_of(uow, run)
        if run.state.get(CHOOSING_LANGUAGE):
            return await self._choose_language(uow, citizen, who, run, flow, event)
        language = run.language
        texts = await self.texts_for(uow, language, run=run)
        answer = (
            event.key if isinstance(event, ButtonPress) and event.step_id == CONSENT_STEP else None
        )
        if isinstance(event, TextInput):
            # "tak", "Yes!" or "nie" typed instead of tapped counts as the tap.
            typed = parse_yes_no(event.text, texts)
            if isinstance(typed, Accepted):
                answer = AGREE if typed.value else DECLINE
        if answer == CHANGE_LANGUAGE:
            picker = language_picker(self.app.i18n.available_locales, language, texts)
            return Outcome((picker,), language, run.id)
        if answer is None:
            hint = _hint(texts.gettext("Please tap one of the buttons to say whether you agree."))
            invited_by = await self._invited_by(uow, run)
            listen = self._offer_listen(citizen, language)
            again = self._consent_message(flow, language, texts, invited_by, listen=listen)
            return Outcome((hint, again), language, run.id)
        granted = answer == AGREE
        record = await uow.consents.record(
            citizen.id,
            ConsentPurpose.PARTICIPATION,
            self.consent_version(flow),
            granted,
            consultation_id=run.consultation_id,
        )
        if not granted:
            await uow.delete(run)
            goodbye = texts.gettext(
                "Thank you. We have kept nothing but your choice. "
                "If you change your mind, send /start."
            )
            return Outcome(
                (Message(goodbye, "end"),), language, answer=texts.gettext("No, thank you")
            )
        run.consent_record_id = record.id
        own = self.bot_language(citizen, who)
        if citizen.language is None and own in self.app.i18n.available_locales:
            # Agreeing confirms the language the bot spoke to them in (Telegram's
            # guess); a consultation language picked because theirs was missing is
            # the run's, not theirs.
            await uow.citizens.set_language(citizen, own)
            self._remember_language(who.user_id, own)
        preset = preset_of(run.source, flow)
        deck = await deck_for(uow, flow, run, self.routing)
        turn = engine.start(flow, language, texts=texts, preset=preset, deck=deck)
        outcome = await self._persist(uow, run, turn, language, flow=flow)
        return replace(outcome, answer=texts.gettext("Yes, I agree"))

    async def _advance(
        self, uow: UnitOfWork, citizen: Citizen, who: Who, run: Run, event: Event
    ) -> Outcome:
        flow = await self._flow_of(uow, run)
        if run.consent_record_id is None:
            return await self._before_consent(uow, citizen, who, run, flow)
        texts = await self.texts_for(uow, run.language, run=run)
        deck = await deck_for(uow, flow, run, self.routing)
        turn = engine.advance(flow, run.state, event, texts=texts, deck=deck)
        outcome = await self._persist(uow, run, turn, run.language, event, flow)
        requested = [a for a in turn.answered if _requested(flow, a.step_id)]
        if requested:
            outcome = replace(outcome, receipt=requested[-1].display)
        return outcome

    async def _typed_command(
        self, uow: UnitOfWork, citizen: Citizen, who: Who, run: Run, event: Event
    ) -> Outcome | None:
        """ "pomocy", "stop", "wstecz" or "?" typed mid-question: the command itself, as
        if sent with its slash (see `dialogs.answers.word_command`); None: an answer."""
        if not isinstance(event, TextInput):
            return None
        flow = await self._flow_of(uow, run)
        step: Step | None = None
        current = run.state.get("current")
        if isinstance(current, str):
            try:
                step = flow.step(current)
            except KeyError:
                step = None
        choices = [
            Choice(o.key, flow.localize(o.label, run.language), o.emoji)
            for o in (step.options if step is not None else [])
        ]
        own = self.bot_language(citizen, who)
        # The words of the dialog's language, the citizen's own and English.
        languages = dict.fromkeys((run.language, own, "en"))
        catalogs = [self.app.texts(language) for language in languages]
        command = word_command(event.text, step, choices, catalogs)
        if command is None:
            return None
        if command is WordCommand.BACK:
            return await self._advance(uow, citizen, who, run, CommandInput("back"))
        if command is WordCommand.SKIP:
            return await self._advance(uow, citizen, who, run, CommandInput("skip"))
        texts = await self.texts_for(uow, own, run=run)
        if command is WordCommand.STOP:
            await uow.citizens.set_flags(citizen, stopped=True)
            return Outcome((_notice(stopped_text(texts)),), own)
        return Outcome((_notice(help_text(texts)),), own)

    async def _persist(
        self,
        uow: UnitOfWork,
        run: Run,
        turn: Turn,
        language: str,
        event: Event | None = None,
        flow: Flow | None = None,
    ) -> Outcome:
        if flow is not None:
            await store_turn(uow, flow, run, turn)
        if turn.restarted:
            await uow.answers.delete_for_run(run.id)
        elif turn.cleared:
            await uow.answers.delete_steps(run.id, turn.cleared)
        for answer in turn.answered:
            await uow.answers.upsert(
                run.id,
                answer.step_id,
                answer.value,
                display_text=answer.display,
                skipped=answer.skipped,
            )
        for decision in turn.consents:
            # Consent per purpose (the engine asked it): versioned by the flow version.
            await uow.consents.record(
                run.citizen_id,
                decision.purpose,
                f"{turn.state.get('flow_id')}@{turn.state.get('version')}/{decision.purpose}",
                decision.granted,
                consultation_id=run.consultation_id,
            )
        await uow.runs.save(run, state=turn.state, status="completed" if turn.completed else None)
        tapped = event.step_id if isinstance(event, ButtonPress) else None
        shown = next((a.display or "—" for a in turn.answered if a.step_id == tapped), None)
        shown = shown or next((d.display for d in turn.consents if d.step_id == tapped), None)
        return Outcome(turn.outputs, language, run.id, turn.completed, shown)

    async def _finish(
        self, uow: UnitOfWork, citizen: Citizen, outcome: Outcome, delivery: Delivery | None
    ) -> None:
        """Queue the messages in the same transaction as the state they belong to."""
        if delivery is not None:
            listen = citizen.read_aloud and self.app.speech.speaks(outcome.language)
            await queue_messages(uow, citizen.id, outcome, delivery, listen=listen)
        await uow.commit()


async def queue_messages(
    uow: UnitOfWork,
    citizen_id: int | None,
    outcome: Outcome,
    delivery: Delivery,
    *,
    listen: bool = False,
) -> None:
    """Outbox rows for `outcome`, and the inbox mark of the update that caused it;
    `listen`: each new text is followed by a voice message reading it."""
    messages = outbound_messages(outcome, delivery, listen=listen)
    await deliver(uow, delivery, messages, kind=OutboxKind.DIALOG, citizen_id=citizen_id)


def language_picker(available: Iterable[str], current: str, texts: Translator) -> Message:
    """Each language named in itself (Babel's locale data), so anyone finds their own;
    the one we guessed or use now is ticked, so confirming it is one tap."""
    order = {code: index for index, code in enumerate(LANGUAGES)}
    codes = sorted(available, key=lambda code: (order.get(code, len(order)), code))
    buttons = tuple(Button(code, language_name(code), selected=code == current) for code in codes)
    return Message(texts.gettext("Choose your language:"), "question", LANGUAGE_STEP, buttons)


def language_name(code: str) -> str:
    """ "uk" -> "Українська", "ar" -> "العربية": the name a speaker would look for."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def typed_language(text: str, languages: Iterable[str]) -> str | None:
    """The language whose name ("english", "Українська") or code ("en") was typed."""
    wanted = fold(text)
    for code in languages:
        if wanted in {fold(code), fold(language_name(code))}:
            return code
    return None


def menu_title(flow: Flow, language: str) -> str:
    """A consultation's title in the menu: in `language` when the consultation is
    offered in it, else in its own default language with its languages after it, each
    named in itself ("Dobry dom na starsze lata (Polski, English, Українська)"); never
    silently another language. Codes ("PL, EN, UK") only when the names do not fit."""
    if language in flow.languages:
        return flow.localize(flow.title, language)
    shown, more = flow.languages[:MENU_LANGUAGES], len(flow.languages) > MENU_LANGUAGES
    names = [language_name(code) for code in shown] + (["…"] if more else [])
    suffix = f" ({', '.join(names)})"
    if len(suffix) > MAX_BUTTON_LABEL // 2:
        codes = [code.upper() for code in shown] + (["…"] if more else [])
        suffix = f" ({', '.join(codes)})"
    title = flow.localize(flow.title, flow.default_language)
    room = MAX_BUTTON_LABEL - len(suffix)
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return title + suffix


def _base(language_code: str | None) -> str | None:
    """Telegram's "pt-br" or "en-GB" as our bare "pt" / "en"."""
    return language_code.split("-")[0].split("_")[0].lower() if language_code else None


def _requested(flow: Flow, step_id: str) -> bool:
    """Whether `step_id` is asked with a request keyboard (location, contact)."""
    step = next((s for s in flow.steps if s.id == step_id), None)
    return step is not None and step.kind in engine.REQUEST_KINDS


def _int(key: str) -> int | None:
    return int(key) if key.isdecimal() else None


def _notice(text: str) -> Message:
    return Message(text, "notice")


def _hint(text: str) -> Message:
    return Message(text, "hint")
