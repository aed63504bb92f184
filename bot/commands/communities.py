"""`konsulta communities add|list|revoke-link`: the communities local leaders lead."""

from __future__ import annotations

import sys
from typing import Any

from konsulta.bootstrap import running_app
from konsulta.leaders.service import LeaderError, add_community, revoke_link
from konsulta.settings import Settings


def register(sub: Any) -> None:
    communities = sub.add_parser("communities", help="communities that local leaders lead")
    actions = communities.add_subparsers(dest="communities_command", required=True)
    add_cmd = actions.add_parser("add", help="add a community to an organisation")
    add_cmd.add_argument("name", help='e.g. "Senior co-op Słupsk"')
    add_cmd.add_argument("--organisation", help="organisation slug (default: the setting)")
    add_cmd.add_argument(
        "--languages", default=None, help="comma-separated, main first (default: the setting)"
    )
    add_cmd.set_defaults(handler=add)
    list_cmd = actions.add_parser("list", help="list communities")
    list_cmd.add_argument("--organisation", help="only this organisation")
    list_cmd.set_defaults(handler=list_all)
    revoke_cmd = actions.add_parser("revoke-link", help="stop an invite link working")
    revoke_cmd.add_argument("payload", help="the part after ?start= in the link")
    revoke_cmd.set_defaults(handler=revoke)


async def add(args: Any, settings: Settings) -> int:
    languages = [code.strip() for code in (args.languages or settings.default_language).split(",")]
    organisation = args.organisation or settings.organisation
    async with running_app(settings) as app, app.uow() as uow:
        try:
            community = await add_community(
                uow, organisation, args.name, [c for c in languages if c]
            )
        except LeaderError as error:
            print(error, file=sys.stderr)
            return 1
        await uow.commit()
    print(f"community {community.name} ({', '.join(community.languages)}) in {organisation}")
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
        communities = await uow.communities.list_all(organisation_id)
        if not communities:
            print("no communities yet: konsulta communities add NAME --organisation SLUG")
        for community in communities:
            print(f"{community.id:4} {community.name:40} {','.join(community.languages)}")
    return 0


async def revoke(args: Any, settings: Settings) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        link = await revoke_link(uow, args.payload, "cli")
        if link is None:
            print("no such link", file=sys.stderr)
            return 1
        await uow.commit()
    print("the link no longer works")
    return 0
