"""Citizens are known by a pseudonym; their Telegram id sits in one table."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from storage.pseudonym import participant_id
from storage.uow import UnitOfWork


async def test_first_contact_creates_a_pseudonymous_citizen_and_later_finds_them(
    uow_factory: Callable[[], UnitOfWork], pseudonym_secret: str
) -> None:
    async with uow_factory() as uow:
        citizen = await uow.citizens.get_or_create(
            8_000_000_001, 8_000_000_001, secret=pseudonym_secret, timezone="Europe/Tallinn"
        )
        await uow.commit()
    assert citizen.participant_id == participant_id(pseudonym_secret, "telegram", 8_000_000_001)
    assert citizen.timezone == "Europe/Tallinn"
    assert citizen.language is None
    assert not (citizen.stopped or citizen.unreachable or citizen.no_reminders)
    first_seen = citizen.last_seen_at

    async with uow_factory() as uow:  # they come back, from a new chat, with a new name
        again = await uow.citizens.get_or_create(
            8_000_000_001, -100_123, secret=pseudonym_secret, display_name="Maarja"
        )
        await uow.commit()
    assert again.id == citizen.id
    assert again.last_seen_at >= first_seen
    async with uow_factory() as uow:
        assert await uow.citizens.chat_id(citizen.id) == -100_123
        (channel,) = await uow.citizens.channels(citizen.id)
        assert channel.display_name == "Maarja"


@pytest.mark.parametrize("lock", [False, True], ids=["unlocked", "row-locked"])
async def test_two_first_messages_at_once_make_one_citizen(
    uow_factory: Callable[[], UnitOfWork], pseudonym_secret: str, lock: bool
) -> None:
    """With `lock` (as the bot asks on PostgreSQL), the first message's transaction
    owns the row it inserted; the second waits for it, then finds and locks it."""

    async def first_message() -> int:
        async with uow_factory() as uow:
            citizen = await uow.citizens.get_or_create(77, 77, secret=pseudonym_secret, lock=lock)
            await asyncio.sleep(0.01)
            await uow.commit()
            return citizen.id

    first, second = await asyncio.gather(first_message(), first_message())
    assert first == second
    async with uow_factory() as uow:
        assert len(await uow.citizens.channels(first)) == 1


async def test_consent_is_a_history_of_decisions(
    uow_factory: Callable[[], UnitOfWork], pseudonym_secret: str
) -> None:
    async with uow_factory() as uow:
        citizen = await uow.citizens.get_or_create(5, 5, secret=pseudonym_secret)
        await uow.consents.record(citizen.id, "contact", "sha:abc", True)
        await uow.consents.record(citizen.id, "contact", "sha:def", False)
        await uow.consents.record(citizen.id, "privacy", "2026-11", True)
        await uow.commit()
    async with uow_factory() as uow:
        latest = await uow.consents.latest(citizen.id, "contact")
        assert latest is not None
        assert (latest.granted, latest.text_version) == (False, "sha:def")
        assert len(await uow.consents.list_for_citizen(citizen.id)) == 3
