"""Participant ids: readable, stable, and useless without the deployment secret."""

from __future__ import annotations

import re

import pytest

from storage.pseudonym import participant_id


def test_a_participant_id_is_short_readable_and_stable() -> None:
    pid = participant_id("secret", "telegram", 123456789)
    assert re.fullmatch(r"p-[a-z2-7]{16}", pid)
    assert participant_id("secret", "telegram", "123456789") == pid


def test_another_secret_or_user_gives_another_id() -> None:
    pid = participant_id("secret", "telegram", 1)
    assert participant_id("other", "telegram", 1) != pid
    assert participant_id("secret", "telegram", 2) != pid
    assert participant_id("secret", "whatsapp", 1) != pid


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        participant_id("", "telegram", 1)
