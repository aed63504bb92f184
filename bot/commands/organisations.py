"""`konsulta organisations list|register`: the organisations of a deployment, and how
the bot's own texts address each one's citizens (formal or informal, docs/languages.md).
"""

from __future__ import annotations

import sys
from typing import Any

from bot.commands import operator
from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from storage.models import Register


def register(sub: Any) -> None:
    organisations = sub.add_parser(
        "organisations", help="organisations and how the bot addresses their citizens"
    )
    actions = organisations.add_subparsers(dest="organisations_command", required=True)
    list_cmd = actions.add_parser("list", help="each organisation with its register")
    list_cmd.set_defaults(handler=list_all)
    register_cmd = actions.add_parser(
        "register",
        help="formal (the default: Pan/Pani, ви, usted) or informal (ty, ти, tú) texts",
    )
    register_cmd.add_argument("organisation", help="the organisation's slug")
    register_cmd.add_argument("register", choices=[r.value for r in Register])
    register_cmd.set_defaults(handler=set_register)


async def list_all(args: Any, settings: Settings) -> int:
    async with running_app(settings) as app, app.uow(read_only=True) as uow:
        organisations = await uow.organisations.list_all()
    for organisation in organisations:
        print(f"{organisation.slug:40} {organisation.register:9} {organisation.name}")
    return 0


async def set_register(args: Any, settings: Settings) -> int:
    wanted = Register(args.register)
    async with running_app(settings) as app, app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(args.organisation)
        if organisation is None:
            print(f"no organisation '{args.organisation}'", file=sys.stderr)
            return 1
        await uow.organisations.set_register(organisation, wanted)
        await operator.audit(
            uow, "set_register", organisation.slug, organisation.id, register=wanted.value
        )
        await uow.commit()
    print(f"{organisation.slug}: the bot's texts are {wanted.value} for its citizens")
    return 0
