"""`konsulta retention status|purge`: what the retention purge will delete and when,
and running today's purge now rather than waiting for the bot's hourly job."""

from __future__ import annotations

from typing import Any

from konsulta.bootstrap import running_app
from konsulta.retention import Retention
from konsulta.settings import Settings


def register(sub: Any) -> None:
    retention = sub.add_parser("retention", help="when personal data is deleted; purge now")
    actions = retention.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="per consultation: what is kept and until when")
    status.set_defaults(handler=lambda args, settings: show_status(settings))
    purge = actions.add_parser("purge", help="run today's purge now (once a day, audited)")
    purge.set_defaults(handler=lambda args, settings: run_purge(settings))


async def show_status(settings: Settings) -> int:
    async with running_app(settings) as app:
        await app.clock.refresh()
        today = app.clock.now().date()
        notices = await Retention(app).overview(today)
        async with app.uow(read_only=True) as uow:
            purges = await uow.retention.purges(limit=5)
    print(f"{'consultation':24} {'participants':>12} {'phones':>6}  {'closes':10}  deleted on")
    for slug, notice in notices:
        plan = notice.schedule
        closes = plan.closes_on.isoformat() if plan.closes_on else "-"
        purge_on = (
            plan.purge_on.isoformat() if plan.purge_on else f"{plan.months} months after closing"
        )
        print(f"{slug:24} {notice.participants:>12} {notice.contacts:>6}  {closes:10}  {purge_on}")
    for done in purges:
        print(f"purged {done.day}: {done.counts.get('total') or 'nothing due'}")
    return 0


async def run_purge(settings: Settings) -> int:
    async with running_app(settings) as app:
        report = await Retention(app).purge()
    if report is None:
        print("today's purge has already run")
        return 0
    print(f"purged {report.day}: {report.counts()['total'] or 'nothing due'}")
    for slug, counts in report.consultations.items():
        print(f"  {slug}: {counts}")
    return 0
