"""The service-feedback template (dialogs/flows/service-feedback.yaml) asks for the
rating of a contracted service again three and six months later, by follow-up, on the
controllable clock: a resident who still uses the service hears back after each, and
one whose service is ending is not asked again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from database_checks import session_of
from sqlalchemy import select

from storage.models import Run, ScheduledFollowUp
from tests.outreach.conftest import Phone, World, outreach_world

TEMPLATE = Path(__file__).resolve().parents[2] / "dialogs" / "flows" / "service-feedback.yaml"


@pytest.fixture
async def world(migrated_url: str) -> AsyncIterator[World]:
    async with outreach_world(migrated_url, TEMPLATE, name="service-feedback", language="pl") as w:
        yield w


async def rate(world: World, phone: Phone, taps: list[str], comment: str) -> None:
    """The resident opens the template from the link at the service point, agrees,
    taps `taps` in order and writes `comment` as the last answer."""
    await phone.send("/start service-feedback")
    [consent] = await phone.expect()
    await phone.tap(consent, "agree")
    await world.settled()
    for key in taps:
        await phone.tap(phone.question(), key)
        await world.settled()
    await phone.send(comment)
    await world.settled()
    phone.seen = len(phone.messages())


async def test_a_resident_rates_door_to_door_transport_again_after_three_and_six_months(
    world: World,
) -> None:
    lena = world.phone(6001, "pl")
    await rate(
        world,
        lena,
        ["transport", "self", "3_12m", "4", "mostly", "easy", "5", "yes", "know", "yes"],
        "Kierowca zawsze pomaga przy wsiadaniu",
    )
    assert "za trzy miesiące zapytamy o nią ponownie" in lena.texts()[-1]
    # Jan's transport ends this month: he is not asked again.
    jan = world.phone(6002, "pl")
    await rate(
        world,
        jan,
        ["transport", "self", "under_3m", "3", "always", "easy", "4", "yes", "know", "no"],
        "Dziękuję",
    )

    report = await world.later(timedelta(days=90))
    assert report.followups_scheduled == 2 and report.followups_started == 0  # Lena's two
    assert "za trzy miesiące" in lena.texts()[-1]  # nothing yet after 90 days

    report = await world.later(timedelta(days=1, minutes=1))
    assert report.followups_started == 1
    intro, question = await lena.expect(2)
    assert "Ocena usług miejskich" in (intro.text or "")
    assert question.text is not None
    assert "Trzy miesiące temu w tym czacie oceniono usługę: Przewóz od drzwi" in question.text
    assert "Ocena wyniosła 4 na 5" in question.text
    await lena.tap(question, "yes")
    [rating] = await lena.expect()
    await lena.tap(rating, "2")
    [changed] = await lena.expect()
    await lena.tap(changed, "worse")
    [how] = await lena.expect()
    assert how.text is not None and "wiadomość głosową" in how.text
    await lena.send("Kierowcy spóźniają się po pół godziny")
    [thanks] = await lena.expect()
    assert thanks.text == "Dziękujemy za informację, jak wygląda sytuacja."

    report = await world.later(timedelta(days=90))
    assert report.followups_started == 0  # the six-month one is due a day later
    report = await world.later(timedelta(days=1))
    assert report.followups_started == 1
    _, question = await lena.expect(2)
    assert question.text is not None and "Pół roku temu" in question.text
    await lena.tap(question, "no")  # the transport has ended since
    [thanks] = await lena.expect()
    assert thanks.text == "Dziękujemy za informację, jak wygląda sytuacja."

    report = await world.later(timedelta(days=365))
    assert report.followups_started == 0  # each follow-up is asked once
    assert jan.texts()[-1].startswith("Dziękujemy! Wydział co kwartał")

    async with world.app.uow() as uow:
        runs = (await session_of(uow).execute(select(Run).order_by(Run.id))).scalars().all()
        lenas, jans, three, six = runs
        assert (three.parent_run_id, six.parent_run_id) == (lenas.id, lenas.id)
        assert (three.source, six.source) == ("followup:three_months", "followup:six_months")
        answers = {a.step_id: a.value for a in await uow.answers.list_for_run(three.id)}
        assert answers == {
            "still_used": True,
            "rating_again": 2,
            "changed": "worse",
            "changed_how": "Kierowcy spóźniają się po pół godziny",
        }
        answers = {a.step_id: a.value for a in await uow.answers.list_for_run(six.id)}
        assert answers == {"still_used": False}
        rows = (await session_of(uow).execute(select(ScheduledFollowUp))).scalars().all()
    states = {(row.run_id, row.followup_id): row.status for row in rows}
    assert states == {
        (lenas.id, "three_months"): "sent",
        (lenas.id, "six_months"): "sent",
        (jans.id, "three_months"): "skipped",
        (jans.id, "six_months"): "skipped",
    }
