"""Story fixtures for the storage tests: a published consultation and its citizens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from storage_stories import FLOW_YAML, NewCitizen, Published

from storage.models import Citizen
from storage.uow import UnitOfWork


@pytest.fixture
async def published(uow_factory: Callable[[], UnitOfWork]) -> Published:
    """The 'housing' consultation, version 1 published and open."""
    async with uow_factory() as uow:
        org = await uow.organisations.get_or_create("gmina-demo", "Gmina Demo")
        version = await uow.consultations.publish_version(
            "housing", 1, FLOW_YAML, org, "Mieszkania dla seniorów"
        )
        consultation = await uow.consultations.get_by_slug("housing")
        assert consultation is not None
        await uow.consultations.set_status(consultation, "open")
        await uow.commit()
    return Published(consultation, version)


@pytest.fixture
def new_citizen(uow_factory: Callable[[], UnitOfWork], pseudonym_secret: str) -> NewCitizen:
    """Make a Telegram user (user id == chat id) known, as their first message would."""

    async def make(telegram_id: int) -> Citizen:
        async with uow_factory() as uow:
            citizen = await uow.citizens.get_or_create(
                telegram_id, telegram_id, secret=pseudonym_secret, display_name="Anna"
            )
            await uow.commit()
        return citizen

    return make
