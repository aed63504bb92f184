"""Broadcasts: one message to every citizen of a segment, exactly once each.

Life of a broadcast: `create` (a draft with texts per language and a segment) ->
`preview` (the dry run: how many, and the text each language gets) -> `schedule`
(for a time, or now) -> the scheduler starts it when due, writes one delivery row per
recipient (INSERT ... SELECT in citizen-id slices, unique on broadcast and citizen),
and keeps the outbox topped up with a few seconds' worth of its messages ->
the sender records each delivery as sent, failed, blocked or skipped -> done.
`cancel` stops whatever has not been handed to Telegram yet. `dry_run` counts a
segment's recipients per language before any draft exists (the dashboard's segment
builder, as staff build it).

Each delivery checks, when it is handed to the outbox, that the citizen has not sent
/stop or blocked the bot, and that it is not night in their timezone (else it waits
for the morning). Results ("you said, we did") are broadcasts of kind `result`:
the staff's text framed by the bot's own words, in the citizen's language. A local
leader's broadcast (kind `leader`, bot/leaders) carries texts already framed exactly as
the leader previewed them, and is sent as they are.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialogs.render import fill
from konsulta.bootstrap import App
from konsulta.outbound import OutboundButton, OutboundMessage
from konsulta.quiet import QuietHours
from storage.models import (
    Broadcast,
    BroadcastStatus,
    DeliveryStatus,
    OutboxKind,
    Priority,
    Register,
)
from storage.segments import (
    Segment,
    known_language,
    parse_segment,
    recipients,
    segment_sql,
    spoken_language,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

__all__ = [
    "Audience",
    "BroadcastError",
    "Broadcasts",
    "Fallback",
    "Preview",
    "Progress",
    "cancel",
    "create",
    "create_in",
    "dry_run",
    "organisation_named",
    "preview",
    "progress",
    "schedule",
    "schedule_in",
]

MAX_TEXT = 3500  # leaves room for the framing within Telegram's 4096
TELEGRAM_TEXT = 4096
MATERIALIZE_BATCH = 5000
FEED_BATCH = 250
#: Near the end of a broadcast, queued deliveries are checked against the outbox.
RECONCILE_BELOW = 2000


class BroadcastError(ValueError):
    pass


@dataclass(frozen=True)
class Fallback:
    """Recipients whose language has no text, and the text's language they get."""

    language: str
    instead: str
    recipients: int


@dataclass(frozen=True)
class Preview:
    total: int
    #: language -> (recipients, the exact text they get)
    languages: dict[str, tuple[int, str]]
    #: Who gets a text in another language than theirs (a warning for staff), by
    #: their language, most recipients first.
    fallbacks: tuple[Fallback, ...] = ()


@dataclass(frozen=True)
class Progress:
    broadcast: Broadcast
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(
            n
            for status, n in self.counts.items()
            if status not in {DeliveryStatus.PENDING, DeliveryStatus.QUEUED}
        )


def _check_texts(texts: dict[str, str], default_language: str, limit: int = MAX_TEXT) -> None:
    if not texts:
        raise BroadcastError("a broadcast needs a text (e.g. --text pl='...')")
    if default_language not in texts:
        raise BroadcastError(f"no text in the default language '{default_language}'")
    for language, text in texts.items():
        if not text.strip():
            raise BroadcastError(f"the {language} text is empty")
        if len(text) > limit:
            raise BroadcastError(f"the {language} text is over {limit} characters")


async def create(
    app: App,
    *,
    name: str,
    organisation_id: int,
    segment: dict[str, Any] | Segment,
    texts: dict[str, str],
    default_language: str | None = None,
    kind: str = "broadcast",
    consultation_id: int | None = None,
) -> Broadcast:
    async with app.uow() as uow:
        broadcast = await create_in(
            app,
            uow,
            name=name,
            organisation_id=organisation_id,
            segment=segment,
            texts=texts,
            default_language=default_language,
            kind=kind,
            consultation_id=consultation_id,
        )
        await uow.commit()
        return broadcast


async def create_in(
    app: App,
    uow: UnitOfWork,
    *,
    name: str,
    organisation_id: int,
    segment: dict[str, Any] | Segment,
    texts: dict[str, str],
    default_language: str | None = None,
    kind: str = "broadcast",
    consultation_id: int | None = None,
    buttons: dict[str, list[dict[str, Any]]] | None = None,
) -> Broadcast:
    """`create` inside the caller's unit of work (which commits it, or not).
    It reaches only citizens who took part in one of `organisation_id`'s consultations
    (storage/segments.py). `buttons`: per language, inline buttons as in outbox
    payloads (e.g. a link)."""
    parsed = segment if isinstance(segment, Segment) else parse_segment(segment)
    default = default_language or app.settings.default_language
    # A leader's texts come framed already (bot/leaders), so only Telegram's limit holds.
    _check_texts(texts, default, TELEGRAM_TEXT if kind == "leader" else MAX_TEXT)
    # The consultations it names exist and are the organisation's own.
    await uow.read(segment_sql, parsed, default_language=default, organisation_id=organisation_id)
    broadcast = await uow.broadcasts.create(
        name=name,
        segment=parsed.to_json(),
        texts=texts,
        default_language=default,
        kind=kind,
        consultation_id=consultation_id,
        organisation_id=organisation_id,
        now=app.clock.now(),
    )
    if buttons:
        broadcast.buttons = buttons
        await uow.flush()
    return broadcast


