"""Communities, their leaders, invite links and leader broadcasts.

Leaders are citizens with an extra row: their Telegram id stays in `citizen_channels`
like anyone else's. Statistics read counts only, grouped; no query here returns a
citizen's answers to a leader.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    AuditEntry,
    CitizenChannel,
    Community,
    InviteLink,
    InviteOpen,
    Leader,
    LeaderApprover,
    LeaderBroadcast,
    LeaderBroadcastStatus,
    LeaderCommunity,
    LeaderLink,
    LeaderPolicy,
    Run,
    RunStatus,
)
from storage.repositories._dialect import upsert_insert
from storage.types import utcnow

__all__ = [
    "CommunityRepository",
    "FunnelRow",
    "InviteRepository",
    "LeaderBroadcastRepository",
    "LeaderLinkRepository",
    "LeaderRepository",
    "new_payload",
]

#: 18 random bytes: 24 URL-safe characters, far below Telegram's 64 for a start payload.
PAYLOAD_BYTES = 18


def new_payload() -> str:
    """An unguessable /start payload: only [A-Za-z0-9_-], as Telegram allows."""
    return secrets.token_urlsafe(PAYLOAD_BYTES)


@dataclass(frozen=True)
class FunnelRow:
    """One cell of a leader's statistics: how many, in a language and a week."""

    stage: str  # invited, consented, started, completed
    language: str
    week: str  # ISO week, e.g. 2026-W48
    count: int


class CommunityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, community_id: int) -> Community | None:
        return await self._session.get(Community, community_id)

    async def find(self, organisation_id: int, name: str) -> Community | None:
        result = await self._session.execute(
            select(Community).where(
                Community.organisation_id == organisation_id, Community.name == name
            )
        )
        return result.scalar_one_or_none()

    async def create(self, organisation_id: int, name: str, languages: list[str]) -> Community:
        community = Community(
            organisation_id=organisation_id, name=name, languages=languages, created_at=utcnow()
        )
        self._session.add(community)
        await self._session.flush()
        return community

    async def list_all(self, organisation_id: int | None = None) -> list[Community]:
        query = select(Community).order_by(Community.organisation_id, Community.name)
        if organisation_id is not None:
            query = query.where(Community.organisation_id == organisation_id)
        return list((await self._session.execute(query)).scalars())

    async def funnel(self, community_ids: list[int], consultation_id: int) -> list[FunnelRow]:
        """Counts per stage, language and ISO week for these communities' people.

        invited: link opened; consented: runs with consent; started: runs with at least
        one answer; completed: finished runs. Weeks are grouped in Python so the SQL is
        the same on SQLite and PostgreSQL.
        """
        if not community_ids:
            return []
        cells: dict[tuple[str, str, str], int] = {}

        def add(stage: str, language: str, when: datetime) -> None:
            year, week, _ = when.isocalendar()
            key = (stage, language, f"{year}-W{week:02d}")
            cells[key] = cells.get(key, 0) + 1

        opens = await self._session.execute(
            select(InviteOpen.language, InviteOpen.opened_at).where(
                InviteOpen.community_id.in_(community_ids),
                InviteOpen.consultation_id == consultation_id,
            )
        )
        for language, opened_at in opens:
            add("invited", language, opened_at)
        answered = exists().where(Answer.run_id == Run.id)
        runs = await self._session.execute(
            select(Run.language, Run.started_at, Run.status, answered).where(
                Run.community_id.in_(community_ids),
                Run.consultation_id == consultation_id,
                Run.consent_record_id.is_not(None),
                Run.parent_run_id.is_(None),
            )
        )
        for language, started_at, status, has_answers in runs:
            add("consented", language, started_at)
            if has_answers or status == RunStatus.COMPLETED:
                add("started", language, started_at)
            if status == RunStatus.COMPLETED:
                add("completed", language, started_at)
        return [FunnelRow(s, lang, week, n) for (s, lang, week), n in sorted(cells.items())]


