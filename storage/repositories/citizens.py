"""Citizens, their Telegram mapping and their consent.

A citizen is created the first time they write, keyed by the pseudonymous participant
id; the Telegram id goes only into `citizen_channels`. `erase` is the right to be
forgotten: afterwards nothing about the person remains.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ScalarSelect, bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Answer,
    Citizen,
    CitizenChannel,
    ConsentRecord,
    InboxUpdate,
    OpenKeyboard,
    OutboxMessage,
    Run,
    RunStatus,
    Statement,
)
from storage.pseudonym import participant_id
from storage.repositories._dialect import upsert_insert
from storage.repositories._session import attached
from storage.repositories.keyboards import NEWEST_OPEN
from storage.repositories.review import AuditRepository
from storage.types import bot_of_channel, utcnow

__all__ = [
    "DEFAULT_TIMEZONE",
    "TELEGRAM",
    "CitizenRepository",
    "ConsentRepository",
    "consented_name",
    "standing_consent",
]

TELEGRAM = "telegram"
DEFAULT_TIMEZONE = "Europe/Warsaw"


CITIZEN_FLAGS = frozenset({"stopped", "no_reminders", "named_consent", "unreachable", "read_aloud"})

#: How stale `last_seen_at` may get before a message refreshes it.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


#: The lookups every update makes, built once: building a statement costs as much CPU
#: as running it (SQLAlchemy caches the compiled SQL, not the statement object).
_FIND = (
    select(Citizen)
    .join(CitizenChannel, CitizenChannel.citizen_id == Citizen.id)
    .where(
        CitizenChannel.channel == bindparam("channel"),
        CitizenChannel.channel_user_id == bindparam("channel_user_id"),
    )
)
_FIND_WITH_CHANNEL = (
    select(CitizenChannel, Citizen)
    .join(Citizen, Citizen.id == CitizenChannel.citizen_id)
    .where(
        CitizenChannel.channel == bindparam("channel"),
        CitizenChannel.channel_user_id == bindparam("channel_user_id"),
    )
)

#: A tap's citizen, their run touched last and the chat's newest question with
#: working buttons, in one read: the citizen and channel of `_FIND_WITH_CHANNEL`, the
#: run of `RunRepository.latest_active`, the keyboard of `KeyboardRepository.newest`
#: (on PostgreSQL every statement is a round trip, and a turn of the event loop).
_TAPPED_RUN = aliased(Run)
_FIND_WITH_RUN = _FIND_WITH_CHANNEL.add_columns(Run, NEWEST_OPEN.scalar_subquery()).outerjoin(
    Run,
    Run.id
    == select(_TAPPED_RUN.id)
    .where(_TAPPED_RUN.citizen_id == Citizen.id, _TAPPED_RUN.status == RunStatus.STARTED)
    .order_by(_TAPPED_RUN.updated_at.desc(), _TAPPED_RUN.id.desc())
    .limit(1)
    .correlate(Citizen)
    .scalar_subquery(),
)


class CitizenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, citizen_id: int) -> Citizen | None:
        return await self._session.get(Citizen, citizen_id)

    async def get_for_update(self, citizen_id: int) -> Citizen | None:
        """Load and row-lock the citizen (PostgreSQL), so two updates from one person
        are handled one after the other. SQLite serialises writers anyway."""
        result = await self._session.execute(
            select(Citizen)
            .where(Citizen.id == citizen_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def get_by_participant_id(self, pid: str) -> Citizen | None:
        result = await self._session.execute(select(Citizen).where(Citizen.participant_id == pid))
        return result.scalar_one_or_none()

    async def find(self, channel_user_id: int, channel: str = TELEGRAM) -> Citizen | None:
        result = await self._session.execute(
            _FIND, {"channel": channel, "channel_user_id": channel_user_id}
        )
        return result.scalar_one_or_none()

    async def get_or_create(
        self,
        channel_user_id: int,
        chat_id: int,
        *,
        secret: str,
        channel: str = TELEGRAM,
        display_name: str | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        lock: bool = False,
    ) -> Citizen:
        """The citizen behind a channel user, created on first contact; with `lock`,
        row-locked as `get_for_update` does, in the same statement that finds them.

        Safe when two updates of a new user race: both inserts use ON CONFLICT DO
        NOTHING, and both callers end up with the one row. Also refreshes the chat id,
        display name and `last_seen_at`.
        """
        now = utcnow()
        find = _FIND_WITH_CHANNEL
        if lock:
            find = find.with_for_update(of=Citizen).execution_options(populate_existing=True)
        found = (
            await self._session.execute(
                find, {"channel": channel, "channel_user_id": channel_user_id}
            )
        ).one_or_none()
        if found is None:
            pid = participant_id(secret, channel, channel_user_id)
            made = await self._session.execute(
                upsert_insert(self._session, Citizen)
                .values(participant_id=pid, timezone=timezone, created_at=now, last_seen_at=now)
                .on_conflict_do_nothing(index_elements=[Citizen.participant_id])
                .returning(Citizen)
            )
            citizen = made.scalar_one_or_none()
            # A row this transaction made is its own until it commits: nobody else can
            # see it, let alone lock it. Only a racing first update's row needs the lock.
            inserted = citizen is not None
            citizen = citizen or await self.get_by_participant_id(pid)
            assert citizen is not None
            await self._session.execute(
                upsert_insert(self._session, CitizenChannel)
                .values(
                    citizen_id=citizen.id,
                    channel=channel,
                    channel_user_id=channel_user_id,
                    chat_id=chat_id,
                    display_name=display_name,
                    created_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=[CitizenChannel.channel, CitizenChannel.channel_user_id]
                )
            )
            if lock and not inserted:
                return await self.get_for_update(citizen.id) or citizen
            return citizen
        link, citizen = found
        await self._touch(link, citizen, chat_id, display_name)
        return citizen

    async def find_with_run(
        self,
        channel_user_id: int,
        chat_id: int,
        keyboard_chat_id: int,
        *,
        channel: str = TELEGRAM,
        lock: bool = False,
    ) -> tuple[Citizen, Run | None, int | None] | None:
        """For a tapped button, in one read: the citizen as `get_or_create` finds them
        (refreshed the same way, row-locked with `lock`), their run touched last
        (`RunRepository.latest_active`) and the newest question with working buttons in
        `keyboard_chat_id` (`KeyboardRepository.newest`; None without a run). None for
        someone never seen: `get_or_create` then makes them."""
        find = _FIND_WITH_RUN
        if lock:
            find = find.with_for_update(of=Citizen).execution_options(populate_existing=True)
        found = (
            await self._session.execute(
                find,
                {
                    "channel": channel,
                    "channel_user_id": channel_user_id,
                    "chat_id": keyboard_chat_id,
                },
            )
        ).one_or_none()
        if found is None:
            return None
        link, citizen, run, newest = found
        await self._touch(link, citizen, chat_id, None)
        return citizen, run, newest if run is not None else None

    async def _touch(
        self, link: CitizenChannel, citizen: Citizen, chat_id: int, display_name: str | None
    ) -> None:
        """Keep the chat id and display name current, and when they were last seen."""
        now = utcnow()
        if link.chat_id != chat_id:
            link.chat_id = chat_id
        if display_name is not None and link.display_name != display_name:
            link.display_name = display_name
        # Last seen to the nearest few minutes: not worth a write on every message.
        if now - citizen.last_seen_at > LAST_SEEN_RESOLUTION:
            citizen.last_seen_at = now
        await self._session.flush()

    async def mark_unreachable(self, citizen_id: int) -> None:
        """The citizen blocked the bot: stop trying until they write again."""
        await self._session.execute(
            update(Citizen).where(Citizen.id == citizen_id).values(unreachable=True)
        )

    async def set_flags(self, citizen: Citizen, **flags: bool) -> None:
        """Set `stopped`, `no_reminders`, `named_consent`, `unreachable` or `read_aloud`."""
        for name, value in flags.items():
            if name not in CITIZEN_FLAGS:
                raise ValueError(f"not a citizen flag: {name}")
            setattr(citizen, name, value)
            setattr(attached(self._session, citizen), name, value)
        await self._session.flush()

    async def set_language(self, citizen: Citizen, language: str) -> None:
        citizen.language = language
        attached(self._session, citizen).language = language
        await self._session.flush()

    async def chat_id(self, citizen_id: int) -> int | None:
        """Where to send a message to this citizen (None after erasure): their chat with
        the bot they talk to (a citizen belongs to one bot; the outbox row's bot is
        theirs, see `OutboxRepository.enqueue`)."""
        result = await self._session.execute(
            select(CitizenChannel.chat_id)
            .where(
                CitizenChannel.citizen_id == citizen_id,
                or_(
                    CitizenChannel.channel == TELEGRAM,
                    CitizenChannel.channel.startswith(f"{TELEGRAM}:"),
                ),
            )
            .order_by(CitizenChannel.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def bot_of(self, citizen_id: int) -> str:
        """The bot the citizen talks to ("" the main one, or a helped person's)."""
        return await bot_of_citizen(self._session, citizen_id)

    async def channels(self, citizen_id: int) -> list[CitizenChannel]:
        result = await self._session.execute(
            select(CitizenChannel)
            .where(CitizenChannel.citizen_id == citizen_id)
            .order_by(CitizenChannel.id)
        )
        return list(result.scalars())

    async def erase(self, citizen: Citizen) -> None:
        """Delete everything about this citizen: answers, runs, consent, queued messages,
        the Telegram mapping and the citizen row (with them, by cascade: staff coding,
        report statuses, threads, follow-ups, deliveries, a leader's role, their votes
        and priority picks), and the statements they wrote with the votes on them. Audit
        entries that named them keep the action, time and actor, and name
        `ERASED_PARTICIPANT` instead.

        Inbox rows from their chat keep only the bare `update_id` (raw update emptied,
        chat id cleared), so a replay of an old update is still recognised as a replay
        and cannot re-create the person.
        """
        session = self._session
        await AuditRepository(session).forget(citizen.id, citizen.participant_id)
        chat_ids = select(CitizenChannel.chat_id).where(CitizenChannel.citizen_id == citizen.id)
        run_ids = select(Run.id).where(Run.citizen_id == citizen.id)
        await session.execute(delete(Answer).where(Answer.run_id.in_(run_ids)))
        # Their statements go too, with the votes others cast on them; their own votes
        # and priority picks go with their runs and citizen row (by cascade).
        await session.execute(delete(Statement).where(Statement.author_run_id.in_(run_ids)))
        await session.execute(
            update(Run).where(Run.parent_run_id.in_(run_ids)).values(parent_run_id=None)
        )
        await session.execute(delete(Run).where(Run.citizen_id == citizen.id))
        await session.execute(delete(ConsentRecord).where(ConsentRecord.citizen_id == citizen.id))
        await session.execute(
            delete(OutboxMessage).where(
                (OutboxMessage.citizen_id == citizen.id) | OutboxMessage.chat_id.in_(chat_ids)
            )
        )
        await session.execute(delete(OpenKeyboard).where(OpenKeyboard.chat_id.in_(chat_ids)))
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.chat_id.in_(chat_ids))
            .values(raw={}, chat_id=None, error=None)
        )
        await session.execute(delete(CitizenChannel).where(CitizenChannel.citizen_id == citizen.id))
        await session.execute(delete(Citizen).where(Citizen.id == citizen.id))
        await session.flush()


