"""Partnerships: a consultation shared by its owner with partner organisations.

The one rule of who "belongs" to a partner lives here (`belongs`): a run belongs to a
partnership of role `partner` when the run it started from (itself, or the first run
of a follow-up) came through one of the partner organisation's communities (its
leaders' invite links set `Run.community_id`), or answered the partnership's provider
question with one of its provider keys. A `provider` partnership has no people of its
own: it sees figures of groups only. The dashboard narrows its queries with this
condition; it never decides membership itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Answer,
    Community,
    Consultation,
    Organisation,
    PartnerRole,
    Partnership,
    Run,
)
from storage.repositories._session import attached
from storage.views.dashboard import _json_equals

__all__ = ["PartnershipRepository", "SharedConsultation"]

#: (the partnership, the consultation, the organisation that owns it)
SharedConsultation = tuple[Partnership, Consultation, Organisation]


class PartnershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def invite(
        self,
        consultation_id: int,
        organisation_id: int,
        *,
        role: str,
        provider_step: str | None,
        provider_keys: Sequence[str],
        by: str,
        now: datetime,
    ) -> Partnership:
        partnership = Partnership(
            consultation_id=consultation_id,
            organisation_id=organisation_id,
            role=role,
            provider_step=provider_step,
            provider_keys=list(provider_keys),
            invited_at=now,
            invited_by=by,
        )
        self._session.add(partnership)
        await self._session.flush()
        return partnership

    async def get(self, partnership_id: int) -> Partnership | None:
        return await self._session.get(Partnership, partnership_id)

    async def current(self, consultation_id: int, organisation_id: int) -> Partnership | None:
        """The organisation's partnership in the consultation that has not ended
        (invited or accepted), if any."""
        result = await self._session.execute(
            select(Partnership)
            .where(
                Partnership.consultation_id == consultation_id,
                Partnership.organisation_id == organisation_id,
                Partnership.ended_at.is_(None),
            )
            .order_by(Partnership.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def active(self, consultation_id: int, organisation_id: int) -> Partnership | None:
        """The organisation's accepted partnership in the consultation, not ended."""
        found = await self.current(consultation_id, organisation_id)
        return found if found is not None and found.accepted_at is not None else None

    async def of_consultation(self, consultation_id: int) -> list[tuple[Partnership, Organisation]]:
        """Every partnership of the consultation, ended ones too, newest first."""
        result = await self._session.execute(
            select(Partnership, Organisation)
            .join(Organisation, Organisation.id == Partnership.organisation_id)
            .where(Partnership.consultation_id == consultation_id)
            .order_by(Partnership.id.desc())
        )
        return [(p, o) for p, o in result]

    async def of_organisation(self, organisation_id: int) -> list[SharedConsultation]:
        """The organisation's partnerships that have not ended (invitations waiting
        and accepted ones), with each consultation and its owner, by title."""
        owner = aliased(Organisation, name="owner")
        result = await self._session.execute(
            select(Partnership, Consultation, owner)
            .join(Consultation, Consultation.id == Partnership.consultation_id)
            .join(owner, owner.id == Consultation.organisation_id)
            .where(Partnership.organisation_id == organisation_id, Partnership.ended_at.is_(None))
            .order_by(Consultation.title, Partnership.id)
        )
        return [(p, c, o) for p, c, o in result]

    async def accept(self, partnership: Partnership, *, by: str, now: datetime) -> None:
        row = attached(self._session, partnership)
        row.accepted_at, row.accepted_by = now, by
        await self._session.flush()

    async def end(self, partnership: Partnership, *, by: str, now: datetime) -> None:
        row = attached(self._session, partnership)
        row.ended_at, row.ended_by = now, by
        await self._session.flush()

    def belongs(self, partnership: Partnership) -> ColumnElement[bool]:
        """A condition on `Run`: the run is one of the partner's own people's (see the
        module docstring). Never true for a `provider` partnership."""
        if partnership.role != PartnerRole.PARTNER:
            return false()
        origin = aliased(Run, name="partner_origin")
        communities = select(Community.id).where(
            Community.organisation_id == partnership.organisation_id
        )
        reached: list[ColumnElement[bool]] = [origin.community_id.in_(communities)]
        if partnership.provider_step and partnership.provider_keys:
            named = aliased(Answer, name="partner_named")
            dialect = self._session.get_bind().dialect.name
            keys = partnership.provider_keys
            reached.append(
                exists().where(
                    named.run_id == origin.id,
                    named.step_id == partnership.provider_step,
                    ~named.skipped,
                    or_(*(_json_equals(dialect, named.value, key) for key in keys)),
                )
            )
        started_from = or_(
            and_(Run.parent_run_id.is_(None), origin.id == Run.id),
            origin.id == Run.parent_run_id,
        )
        return exists().where(started_from, or_(*reached))

    async def citizen_runs(
        self, citizen_id: int, organisation_id: int
    ) -> list[tuple[Run, Consultation]]:
        """The citizen's runs that belong to the organisation through its accepted
        partnerships that have not ended, newest first."""
        partnerships = await self._session.execute(
            select(Partnership).where(
                Partnership.organisation_id == organisation_id,
                Partnership.accepted_at.is_not(None),
                Partnership.ended_at.is_(None),
                Partnership.role == PartnerRole.PARTNER,
            )
        )
        found: dict[int, tuple[Run, Consultation]] = {}
        for partnership in partnerships.scalars():
            rows = await self._session.execute(
                select(Run, Consultation)
                .join(Consultation, Consultation.id == Run.consultation_id)
                .where(
                    Run.citizen_id == citizen_id,
                    Run.consultation_id == partnership.consultation_id,
                    self.belongs(partnership),
                )
            )
            for run, consultation in rows:
                found[run.id] = (run, consultation)
        return [found[run_id] for run_id in sorted(found, reverse=True)]
