"""Retention: a resolved report's phone number goes at the next daily purge, a
consultation's participation goes `retention_months` after it closes, the purge runs
once however many processes try, and the dashboard says what will go when. Citizens
as in tests/review/conftest.py (Anna, Bogdan, Celina, Dawid in Org A's park survey;
Ewa in Org B's harbour survey)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from database_checks import session_of
from sqlalchemy import func, select

from konsulta.bootstrap import App, build_app
from konsulta.publishing import publish, read_flow
from konsulta.retention import ACTOR, Retention, add_months
from outreach.scheduler import Outreach
from review.export import export_consultation
from review.security import hash_password
from storage.models import (
    Answer,
    AuditEntry,
    Citizen,
    ConsentPurpose,
    ConsentRecord,
    ConsultationStatus,
    ReportState,
    RetentionPurge,
    Run,
)
from storage.types import utcnow
from tests.review.conftest import add_run, logged_in, settings_for

SERVICE_NEED = Path(__file__).resolve().parents[2] / "dialogs" / "flows" / "service-need.yaml"
PHONES = {5001: "+48600100200", 5002: "+48600300400"}


async def report(app: App, telegram_id: int) -> int:
    """A citizen reports a dark street lamp and asks to be called back; the run id."""
    phone = PHONES[telegram_id]
    await add_run(
        app,
        "service-need",
        telegram_id,
        {
            "what": "lighting",
            "describe": "The lamp at the bus stop is dark",
            "place": {"lat": 54.4641, "lon": 17.0285},
            "urgency": "soon",
            "contact_pref": "phone",
            "phone": {"phone": phone},
        },
        display={"phone": phone},
    )
    async with app.uow() as uow:
        run = (
            await session_of(uow).execute(select(Run).order_by(Run.id.desc()).limit(1))
        ).scalar_one()
        # The engine keeps each answer in the run's state too.
        run.state = {"answers": {"phone": {"value": {"phone": phone}, "display": phone}}}
        # She agreed to be called back (the contact consent the phone question needs).
        uow.add(
            ConsentRecord(
                citizen_id=run.citizen_id,
                consultation_id=run.consultation_id,
                purpose=ConsentPurpose.CONTACT,
                text_version="service-need@1/contact",
                granted=True,
            )
        )
        await uow.commit()
        return run.id


async def export_csv(app: App, slug: str) -> str:
    out = io.BytesIO()
    async with app.uow(read_only=True) as uow:
        await export_consultation(uow, app.flows, slug, "csv", out)
    return out.getvalue().decode()


def database_files(app: App) -> list[Path]:
    """The SQLite database and its write-ahead log (none on PostgreSQL)."""
    url = app.settings.database_url
    if not url.startswith("sqlite"):
        return []
    database = Path(url.split(":///", 1)[1])
    return [p for p in (database, database.with_name(database.name + "-wal")) if p.exists()]


async def purge_audits(app: App) -> list[AuditEntry]:
    async with app.uow() as uow:
        result = await session_of(uow).execute(
            select(AuditEntry).where(AuditEntry.action == "retention_purge")
        )
        return list(result.scalars())


async def test_a_resolved_reports_phone_is_gone_from_the_export_after_the_purge(
    app: App, browser_factory: Callable[[], Any]
) -> None:
    flow, yaml_text = read_flow(SERVICE_NEED)
    async with app.uow() as uow:
        await publish(uow, flow, yaml_text, open_now=True)
        town = await uow.organisations.get_by_slug("urzad-miasta-wydzial-spraw-spolecznych")
        assert town is not None
        await uow.staff.create(
            "clerk@example.org", hash_password("clerk" * 2), "staff", town.id, "en"
        )
        await uow.commit()
    clerk = await logged_in(browser_factory, "clerk@example.org")
    reports_page = (await clerk.get("/consultations/service-need/reports")).text
    assert "phone number is deleted at the next daily purge after the report" in reports_page
    resolved, waiting = await report(app, 5001), await report(app, 5002)
    async with app.uow() as uow:
        # The "has it been fixed?" follow-up run starts with a copy of the answers.
        parent = await uow.runs.get(resolved)
        assert parent is not None
        followup = await uow.runs.create(
            citizen_id=parent.citizen_id,
            consultation_id=parent.consultation_id,
            flow_version_id=parent.flow_version_id,
            state={"answers": dict(parent.state["answers"])},
            language="en",
            source="followup:fixed_check",
            parent_run_id=resolved,
        )
        await uow.reports.set_status(resolved, ReportState.RESOLVED)
        await uow.reports.set_status(waiting, ReportState.IN_PROGRESS)
        await uow.commit()
    before = await export_csv(app, "service-need")
    assert PHONES[5001] in before and PHONES[5002] in before

    purged = await Retention(app).purge(utcnow())

    assert purged is not None
    assert purged.consultations == {"service-need": {"contact_answers": 1}}
    after = await export_csv(app, "service-need")
    assert PHONES[5001] not in after
    assert PHONES[5002] in after  # its report is still being handled
    assert "The lamp at the bus stop is dark" in after  # the report itself stays
    async with app.uow() as uow:
        for run_id in (resolved, followup.id):
            run = await uow.runs.get(run_id)
            assert run is not None and "phone" not in run.state["answers"]
    # Nor do the SQLite files keep a copy (secure_delete, then the WAL checkpointed).
    files = database_files(app)
    for path in files:
        assert PHONES[5001].encode() not in path.read_bytes(), path.name
    if files:  # the files do hold what is kept, so the search above could find it
        assert any(PHONES[5002].encode() in path.read_bytes() for path in files)
    [audit] = await purge_audits(app)
    assert audit.email == ACTOR and audit.organisation_id is None
    assert audit.detail["total"] == {"contact_answers": 1}
    assert "+48" not in str(audit.detail)

    # The consultation closes: the next day's purge takes the other number too, and
    # keeps the reports themselves for retention_months.
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug("service-need")
        assert consultation is not None
        notice = await Retention(app).notice(uow, consultation, utcnow().date())
        assert (notice.participants, notice.contacts) == (2, 1)
        await uow.consultations.set_status(consultation, ConsultationStatus.CLOSED)
        await uow.commit()
    closed = await Retention(app).purge(utcnow() + timedelta(days=1))
    assert closed is not None
    assert closed.consultations == {"service-need": {"contact_answers": 1}}
    after = await export_csv(app, "service-need")
    assert PHONES[5002] not in after and after.count("The lamp at the bus stop is dark") == 2


async def test_a_consultation_closed_13_months_ago_has_its_participants_data_purged(
    app: App, people: dict[str, str]
) -> None:
    async with app.uow() as uow:
        park = await uow.consultations.get_by_slug("park-survey")
        assert park is not None
        await uow.consultations.set_status(park, ConsultationStatus.CLOSED)
        await uow.commit()
    closed_on = utcnow()
    retention = Retention(app)

    # Twelve months less a day later nothing is due yet.
    assert await retention.purge(
        datetime.combine(add_months(closed_on.date(), 12), closed_on.timetz()) - timedelta(days=1)
    )
    async with app.uow() as uow:
        assert await uow.retention.participants(park.id) == 4

    thirteen_months_later = datetime.combine(add_months(closed_on.date(), 13), closed_on.timetz())
    purged = await retention.purge(thirteen_months_later)

    assert purged is not None
    assert purged.consultations["park-survey"]["participants"] == 4
    assert purged.consultations["park-survey"]["runs"] == 4
    async with app.uow() as uow:
        runs = await session_of(uow).execute(
            select(Run.consultation_id, func.count()).group_by(Run.consultation_id)
        )
        harbour = await uow.consultations.get_by_slug("harbour-survey")
        assert harbour is not None
        assert dict(runs.all()) == {harbour.id: 1}  # only Ewa's run is left
        left = await session_of(uow).execute(
            select(func.count())
            .select_from(Answer)
            .join(Run, Run.id == Answer.run_id)
            .where(Run.consultation_id == park.id)
        )
        assert left.scalar_one() == 0
        consents = await session_of(uow).execute(
            select(func.count()).where(ConsentRecord.consultation_id == park.id)
        )
        assert consents.scalar_one() == 0
        # The people stay bot users (broadcasts, other consultations): /delete removes them.
        citizens = await session_of(uow).execute(select(func.count()).select_from(Citizen))
        assert citizens.scalar_one() == 5
    csv = await export_csv(app, "park-survey")
    assert people["anna"] not in csv and "More benches" not in csv
    assert "Secret harbour idea" in await export_csv(app, "harbour-survey")
    audits = await purge_audits(app)
    assert len(audits) == 2  # one per purge, the first with nothing purged
    assert audits[1].detail["consultations"]["park-survey"]["answers"] > 0
    assert not any(pid in str(a.detail) for a in audits for pid in people.values())


async def test_two_app_instances_purging_at_once_purge_once(
    migrated_url: str, app: App, people: dict[str, str]
) -> None:
    async with app.uow() as uow:
        park = await uow.consultations.get_by_slug("park-survey")
        assert park is not None
        await uow.consultations.set_status(park, ConsultationStatus.CLOSED)
        await uow.commit()
    # 10:00 on a day 800 days on: an hour later is still the same day, whenever this runs.
    later = datetime.combine(utcnow().date() + timedelta(days=800), time(10), tzinfo=UTC)
    other = await build_app(settings_for(migrated_url), migrate=False)
    try:
        results = await asyncio.gather(Retention(app).purge(later), Retention(other).purge(later))
    finally:
        await other.close()

    done = [r for r in results if r is not None]
    assert len(done) == 1, results
    assert done[0].consultations["park-survey"]["runs"] == 4
    assert len(await purge_audits(app)) == 1
    async with app.uow() as uow:
        claims = await session_of(uow).execute(select(func.count()).select_from(RetentionPurge))
        assert claims.scalar_one() == 1
    # Later the same day the job runs again: the day is claimed, nothing happens.
    assert await Retention(app).purge(later + timedelta(hours=1)) is None


async def test_the_consultation_page_announces_when_personal_data_is_deleted(
    app: App, people: dict[str, str], browser_factory: Callable[[], Any]
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = (await staff.get("/consultations/park-survey")).text
    assert "Personal data of 4 participants will be deleted 12 months after" in page

    async with app.uow() as uow:
        park = await uow.consultations.get_by_slug("park-survey")
        assert park is not None
        await uow.consultations.set_status(park, ConsultationStatus.CLOSED)
        organisation = await uow.organisations.get_by_slug("org-a")
        assert organisation is not None
        await uow.staff.create(
            "polka@example.org", hash_password("polka" * 2), "viewer", organisation.id, "pl"
        )
        await uow.commit()
    deleted_on = add_months(datetime.now(UTC).date(), 12).isoformat()
    page = (await staff.get("/consultations/park-survey")).text
    assert f"Personal data of 4 participants will be deleted on {deleted_on}." in page
    polish = await logged_in(browser_factory, "polka@example.org")
    page = (await polish.get("/consultations/park-survey")).text
    assert f"Dane osobowe 4 uczestników zostaną usunięte {deleted_on}." in page


async def test_the_bot_purges_through_its_scheduler_and_the_operator_sees_the_audit_row(
    app: App, browser_factory: Callable[[], Any]
) -> None:
    outreach = Outreach(app)
    outreach.start()
    try:
        assert outreach._scheduler is not None
        assert outreach._scheduler.get_job("retention") is not None
    finally:
        await outreach.shutdown()
    done = await outreach.purge()  # what the job runs: today's purge, on the app's clock
    assert done is not None and done.day == app.clock.now().date()
    assert await outreach.purge() is None  # the next hour's run finds the day taken

    platform = await logged_in(browser_factory, "platform@example.org")
    page = (await platform.get("/audit?action=retention_purge")).text
    assert "retention_purge" in page and done.day.isoformat() in page
    admin = await logged_in(browser_factory, "admin-a@example.org")
    page = (await admin.get("/audit?action=retention_purge")).text
    assert done.day.isoformat() not in page  # the platform's row, not an organisation's
