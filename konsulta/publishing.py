"""Publishing a checked flow file as a consultation version.

Only a flow with no problems is published, and a published version is immutable: the
exact YAML and the translations from its catalogs are stored, so every answer keeps
pointing at the question it answered, in the words the citizen read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from dialogs.loader import FlowError, check_flow_file, check_flow_text, load_translations
from dialogs.schema import Flow
from konsulta.catalogs import with_fallbacks
from storage.models import ConsultationStatus
from storage.repositories import VersionConflict
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Published:
    slug: str
    version: int
    status: str
    flow: Flow


def organisation_slug(name: str) -> str:
    """ "Gmina Słupsk" -> "gmina-slupsk": a stable key for the organisation's name."""
    ascii_name = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    ascii_name = ascii_name.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64] or "organisation"


def read_flow(path: Path, *, allow_incomplete: bool = False) -> tuple[Flow, str]:
    """The checked flow (with its catalogs' translations) and its YAML text; raises
    FlowError listing every problem.

    A listed language missing some texts is a problem, unless `allow_incomplete`:
    then those texts are shown in the flow's default language.
    """
    flow, problems = check_flow_file(path)
    yaml_text = path.read_bytes().decode("utf-8-sig") if flow is not None else ""
    if allow_incomplete and flow is not None:
        translations, po_problems = load_translations(path)
        filled = with_fallbacks(flow, translations)
        flow, flow_problems = check_flow_text(yaml_text, path.name, filled)
        problems = po_problems + flow_problems
    if problems or flow is None:
        raise FlowError(problems)
    return flow, yaml_text


def translations_of(flow: Flow) -> dict[str, dict[str, str]]:
    """What the flow was loaded with from its catalogs (stored with the version)."""
    return {language: dict(texts) for language, texts in flow._translations.items() if texts}


class OtherOrganisation(VersionConflict):
    """The consultation id is taken by another organisation's consultation."""


async def publish(
    uow: UnitOfWork,
    flow: Flow,
    yaml_text: str,
    *,
    open_now: bool,
    organisation_as: str | None = None,
) -> Published:
    """Store the version (idempotent for identical YAML); raises VersionConflict if the
    same version number was published with different content.

    The consultation belongs to the organisation its YAML names, unless
    `organisation_as` (a slug) says otherwise: the playground publishes every bundled
    flow under one organisation, so the dashboard account a newcomer makes for it sees
    them all. A consultation belongs to one organisation for good: a version naming
    another is refused (`OtherOrganisation`), so nobody replaces another organisation's
    consultation by reusing its id."""
    slug = organisation_as or organisation_slug(flow.organisation)
    existing = await uow.consultations.get_by_slug(flow.id)
    if existing is not None:
        owner = await uow.organisations.get(existing.organisation_id)
        if owner is not None and owner.slug != slug:
            raise OtherOrganisation(
                f"consultation '{flow.id}' belongs to another organisation ({owner.name}); "
                "give yours another id"
            )
    organisation = await uow.organisations.get_or_create(
        slug, flow.organisation if organisation_as is None else organisation_as
    )
    await uow.consultations.publish_version(
        flow.id,
        flow.version,
        yaml_text,
        organisation,
        flow.localize(flow.title, flow.default_language),
        translations_of(flow),
    )
    consultation = await uow.consultations.get_by_slug(flow.id)
    assert consultation is not None
    if open_now and consultation.status != ConsultationStatus.OPEN:
        await uow.consultations.set_status(consultation, ConsultationStatus.OPEN)
    return Published(flow.id, flow.version, str(consultation.status), flow)
