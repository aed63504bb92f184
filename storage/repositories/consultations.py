"""Organisations, consultations and their published flow versions.

A published version is immutable: the exact YAML is kept so that every answer maps to
the question it answered. Publishing the same version again with the same YAML is a
no-op (the CLI can re-run); with different YAML it is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Consultation,
    ConsultationStatus,
    FlowVersion,
    Organisation,
    Register,
    Run,
)
from storage.repositories._dialect import upsert_insert
from storage.repositories._session import attached
from storage.types import utcnow

__all__ = ["ConsultationRepository", "OrganisationRepository", "VersionConflict", "yaml_sha256"]


class VersionConflict(ValueError):
    """A flow version already exists with different YAML; publish a new version."""


def yaml_sha256(yaml_text: str) -> str:
    return hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()


class OrganisationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, organisation_id: int) -> Organisation | None:
        return await self._session.get(Organisation, organisation_id)

    async def list_all(self) -> list[Organisation]:
        result = await self._session.execute(select(Organisation).order_by(Organisation.slug))
        return list(result.scalars())

    async def get_by_slug(self, slug: str) -> Organisation | None:
        result = await self._session.execute(select(Organisation).where(Organisation.slug == slug))
        return result.scalar_one_or_none()

    async def ids_of(self, slugs: Collection[str]) -> set[int]:
        """The ids of the organisations with these slugs (unknown ones: none)."""
        result = await self._session.execute(
            select(Organisation.id).where(Organisation.slug.in_(list(slugs)))
        )
        return set(result.scalars())

    async def get_or_create(self, slug: str, name: str | None = None) -> Organisation:
        """The organisation with this slug; created (named `name` or the slug) if new."""
        await self._session.execute(
            upsert_insert(self._session, Organisation)
            .values(slug=slug, name=name or slug, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[Organisation.slug])
        )
        organisation = await self.get_by_slug(slug)
        assert organisation is not None
        return organisation

    async def set_register(self, organisation: Organisation, register: Register) -> None:
        organisation.register = register

    async def register_of(self, consultation_id: int) -> Register:
        """The register of the organisation that runs this consultation."""
        result = await self._session.execute(
            select(Organisation.register)
            .join(Consultation, Consultation.organisation_id == Organisation.id)
            .where(Consultation.id == consultation_id)
        )
        return Register(result.scalar_one_or_none() or Register.FORMAL)

    async def register_for_citizen(self, citizen_id: int) -> Register:
        """Outside a consultation: the register of the organisation whose consultation
        the citizen touched last (formal for someone who has answered none)."""
        result = await self._session.execute(
            select(Organisation.register)
            .join(Consultation, Consultation.organisation_id == Organisation.id)
            .join(Run, Run.consultation_id == Consultation.id)
            .where(Run.citizen_id == citizen_id)
            .order_by(Run.updated_at.desc(), Run.id.desc())
            .limit(1)
        )
        return Register(result.scalar_one_or_none() or Register.FORMAL)


class ConsultationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, consultation_id: int) -> Consultation | None:
        return await self._session.get(Consultation, consultation_id)

    async def get_by_slug(self, slug: str) -> Consultation | None:
        result = await self._session.execute(select(Consultation).where(Consultation.slug == slug))
        return result.scalar_one_or_none()

    async def create(
        self,
        slug: str,
        organisation: Organisation,
        title: str,
        *,
        status: str = ConsultationStatus.DRAFT,
    ) -> Consultation:
        now = utcnow()
        consultation = Consultation(
            slug=slug,
            organisation_id=organisation.id,
            title=title,
            status=status,
            created_at=now,
            updated_at=now,
        )
        self._session.add(consultation)
        await self._session.flush()
        return consultation

    async def list_all(
        self,
        *,
        status: str | None = None,
        organisation: Organisation | None = None,
        organisation_id: int | None = None,
        organisation_ids: Collection[int] | None = None,
    ) -> list[Consultation]:
        query = select(Consultation)
        if organisation_ids is not None:
            query = query.where(Consultation.organisation_id.in_(list(organisation_ids)))
        if status is not None:
            query = query.where(Consultation.status == status)
        if organisation is not None:
            organisation_id = organisation.id
        if organisation_id is not None:
            query = query.where(Consultation.organisation_id == organisation_id)
        result = await self._session.execute(query.order_by(Consultation.id))
        return list(result.scalars())

    async def set_status(self, consultation: Consultation, status: str) -> None:
        status = ConsultationStatus(status)
        now = utcnow()
        # Retention counts from the closing; reopening starts the count again.
        closed_at = now if status is ConsultationStatus.CLOSED else None
        if status is ConsultationStatus.CLOSED and consultation.status == status:
            closed_at = consultation.closed_at or now
        for row in (consultation, attached(self._session, consultation)):
            row.status, row.updated_at, row.closed_at = status, now, closed_at
        await self._session.flush()

    async def latest_open(self) -> Consultation | None:
        """The most recently opened (or changed) open consultation."""
        result = await self._session.execute(
            select(Consultation)
            .where(Consultation.status == ConsultationStatus.OPEN)
            .order_by(Consultation.updated_at.desc(), Consultation.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def publish_version(
        self,
        slug: str,
        version: int,
        yaml_text: str,
        organisation: Organisation,
        title: str,
        translations: dict[str, dict[str, str]] | None = None,
    ) -> FlowVersion:
        """Store `yaml_text` as `version` of the consultation `slug` (created as a draft
        if new) and make it current if it is the newest.

        Idempotent for identical YAML and translations; raises `VersionConflict` if
        that version was already published with different ones.
        """
        translations = translations or {}
        consultation = await self.get_by_slug(slug)
        if consultation is None:
            consultation = await self.create(slug, organisation, title)
        digest = yaml_sha256(yaml_text)
        existing = await self.get_version(consultation, version)
        if existing is not None:
            if existing.sha256 != digest:
                raise VersionConflict(
                    f"{slug} version {version} is already published with different YAML; "
                    "bump the version"
                )
            if (existing.translations or {}) != translations:
                raise VersionConflict(
                    f"{slug} version {version} is already published with different "
                    "translations; bump the version"
                )
            return existing
        flow_version = FlowVersion(
            consultation_id=consultation.id,
            version=version,
            yaml_text=yaml_text,
            sha256=digest,
            translations=translations,
            published_at=utcnow(),
        )
        self._session.add(flow_version)
        if consultation.current_version is None or version > consultation.current_version:
            consultation.current_version = version
            consultation.title = title
        consultation.updated_at = utcnow()
        await self._session.flush()
        return flow_version

    async def get_version(
        self, consultation: Consultation, version: int | None = None
    ) -> FlowVersion | None:
        """A published version; by default the current one."""
        number = consultation.current_version if version is None else version
        if number is None:
            return None
        result = await self._session.execute(
            select(FlowVersion).where(
                FlowVersion.consultation_id == consultation.id, FlowVersion.version == number
            )
        )
        return result.scalar_one_or_none()

    async def version_id(self, consultation: Consultation) -> int | None:
        """The row id of the current version, without its YAML and translations (a
        process that parsed that version already needs nothing more)."""
        if consultation.current_version is None:
            return None
        result = await self._session.execute(
            select(FlowVersion.id).where(
                FlowVersion.consultation_id == consultation.id,
                FlowVersion.version == consultation.current_version,
            )
        )
        return result.scalar_one_or_none()

    async def version_ids(self) -> list[int]:
        """Every published flow version's id."""
        return list((await self._session.execute(select(FlowVersion.id))).scalars())

    async def get_version_by_id(self, flow_version_id: int) -> FlowVersion | None:
        return await self._session.get(FlowVersion, flow_version_id)