class ConsentRepository:
    """Versioned, timestamped consent: a new record per decision, never an update."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        citizen_id: int,
        purpose: str,
        text_version: str,
        granted: bool,
        *,
        consultation_id: int | None = None,
    ) -> ConsentRecord:
        record = ConsentRecord(
            citizen_id=citizen_id,
            purpose=purpose,
            text_version=text_version,
            granted=granted,
            consultation_id=consultation_id,
            created_at=utcnow(),
        )
        self._session.add(record)
        await self._session.flush()
        return record

    async def latest(
        self, citizen_id: int, purpose: str, *, consultation_id: int | None = None
    ) -> ConsentRecord | None:
        """The citizen's most recent decision for this purpose (and consultation)."""
        query = select(ConsentRecord).where(
            ConsentRecord.citizen_id == citizen_id, ConsentRecord.purpose == purpose
        )
        if consultation_id is not None:
            query = query.where(ConsentRecord.consultation_id == consultation_id)
        result = await self._session.execute(
            query.order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc()).limit(1)
        )
        return result.scalar_one_or_none()

    async def list_for_citizen(self, citizen_id: int) -> list[ConsentRecord]:
        result = await self._session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.citizen_id == citizen_id)
            .order_by(ConsentRecord.id)
        )
        return list(result.scalars())

    async def standing(self, citizen_id: int) -> list[ConsentRecord]:
        """The decision that stands per (consultation, purpose): the latest of each,
        oldest consultation first (what /consents shows)."""
        latest: dict[tuple[int | None, str], ConsentRecord] = {}
        for record in await self.list_for_citizen(citizen_id):
            latest[(record.consultation_id, record.purpose)] = record  # id order: last wins
        return sorted(latest.values(), key=lambda r: (r.consultation_id or 0, r.id))


