"""Published flow versions are immutable, so old answers keep their questions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from storage_stories import FLOW_YAML, Published

from storage.repositories import VersionConflict
from storage.uow import UnitOfWork


async def test_publishing_is_idempotent_and_never_overwrites_a_version(
    uow_factory: Callable[[], UnitOfWork], published: Published
) -> None:
    async with uow_factory() as uow:
        org = await uow.organisations.get_or_create("gmina-demo")
        assert org.name == "Gmina Demo"  # get_or_create keeps the existing row
        same = await uow.consultations.publish_version("housing", 1, FLOW_YAML, org, "x")
        assert same.id == published.version.id
        with pytest.raises(VersionConflict):
            await uow.consultations.publish_version(
                "housing", 1, FLOW_YAML + "# edited\n", org, "x"
            )

    v2_yaml = FLOW_YAML.replace("version: 1", "version: 2")
    async with uow_factory() as uow:
        org = await uow.organisations.get_or_create("gmina-demo")
        await uow.consultations.publish_version("housing", 2, v2_yaml, org, "Mieszkania 2027")
        await uow.commit()
    async with uow_factory() as uow:
        consultation = await uow.consultations.get_by_slug("housing")
        assert consultation is not None
        assert consultation.current_version == 2
        assert consultation.title == "Mieszkania 2027"
        current = await uow.consultations.get_version(consultation)
        old = await uow.consultations.get_version(consultation, 1)
        assert current is not None and current.yaml_text == v2_yaml
        assert old is not None and old.yaml_text == FLOW_YAML


async def test_listing_and_the_latest_open_consultation(
    uow_factory: Callable[[], UnitOfWork], published: Published
) -> None:
    async with uow_factory() as uow:
        org = await uow.organisations.get_or_create("ngo", "Fundacja")
        draft = await uow.consultations.create("youth", org, "Młodzież")
        latest = await uow.consultations.latest_open()
        assert latest is not None and latest.id == published.consultation.id
        await uow.consultations.set_status(draft, "open")
        assert await uow.consultations.latest_open() is draft
        await uow.consultations.set_status(draft, "closed")
        await uow.commit()
    async with uow_factory() as uow:
        assert [c.slug for c in await uow.consultations.list_all()] == ["housing", "youth"]
        assert [c.slug for c in await uow.consultations.list_all(status="closed")] == ["youth"]
        latest = await uow.consultations.latest_open()
        assert latest is not None and latest.slug == "housing"
        with pytest.raises(ValueError):
            await uow.consultations.set_status(latest, "archived")