async def organisation_named(app: App, slug: str | None) -> int:
    """The organisation a broadcast from the command line belongs to: the one named,
    or the only one there is."""
    async with app.uow(read_only=True) as uow:
        if slug is not None:
            organisation = await uow.organisations.get_by_slug(slug)
            if organisation is None:
                raise BroadcastError(f"no organisation '{slug}'")
            return organisation.id
        every = await uow.organisations.list_all()
    if len(every) != 1:
        names = ", ".join(sorted(o.slug for o in every)) or "none yet"
        raise BroadcastError(f"name the organisation with --organisation ({names})")
    return every[0].id


async def _get(uow: UnitOfWork, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    broadcast = await uow.broadcasts.get(broadcast_id, for_update=for_update)
    if broadcast is None:
        raise BroadcastError(f"no broadcast {broadcast_id}")
    return broadcast


async def _titles(app: App, uow: UnitOfWork, broadcast: Broadcast) -> dict[str, str]:
    """The consultation's title per language (for results), else nothing."""
    if broadcast.consultation_id is None:
        return {}
    consultation = await uow.consultations.get(broadcast.consultation_id)
    if consultation is None:
        return {}
    current = await app.flows.current(uow, consultation)
    if current is None:
        return {}
    flow = current[1]
    languages = {*flow.languages, *broadcast.texts}
    return {lang: flow.localize(flow.title, lang) for lang in languages}


async def _register(uow: UnitOfWork, broadcast: Broadcast) -> Register:
    """The register of the organisation whose consultation the broadcast is about."""
    if broadcast.consultation_id is None:
        return Register.FORMAL
    return await uow.organisations.register_of(broadcast.consultation_id)


def language_for(
    broadcast: Broadcast, citizen_language: str | None, known_language: str | None = None
) -> str:
    """The text a citizen gets: in their language; if there is none, in the language
    of their latest run (the one they read the consultation in); else the default."""
    return _text_language(
        broadcast.texts, broadcast.default_language, citizen_language, known_language
    )


def _text_language(
    written: Collection[str],
    default_language: str,
    citizen_language: str | None,
    known_language: str | None,
) -> str:
    for language in (citizen_language, known_language):
        if language and language in written:
            return language
    return default_language


def _tally(
    by_language: dict[tuple[str, str | None], int], written: Collection[str], default: str
) -> tuple[dict[str, int], tuple[Fallback, ...]]:
    """Recipients per text language, and who gets a text in another language than
    theirs (most recipients first)."""
    merged: dict[str, int] = {}
    instead: dict[tuple[str, str], int] = {}
    for (citizen_language, known), count in by_language.items():
        language = _text_language(written, default, citizen_language, known)
        merged[language] = merged.get(language, 0) + count
        if language != citizen_language:
            pair = (citizen_language, language)
            instead[pair] = instead.get(pair, 0) + count
    for language in written:
        merged.setdefault(language, 0)
    fallbacks = sorted(
        (Fallback(own, other, n) for (own, other), n in instead.items()),
        key=lambda f: (-f.recipients, f.language, f.instead),
    )
    return dict(sorted(merged.items())), tuple(fallbacks)


@dataclass(frozen=True)
class Audience:
    """Who a segment reaches now, before any broadcast is written (the dashboard's live
    count): how many, per language of the text they would get, and the fallbacks."""

    total: int
    languages: dict[str, int]
    fallbacks: tuple[Fallback, ...] = ()


async def dry_run(
    app: App,
    *,
    organisation_id: int,
    segment: dict[str, Any] | Segment,
    written: Collection[str],
    default_language: str,
) -> Audience:
    """The preview's counts for a segment without creating a draft, in a read-only unit
    of work; `written` are the languages staff have a text in so far (the default
    language counts as written: a broadcast cannot be created without it)."""
    parsed = segment if isinstance(segment, Segment) else parse_segment(segment)
    languages = {*written, default_language}
    async with app.uow(read_only=True) as uow:
        where = await uow.read(
            recipients, parsed, default_language=default_language, organisation_id=organisation_id
        )
        by_language = await uow.broadcasts.language_pairs(
            where, spoken_language(default_language), known_language()
        )
    merged, fallbacks = _tally(by_language, languages, default_language)
    return Audience(total=sum(merged.values()), languages=merged, fallbacks=fallbacks)


def message_text(
    app: App,
    broadcast: Broadcast,
    language: str,
    titles: dict[str, str],
    register: Register = Register.FORMAL,
) -> str:
    """What a recipient in `language` reads: the staff's words, framed by the bot's
    (in the register of the consultation's organisation)."""
    texts = app.texts(language, register)
    body = broadcast.texts.get(language) or broadcast.texts[broadcast.default_language]
    if broadcast.kind == "leader":  # framed by bot/leaders, exactly as the leader previewed
        return body
    if broadcast.kind == "result":
        title = titles.get(language) or titles.get(broadcast.default_language) or ""
        head = fill(
            texts.gettext("You took part in “{title}”. This is what came of it:"), title=title
        )
        return f"{head}\n\n{body}"
    footer = texts.gettext("Send /stop if you do not want messages like this.")
    return f"{body}\n\n{footer}"


def _buttons(broadcast: Broadcast, language: str) -> tuple[OutboundButton, ...]:
    return tuple(map(OutboundButton.from_json, (broadcast.buttons or {}).get(language) or ()))


async def preview(app: App, broadcast_id: int) -> Preview:
    """The dry run: recipients per language now, and the exact text each gets."""
    async with app.uow() as uow:
        broadcast = await _get(uow, broadcast_id)
        segment = parse_segment(broadcast.segment)
        where = await uow.read(
            recipients,
            segment,
            default_language=broadcast.default_language,
            organisation_id=broadcast.organisation_id,
        )
        by_language = await uow.broadcasts.language_pairs(
            where, spoken_language(broadcast.default_language), known_language()
        )
        titles = await _titles(app, uow, broadcast)
        register = await _register(uow, broadcast)
    merged, fallbacks = _tally(by_language, broadcast.texts, broadcast.default_language)
    return Preview(
        total=sum(merged.values()),
        languages={
            lang: (n, message_text(app, broadcast, lang, titles, register))
            for lang, n in merged.items()
        },
        fallbacks=fallbacks,
    )


async def schedule(app: App, broadcast_id: int, at: datetime | None = None) -> Broadcast:
    """Send at `at` (the outreach clock's time), or at the next tick."""
    async with app.uow() as uow:
        broadcast = await schedule_in(app, uow, broadcast_id, at)
        await uow.commit()
        return broadcast


async def schedule_in(
    app: App, uow: UnitOfWork, broadcast_id: int, at: datetime | None = None
) -> Broadcast:
    """`schedule` inside the caller's unit of work (which commits it, or not)."""
    broadcast = await _get(uow, broadcast_id, for_update=True)
    if broadcast.status not in {BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED}:
        raise BroadcastError(f"broadcast {broadcast_id} is already {broadcast.status}")
    broadcast.status = BroadcastStatus.SCHEDULED
    broadcast.send_at = at or app.clock.now()
    await uow.flush()
    return broadcast


async def cancel(app: App, broadcast_id: int) -> int:
    async with app.uow() as uow:
        broadcast = await _get(uow, broadcast_id, for_update=True)
        if broadcast.status in {BroadcastStatus.DONE, BroadcastStatus.CANCELLED}:
            raise BroadcastError(f"broadcast {broadcast_id} is already {broadcast.status}")
        cancelled = await uow.broadcasts.cancel(broadcast, app.clock.now())
        await uow.commit()
        return cancelled


async def progress(app: App, broadcast_id: int) -> Progress:
    # Read-only: staff watching a broadcast never hold up its sender (SQLite's writer).
    async with app.uow(read_only=True) as uow:
        broadcast = await _get(uow, broadcast_id)
        return Progress(broadcast, await uow.broadcasts.counts(broadcast_id))


class Broadcasts:
    """The scheduler's part: start, write recipients, feed the outbox, finish."""

    def __init__(self, app: App, quiet: QuietHours) -> None:
        self.app = app
        self.quiet = quiet
        settings = app.settings
        rate = settings.rate_per_second + (1000.0 if settings.paid_broadcast else 0.0)
        self.window = max(10, int(rate * settings.broadcast_window_seconds))

    async def start_due(self, now: datetime) -> int:
        async with self.app.uow() as uow:
            due = await uow.broadcasts.claim_to_start(now)
            for broadcast in due:
                broadcast.status = BroadcastStatus.RUNNING
                broadcast.started_at = now
            await uow.commit()
        return len(due)

    async def materialize(self, now: datetime, *, batch: int = MATERIALIZE_BATCH) -> int:
        """Write one slice of recipients of one running broadcast."""
        async with self.app.uow() as uow:
            broadcast = await uow.broadcasts.claim_unmaterialized()
            if broadcast is None:
                return 0
            segment = parse_segment(broadcast.segment)
            where = await uow.read(
                recipients,
                segment,
                default_language=broadcast.default_language,
                organisation_id=broadcast.organisation_id,
            )
            added = await uow.broadcasts.materialize(broadcast, where, now=now, batch=batch)
            await uow.commit()
            return added if added else (0 if broadcast.materialized else 1)

    async def feed(self, now: datetime) -> int:
        """Hand due deliveries to the outbox, keeping about `window` messages queued
        (so a cancel or a /stop still catches most of a broadcast). Returns how many."""
        async with self.app.uow() as uow:
            room = self.window - await uow.broadcasts.queued_in_outbox(at_most=self.window)
            if room <= 0:
                return 0
            due = await uow.broadcasts.claim_due_deliveries(
                now,
                spoken_language(self.app.settings.default_language),
                limit=min(room, FEED_BATCH),
                known=known_language(),
            )
            if not due:
                return 0
            broadcasts: dict[int, Broadcast] = {}
            titles: dict[int, dict[str, str]] = {}
            registers: dict[int, Register] = {}
            texts: dict[tuple[int, str], str] = {}
            buttons: dict[tuple[int, str], tuple[OutboundButton, ...]] = {}
            changes: list[dict[str, Any]] = []
            messages: list[dict[str, Any]] = []
            real_now = utcnow()
            paid = self.app.settings.paid_broadcast
            for item in due:
                if item.stopped or item.unreachable or item.chat_id is None:
                    changes.append(
                        {
                            "id": item.delivery_id,
                            "status": DeliveryStatus.SKIPPED,
                            "updated_at": now,
                        }
                    )
                    continue
                night_ends = self.quiet.deferred_until(now, item.timezone)
                if night_ends is not None:
                    changes.append(
                        {"id": item.delivery_id, "due_at": night_ends, "updated_at": now}
                    )
                    continue
                if item.broadcast_id not in broadcasts:
                    broadcast = await _get(uow, item.broadcast_id)
                    broadcasts[item.broadcast_id] = broadcast
                    titles[item.broadcast_id] = await _titles(self.app, uow, broadcast)
                    registers[item.broadcast_id] = await _register(uow, broadcast)
                broadcast = broadcasts[item.broadcast_id]
                language = language_for(broadcast, item.language, item.known_language)
                key = (broadcast.id, language)
                if key not in texts:
                    texts[key] = message_text(
                        self.app,
                        broadcast,
                        language,
                        titles[broadcast.id],
                        registers[broadcast.id],
                    )
                    buttons[key] = _buttons(broadcast, language)
                messages.append(
                    {
                        "chat_id": item.chat_id,
                        "bot": item.bot,
                        "citizen_id": item.citizen_id,
                        "kind": OutboxKind.BROADCAST,
                        "priority": int(Priority.BROADCAST),
                        "payload": OutboundMessage(
                            texts[key],
                            language,
                            role="say",
                            buttons=buttons[key],
                            delivery_id=item.delivery_id,
                            broadcast_id=broadcast.id,
                            paid=paid,
                        ).to_payload(),
                        "dedupe_key": f"bc:{broadcast.id}:{item.citizen_id}",
                        "due_at": real_now,
                        "created_at": real_now,
                        "delivery_id": item.delivery_id,
                    }
                )
            queued = await uow.broadcasts.queue_messages(messages)
            for message in messages:
                changes.append(
                    {
                        "id": message["delivery_id"],
                        "status": DeliveryStatus.QUEUED,
                        "outbox_id": queued.get(message["dedupe_key"]),
                        "updated_at": now,
                    }
                )
            await uow.broadcasts.set_deliveries(changes)
            await uow.commit()
            return len(messages)

    async def finish(self, now: datetime) -> int:
        finished = 0
        async with self.app.uow() as uow:
            for broadcast_id in await uow.broadcasts.running_ids():
                broadcast = await uow.broadcasts.get(broadcast_id, for_update=True)
                if broadcast is None or not broadcast.materialized:
                    continue
                # Counted only up to the threshold: this runs every second of a
                # broadcast, and the end is near only when few deliveries are left.
                left = await uow.broadcasts.unfinished(broadcast_id, at_most=RECONCILE_BELOW)
                if left >= RECONCILE_BELOW:
                    continue
                await uow.broadcasts.reconcile_queued(broadcast_id, now)
                if (
                    broadcast.status == BroadcastStatus.RUNNING
                    and not await uow.broadcasts.unfinished(broadcast_id, at_most=1)
                ):
                    broadcast.status = BroadcastStatus.DONE
                    broadcast.finished_at = now
                    finished += 1
            await uow.commit()
        return finished