#: Every update asks whether its sender is a leader: the statement is built once.
_FIND_ACTIVE = (
    select(Leader)
    .join(CitizenChannel, CitizenChannel.citizen_id == Leader.citizen_id)
    .where(
        CitizenChannel.channel == bindparam("channel"),
        CitizenChannel.channel_user_id == bindparam("channel_user_id"),
        Leader.active.is_(True),
    )
)


#: When this process last made someone a leader (`time.monotonic()`); the bot's
#: `LeaderContext` looks every update up for a while after it (see its docstring).
last_made = float("-inf")


class LeaderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active_users(self) -> set[tuple[str, int]]:
        """(channel, channel user id) of every active leader: few, read in one go."""
        result = await self._session.execute(
            select(CitizenChannel.channel, CitizenChannel.channel_user_id)
            .join(Leader, Leader.citizen_id == CitizenChannel.citizen_id)
            .where(Leader.active.is_(True))
        )
        return {(channel, user) for channel, user in result}

    async def get(self, leader_id: int) -> Leader | None:
        return await self._session.get(Leader, leader_id)

    async def for_citizen(self, citizen_id: int) -> Leader | None:
        result = await self._session.execute(select(Leader).where(Leader.citizen_id == citizen_id))
        return result.scalar_one_or_none()

    async def find_active(self, channel_user_id: int, channel: str = "telegram") -> Leader | None:
        """The active leader behind a Telegram user, if they are one (one query)."""
        result = await self._session.execute(
            _FIND_ACTIVE, {"channel": channel, "channel_user_id": channel_user_id}
        )
        return result.scalar_one_or_none()

    async def make(self, citizen_id: int, organisation_id: int) -> Leader:
        """The citizen's leader row, (re)activated; created if new."""
        leader = await self.for_citizen(citizen_id)
        if leader is None:
            leader = Leader(
                citizen_id=citizen_id, organisation_id=organisation_id, created_at=utcnow()
            )
            self._session.add(leader)
        leader.active, leader.removed_at = True, None
        await self._session.flush()
        global last_made
        last_made = time.monotonic()
        return leader

    async def join(self, leader: Leader, community: Community) -> None:
        await self._session.execute(
            upsert_insert(self._session, LeaderCommunity)
            .values(leader_id=leader.id, community_id=community.id, created_at=utcnow())
            .on_conflict_do_nothing(
                index_elements=[LeaderCommunity.leader_id, LeaderCommunity.community_id]
            )
        )

    async def leave(self, leader: Leader, community: Community | None = None) -> int:
        """Leave one community (or all); links of the community are kept. Returns how
        many communities are left; with none the leader is deactivated."""
        query = delete(LeaderCommunity).where(LeaderCommunity.leader_id == leader.id)
        if community is not None:
            query = query.where(LeaderCommunity.community_id == community.id)
        await self._session.execute(query)
        left = len(await self.communities(leader))
        if left == 0:
            leader.active, leader.removed_at = False, utcnow()
            leader.assisting_citizen_id = None
        await self._session.flush()
        return left

    async def communities(self, leader: Leader) -> list[Community]:
        result = await self._session.execute(
            select(Community)
            .join(LeaderCommunity, LeaderCommunity.community_id == Community.id)
            .where(LeaderCommunity.leader_id == leader.id)
            .order_by(Community.name)
        )
        return list(result.scalars())

    async def list_all(self, organisation_id: int | None = None) -> list[tuple[Leader, int, str]]:
        """(leader, Telegram user id, community names) of every leader."""
        query = (
            select(Leader, CitizenChannel.channel_user_id)
            .join(CitizenChannel, CitizenChannel.citizen_id == Leader.citizen_id)
            .order_by(Leader.id)
        )
        if organisation_id is not None:
            query = query.where(Leader.organisation_id == organisation_id)
        found = []
        for leader, user_id in (await self._session.execute(query)).all():
            names = ", ".join(c.name for c in await self.communities(leader))
            found.append((leader, int(user_id), names))
        return found

    async def of_community(self, community_id: int) -> list[tuple[Leader, int]]:
        """(leader, Telegram user id) of the community's leaders, in the order they
        joined."""
        result = await self._session.execute(
            select(Leader, CitizenChannel.channel_user_id)
            .join(LeaderCommunity, LeaderCommunity.leader_id == Leader.id)
            .join(CitizenChannel, CitizenChannel.citizen_id == Leader.citizen_id)
            .where(LeaderCommunity.community_id == community_id)
            .order_by(LeaderCommunity.created_at, Leader.id)
        )
        return [(leader, int(user_id)) for leader, user_id in result.all()]

    async def counts(self, organisation_id: int) -> dict[int, int]:
        """How many leaders each of the organisation's communities has."""
        result = await self._session.execute(
            select(LeaderCommunity.community_id, func.count())
            .join(Community, Community.id == LeaderCommunity.community_id)
            .where(Community.organisation_id == organisation_id)
            .group_by(LeaderCommunity.community_id)
        )
        return {int(c): int(n) for c, n in result.all()}

    async def set_assisting(self, leader: Leader, citizen_id: int | None) -> None:
        await self._session.execute(
            update(Leader).where(Leader.id == leader.id).values(assisting_citizen_id=citizen_id)
        )
        leader.assisting_citizen_id = citizen_id

    # --- approvers and policy ----------------------------------------------------------

    async def add_approver(self, organisation_id: int, citizen_id: int) -> None:
        await self._session.execute(
            upsert_insert(self._session, LeaderApprover)
            .values(organisation_id=organisation_id, citizen_id=citizen_id, created_at=utcnow())
            .on_conflict_do_nothing(
                index_elements=[LeaderApprover.organisation_id, LeaderApprover.citizen_id]
            )
        )

    async def remove_approver(self, organisation_id: int, citizen_id: int) -> None:
        await self._session.execute(
            delete(LeaderApprover).where(
                LeaderApprover.organisation_id == organisation_id,
                LeaderApprover.citizen_id == citizen_id,
            )
        )

    async def is_approver(self, organisation_id: int, citizen_id: int) -> bool:
        result = await self._session.execute(
            select(LeaderApprover.id).where(
                LeaderApprover.organisation_id == organisation_id,
                LeaderApprover.citizen_id == citizen_id,
            )
        )
        return result.first() is not None

    async def approver_chats(self, organisation_id: int) -> list[tuple[int, int]]:
        """(citizen id, chat id) of the organisation's approvers."""
        result = await self._session.execute(
            select(LeaderApprover.citizen_id, CitizenChannel.chat_id)
            .join(CitizenChannel, CitizenChannel.citizen_id == LeaderApprover.citizen_id)
            .where(LeaderApprover.organisation_id == organisation_id)
            .order_by(LeaderApprover.id)
        )
        return [(int(c), int(chat)) for c, chat in result.all()]

    async def approval_required(self, organisation_id: int) -> bool:
        policy = await self._session.get(LeaderPolicy, organisation_id)
        return bool(policy and policy.approval_required)

    async def set_approval_required(self, organisation_id: int, required: bool) -> None:
        insert = upsert_insert(self._session, LeaderPolicy).values(
            organisation_id=organisation_id, approval_required=required
        )
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=[LeaderPolicy.organisation_id],
                set_={"approval_required": insert.excluded.approval_required},
            )
        )

    # --- audit -------------------------------------------------------------------------

    async def audit(
        self,
        actor: str,
        organisation_id: int | None,
        action: str,
        target: str | None = None,
        **detail: Any,
    ) -> None:
        """One line in the shared audit log; `actor` like "leader:3" or "cli"."""
        self._session.add(
            AuditEntry(
                staff_user_id=None,
                email=actor,
                organisation_id=organisation_id,
                action=action[:32],
                target=target,
                detail=detail,
                created_at=utcnow(),
            )
        )
        await self._session.flush()

    async def audit_log(self, actor: str) -> list[AuditEntry]:
        result = await self._session.execute(
            select(AuditEntry).where(AuditEntry.email == actor).order_by(AuditEntry.id)
        )
        return list(result.scalars())


class InviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, consultation_id: int, community_id: int) -> InviteLink | None:
        result = await self._session.execute(
            select(InviteLink)
            .where(
                InviteLink.consultation_id == consultation_id,
                InviteLink.community_id == community_id,
                InviteLink.revoked_at.is_(None),
            )
            .order_by(InviteLink.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def get_or_create(
        self, consultation_id: int, community_id: int, *, created_by: int | None = None
    ) -> InviteLink:
        link = await self.active(consultation_id, community_id)
        if link is None:
            link = InviteLink(
                payload=new_payload(),
                consultation_id=consultation_id,
                community_id=community_id,
                created_by=created_by,
                created_at=utcnow(),
            )
            self._session.add(link)
            await self._session.flush()
        return link

    async def revoke(self, payload: str) -> InviteLink | None:
        link = await self.by_payload(payload, include_revoked=True)
        if link is not None and link.revoked_at is None:
            link.revoked_at = utcnow()
            await self._session.flush()
        return link

    async def by_payload(self, payload: str, *, include_revoked: bool = False) -> InviteLink | None:
        query = select(InviteLink).where(InviteLink.payload == payload)
        if not include_revoked:
            query = query.where(InviteLink.revoked_at.is_(None))
        return (await self._session.execute(query)).scalar_one_or_none()

    async def of_community(self, community_id: int) -> list[InviteLink]:
        """The community's working links (one per consultation at most)."""
        result = await self._session.execute(
            select(InviteLink)
            .where(InviteLink.community_id == community_id, InviteLink.revoked_at.is_(None))
            .order_by(InviteLink.consultation_id, InviteLink.id)
        )
        return list(result.scalars())

    async def get(self, link_id: int) -> InviteLink | None:
        return await self._session.get(InviteLink, link_id)

    async def record_open(self, link: InviteLink, language: str) -> None:
        self._session.add(
            InviteOpen(
                link_id=link.id,
                consultation_id=link.consultation_id,
                community_id=link.community_id,
                language=language,
                opened_at=utcnow(),
            )
        )
        await self._session.flush()


class LeaderBroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, broadcast_id: int) -> LeaderBroadcast | None:
        return await self._session.get(LeaderBroadcast, broadcast_id, populate_existing=True)

    async def create(self, leader: Leader, community: Community, kind: str) -> LeaderBroadcast:
        # A new compose dialog replaces any unfinished one of the same leader.
        await self._session.execute(
            update(LeaderBroadcast)
            .where(
                LeaderBroadcast.leader_id == leader.id,
                LeaderBroadcast.status.in_(
                    [LeaderBroadcastStatus.COMPOSING, LeaderBroadcastStatus.DRAFT]
                ),
            )
            .values(status=LeaderBroadcastStatus.CANCELLED)
        )
        broadcast = LeaderBroadcast(
            leader_id=leader.id,
            community_id=community.id,
            organisation_id=community.organisation_id,
            kind=kind,
            languages=list(community.languages),
            status=LeaderBroadcastStatus.COMPOSING
            if kind == "message"
            else LeaderBroadcastStatus.DRAFT,
            created_at=utcnow(),
        )
        self._session.add(broadcast)
        await self._session.flush()
        return broadcast

    async def composing(self, leader_id: int) -> LeaderBroadcast | None:
        """The broadcast waiting for the leader to type its text, if any."""
        result = await self._session.execute(
            select(LeaderBroadcast)
            .where(
                LeaderBroadcast.leader_id == leader_id,
                LeaderBroadcast.status == LeaderBroadcastStatus.COMPOSING,
            )
            .order_by(LeaderBroadcast.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def transition(self, broadcast_id: int, old: list[str], new: str, **values: Any) -> bool:
        """Move from one of `old` to `new` atomically; False if someone else moved it
        first (a double tap, two approvers), so each step happens once."""
        result = await self._session.execute(
            update(LeaderBroadcast)
            .where(LeaderBroadcast.id == broadcast_id, LeaderBroadcast.status.in_(old))
            .values(status=new, **values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def requested_since(self, leader_id: int, since: datetime) -> int:
        """How many broadcasts the leader sent or asked to send since `since`."""
        result = await self._session.execute(
            select(func.count())
            .select_from(LeaderBroadcast)
            .where(
                and_(
                    LeaderBroadcast.leader_id == leader_id,
                    LeaderBroadcast.requested_at >= since,
                    LeaderBroadcast.status.in_(
                        [LeaderBroadcastStatus.AWAITING_APPROVAL, LeaderBroadcastStatus.SENT]
                    ),
                )
            )
        )
        return int(result.scalar_one())

    async def awaiting(self, organisation_id: int) -> list[LeaderBroadcast]:
        """Broadcasts waiting for approval (the dashboard lists these)."""
        result = await self._session.execute(
            select(LeaderBroadcast)
            .where(
                LeaderBroadcast.organisation_id == organisation_id,
                LeaderBroadcast.status == LeaderBroadcastStatus.AWAITING_APPROVAL,
            )
            .order_by(LeaderBroadcast.id)
        )
        return list(result.scalars())


def token_hash(token: str) -> str:
    """What is stored of a one-time leader link's token (SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LeaderLinkRepository:
    """One-time "become a leader" links; the token itself is never stored."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, organisation_id: int, community_id: int, token: str, *, by: str, expires: datetime
    ) -> LeaderLink:
        link = LeaderLink(
            token_hash=token_hash(token),
            organisation_id=organisation_id,
            community_id=community_id,
            created_by=by[:200],
            created_at=utcnow(),
            expires_at=expires,
        )
        self._session.add(link)
        await self._session.flush()
        return link

    async def get(self, link_id: int) -> LeaderLink | None:
        return await self._session.get(LeaderLink, link_id)

    async def by_token(self, token: str) -> LeaderLink | None:
        result = await self._session.execute(
            select(LeaderLink).where(LeaderLink.token_hash == token_hash(token))
        )
        return result.scalar_one_or_none()

    async def use(self, link_id: int, now: datetime) -> bool:
        """Use the link up, atomically: True for exactly one caller, and only while it
        is unused, not revoked and not expired (two people opening it at once: one)."""
        result = await self._session.execute(
            update(LeaderLink)
            .where(
                LeaderLink.id == link_id,
                LeaderLink.used_at.is_(None),
                LeaderLink.revoked_at.is_(None),
                LeaderLink.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def set_used_by(self, link_id: int, leader_id: int) -> None:
        await self._session.execute(
            update(LeaderLink)
            .where(LeaderLink.id == link_id)
            .values(used_by=leader_id)
            .execution_options(synchronize_session=False)
        )

    async def revoke(self, link_id: int, now: datetime) -> bool:
        result = await self._session.execute(
            update(LeaderLink)
            .where(
                LeaderLink.id == link_id,
                LeaderLink.used_at.is_(None),
                LeaderLink.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def of_community(self, community_id: int, limit: int = 50) -> list[LeaderLink]:
        """The community's links, newest first (the dashboard shows their state)."""
        result = await self._session.execute(
            select(LeaderLink)
            .where(LeaderLink.community_id == community_id)
            .order_by(LeaderLink.id.desc())
            .limit(limit)
        )
        return list(result.scalars())