def standing_consent(purpose: str) -> ScalarSelect[Any]:
    """When the citizen of the enclosing `Run` row gave `purpose` consent for its
    consultation, if their latest decision is a yes; NULL otherwise (never asked, said
    no, or withdrew). A correlated subquery for exports, so a withdrawal counts at once."""
    return (
        select(case((ConsentRecord.granted, ConsentRecord.created_at), else_=None))
        .where(
            ConsentRecord.citizen_id == Run.citizen_id,
            ConsentRecord.consultation_id == Run.consultation_id,
            ConsentRecord.purpose == purpose,
        )
        .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id.desc())
        .limit(1)
        .correlate(Run)
        .scalar_subquery()
    )


def consented_name(named: ScalarSelect[Any]) -> ScalarSelect[Any]:
    """The display name of the enclosing `Run`'s citizen, read only while `named`
    (`standing_consent("named")`) stands: nobody else's name leaves the database."""
    return (
        select(CitizenChannel.display_name)
        .where(CitizenChannel.citizen_id == Run.citizen_id, named.is_not(None))
        .order_by(CitizenChannel.id.desc())
        .limit(1)
        .correlate(Run)
        .scalar_subquery()
    )


async def bot_of_citizen(session: AsyncSession, citizen_id: int) -> str:
    """The bot of the citizen's channel (see storage.types.channel_of_bot)."""
    channel = await session.scalar(
        select(func.max(CitizenChannel.channel)).where(CitizenChannel.citizen_id == citizen_id)
    )
    return bot_of_channel(channel or "")
