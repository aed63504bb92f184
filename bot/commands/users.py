"""`konsulta users add EMAIL --role admin --organisation SLUG` and `users list`.

The password is asked twice on a terminal, or read from the first line of standard
input when it is not a terminal (for scripts: `echo "$PW" | konsulta users add ...`).
It is never taken from the command line, where `ps` and shell history would keep it.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from review.i18n import LANGUAGES
from review.security import MIN_PASSWORD_LENGTH, hash_password
from storage.models import StaffRole


def register(sub: Any) -> None:
    users = sub.add_parser("users", help="staff accounts of the dashboard")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a staff account (the first admin, too)")
    add.add_argument("email")
    add.add_argument("--role", choices=[r.value for r in StaffRole], default="staff")
    add.add_argument("--organisation", required=True, help="organisation slug (created if new)")
    add.add_argument("--name", help="organisation name when it is created")
    add.add_argument("--language", choices=LANGUAGES, default=LANGUAGES[0])
    add.set_defaults(handler=lambda args, settings: add_user(settings, args))
    listing = actions.add_parser("list", help="list staff accounts")
    listing.set_defaults(handler=lambda args, settings: list_users(settings))


def read_password() -> str | None:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        print("the passwords differ", file=sys.stderr)
        return None
    return first


async def add_user(settings: Settings, args: Any) -> int:
    email = args.email.strip().lower()
    if "@" not in email:
        print(f"not an e-mail address: {email}", file=sys.stderr)
        return 2
    password = read_password()
    if password is None:
        return 2
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return 2
    async with running_app(settings) as app, app.uow() as uow:
        if await uow.staff.get_by_email(email) is not None:
            print(f"{email} exists already", file=sys.stderr)
            return 1
        organisation = await uow.organisations.get_or_create(args.organisation, args.name)
        await uow.staff.create(
            email, hash_password(password), args.role, organisation.id, args.language
        )
        await uow.audit.add(
            "add_user",
            email="cli",
            staff_user_id=None,
            organisation_id=organisation.id,
            target=email,
            detail={"role": args.role},
        )
        await uow.commit()
    print(f"{email} is {args.role} of {organisation.slug}")
    return 0


async def list_users(settings: Settings) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        for user in await uow.staff.list_all():
            state = "" if user.active else " (disabled)"
            print(f"{user.email:40} {user.role:7} organisation #{user.organisation_id}{state}")
    return 0
