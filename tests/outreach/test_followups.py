"""Follow-ups declared in the flow and reminders for dialogs left half-way."""

from __future__ import annotations

from datetime import timedelta

from database_checks import session_of
from sqlalchemy import select

from outreach.followups import list_followups
from storage.models import Run, ScheduledFollowUp
from tests.outreach.conftest import World


async def test_a_citizen_who_reported_a_broken_light_is_asked_two_weeks_later_and_the_answers_link_to_the_report(  # noqa: E501
    world: World,
) -> None:
    ewa = world.phone(5001, "en")
    await world.take_part(ewa, ["lighting", "north", "no"])
    assert ewa.texts()[-1] == "Thank you!"

    report = await world.later(timedelta(days=13))
    assert report.followups_scheduled == 1 and report.followups_started == 0
    assert ewa.messages()[-1].text == "Thank you!"  # nothing yet after 13 days

    report = await world.later(timedelta(days=1, minutes=1))
    assert report.followups_started == 1
    intro, question = await ewa.expect(2)
    assert "Street repairs" in (intro.text or "")
    assert question.text is not None
    assert "Two weeks ago you told us about A street light. Has it been fixed?" in question.text
    await ewa.tap(question, "yes")
    [rating] = await ewa.expect()
    await ewa.tap(rating, "4")
    [thanks] = await ewa.expect()
    assert thanks.text == "Thank you for telling us how things are."

    async with world.app.uow() as uow:
        [original, followup] = (
            await session_of(uow).execute(select(Run).order_by(Run.id))
        ).scalars()
        assert followup.parent_run_id == original.id and followup.status == "completed"
        assert followup.source == "followup:fixed_check"
        answers = {a.step_id: a.value for a in await uow.answers.list_for_run(followup.id)}
        assert answers == {"fixed": True, "rating": 4}
        kept = {a.step_id for a in await uow.answers.list_for_run(original.id)}
        assert kept == {"what", "district", "visit"}
        rows = (await session_of(uow).execute(select(ScheduledFollowUp))).scalars().all()
    states = {row.followup_id: row.status for row in rows}
    # visit_check only follows up a request for a visit, and Ewa asked for none.
    assert states == {"fixed_check": "sent", "visit_check": "skipped"}
    listed = await list_followups(world.app)
    assert {v.followup_id for v in listed} == {"fixed_check", "visit_check"}

    report = await world.later(timedelta(days=30))
    assert report.followups_started == 0  # each follow-up is asked once


async def test_a_reminder_goes_once_offers_to_stop_and_never_after_the_consultation_closes(
    world: World,
) -> None:
    adam, olga, piotr = world.phone(5101), world.phone(5102), world.phone(5103)
    for phone in (adam, olga, piotr):
        await world.take_part(phone, ["pavement"])  # and then they stop answering

    report = await world.later(timedelta(hours=23))
    assert report.reminders == 0
    report = await world.later(timedelta(hours=2))
    assert report.reminders == 3
    for phone in (adam, olga, piotr):
        [reminder] = await phone.expect()
        assert "Street repairs" in (reminder.text or "") and "continue" in (reminder.text or "")

    # Adam taps "Continue" and sees the question he stopped at.
    await adam.tap(adam.question(), "continue")
    [again] = await adam.expect()
    assert again.text is not None and "district" in again.text
    # Olga does not want reminders.
    await olga.tap(olga.question(), "stop")
    [ok] = await olga.expect()
    assert ok.text is not None and "not send you reminders" in ok.text
    await world.settled()

    report = await world.later(timedelta(days=3))
    assert report.reminders == 0  # one reminder per run (KONSULTA_REMINDER_MAX=1)
    async with world.app.uow() as uow:
        citizen = await uow.citizens.find(5102)
        assert citizen is not None and citizen.no_reminders

    # A new run left half-way after the consultation closed gets no reminder.
    kasia = world.phone(5104)
    await world.take_part(kasia, ["pavement"])
    async with world.app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("street-repairs")
        assert consultation is not None
        await uow.consultations.set_status(consultation, "closed")
        await uow.commit()
    report = await world.later(timedelta(days=2))
    assert report.reminders == 0
    assert kasia.messages()[-1].text is not None and "district" in kasia.messages()[-1].text
