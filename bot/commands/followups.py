"""`konsulta followups list [--status S] [--consultation ID]`."""

from __future__ import annotations

import sys
from typing import Any

from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from outreach.followups import list_followups


def register(sub: Any) -> None:
    followups = sub.add_parser("followups", help="follow-up dialogs scheduled and sent")
    actions = followups.add_subparsers(dest="followups_command", required=True, metavar="ACTION")
    list_cmd = actions.add_parser("list", help="scheduled follow-ups, soonest first")
    list_cmd.add_argument("--status", choices=("pending", "sent", "skipped", "cancelled"))
    list_cmd.add_argument("--consultation", help="only this consultation")
    list_cmd.add_argument("--limit", type=int, default=100)
    list_cmd.set_defaults(
        handler=lambda args, settings: list_all(
            settings, args.status, args.consultation, args.limit
        )
    )


async def list_all(
    settings: Settings, status: str | None, consultation: str | None, limit: int
) -> int:
    async with running_app(settings) as app:
        try:
            views = await list_followups(app, status=status, consultation=consultation, limit=limit)
        except LookupError as error:
            print(error.args[0], file=sys.stderr)
            return 1
        now = app.clock.now()
    if not views:
        print("no follow-ups scheduled")
        return 0
    print(f"{'id':>5}  {'consultation':20} {'follow-up':14} {'run':>6}  {'due (UTC)':16}  status")
    for view in views:
        due = view.due_at.strftime("%Y-%m-%d %H:%M")
        late = " (due)" if view.status == "pending" and view.due_at <= now else ""
        extra = f" -> run {view.followup_run_id}" if view.followup_run_id else ""
        note = f" ({view.note})" if view.note else ""
        print(
            f"{view.id:>5}  {view.consultation:20} {view.followup_id:14} {view.run_id:>6}  "
            f"{due:16}  {view.status}{late}{extra}{note}"
        )
    return 0
