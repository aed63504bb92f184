"""`konsulta leaders add|remove|list|approver|approval`: who leads which community, and
who approves their broadcasts."""

from __future__ import annotations

import sys
from typing import Any

from konsulta.bootstrap import running_app
from konsulta.leaders.service import LeaderError, add_leader, remove_leader
from konsulta.settings import Settings
from storage.types import channel_of_bot


def register(sub: Any) -> None:
    leaders = sub.add_parser("leaders", help="local leaders and their broadcast approvers")
    actions = leaders.add_subparsers(dest="leaders_command", required=True)
    add_cmd = actions.add_parser("add", help="make a Telegram user a leader of a community")
    add_cmd.add_argument("telegram_user_id", type=int)
    add_cmd.add_argument("--community", required=True, help="the community's name")
    add_cmd.add_argument("--organisation", help="organisation slug (default: the setting)")
    add_cmd.set_defaults(handler=add)
    remove_cmd = actions.add_parser("remove", help="a leader no more (links keep working)")
    remove_cmd.add_argument("telegram_user_id", type=int)
    remove_cmd.add_argument("--community", help="only this community (default: all)")
    remove_cmd.add_argument("--organisation", help="organisation slug (default: the setting)")
    remove_cmd.set_defaults(handler=remove)
    list_cmd = actions.add_parser("list", help="list leaders")
    list_cmd.add_argument("--organisation", help="only this organisation")
    list_cmd.set_defaults(handler=list_all)
    approver = actions.add_parser("approver", help="who approves leader broadcasts")
    approver.add_argument("action", choices=["add", "remove"])
    approver.add_argument("telegram_user_id", type=int)
    approver.add_argument("--organisation", help="organisation slug (default: the setting)")
    approver.set_defaults(handler=set_approver)
    approval = actions.add_parser("approval", help="must broadcasts be approved first?")
    approval.add_argument("required", choices=["on", "off"])
    approval.add_argument("--organisation", help="organisation slug (default: the setting)")
    approval.set_defaults(handler=set_approval)


async def add(args: Any, settings: Settings) -> int:
    organisation = args.organisation or settings.organisation
    async with running_app(settings) as app, app.uow() as uow:
        try:
            leader = await add_leader(app, uow, args.telegram_user_id, args.community, organisation)
        except LeaderError as error:
            print(error, file=sys.stderr)
            return 1
        await uow.commit()
    print(f"leader {leader.id} leads {args.community} ({organisation})")
    return 0


async def remove(args: Any, settings: Settings) -> int:
    organisation = args.organisation or settings.organisation
    async with running_app(settings) as app, app.uow() as uow:
        try:
            left = await remove_leader(
                app, uow, args.telegram_user_id, organisation, args.community
            )
        except LeaderError as error:
            print(error, file=sys.stderr)
            return 1
        await uow.commit()
    print(f"removed; leads {left} communit{'y' if left == 1 else 'ies'} now")
    return 0


async def list_all(args: Any, settings: Settings) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        organisation_id = None
        if args.organisation:
            organisation = await uow.organisations.get_by_slug(args.organisation)
            if organisation is None:
                print(f"no organisation '{args.organisation}'", file=sys.stderr)
                return 1
            organisation_id = organisation.id
        found = await uow.leaders.list_all(organisation_id)
        if not found:
            print("no leaders yet: konsulta leaders add TELEGRAM_USER_ID --community NAME")
        for leader, user_id, communities in found:
            state = "active" if leader.active else "removed"
            print(f"{leader.id:4} {user_id:>14} {state:8} {communities}")
    return 0


async def set_approver(args: Any, settings: Settings) -> int:
    slug = args.organisation or settings.organisation
    async with running_app(settings) as app, app.uow() as uow:
        organisation = await uow.organisations.get_or_create(slug)
        citizen = await uow.citizens.get_or_create(
            args.telegram_user_id,
            args.telegram_user_id,
            secret=settings.pseudonym_secret.get_secret_value(),
            timezone=settings.default_timezone,
            channel=channel_of_bot(settings.bot_for(slug).name),  # the organisation's bot
        )
        if args.action == "add":
            await uow.leaders.add_approver(organisation.id, citizen.id)
        else:
            await uow.leaders.remove_approver(organisation.id, citizen.id)
        await uow.leaders.audit(
            "cli", organisation.id, f"approver.{args.action}", f"citizen:{citizen.id}"
        )
        await uow.commit()
    print(f"approver {'added to' if args.action == 'add' else 'removed from'} {slug}")
    return 0


async def set_approval(args: Any, settings: Settings) -> int:
    slug = args.organisation or settings.organisation
    async with running_app(settings) as app, app.uow() as uow:
        organisation = await uow.organisations.get_or_create(slug)
        await uow.leaders.set_approval_required(organisation.id, args.required == "on")
        await uow.leaders.audit("cli", organisation.id, "approval.set", slug, on=args.required)
        await uow.commit()
    print(
        f"leader broadcasts in {slug} {'need' if args.required == 'on' else 'do not need'} approval"
    )
    return 0
