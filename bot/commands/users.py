"""`konsulta users add EMAIL --role admin --organisation SLUG`, `users passwd EMAIL`, `users list`.

The password is asked twice on a terminal, or read from the first line of standard
input when it is not a terminal (for scripts: `echo "$PW" | konsulta users add ...`).
It is never taken from the command line, where `ps` and shell history would keep it.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from bot.commands.operator import CLI_ACTOR, os_user
from konsulta.bootstrap import running_app
from konsulta.settings import Settings
from review.i18n import LANGUAGES
from review.security import MIN_PASSWORD_LENGTH, hash_password
from storage.models import StaffRole
from storage.types import utcnow


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
    passwd = actions.add_parser(
        "passwd", help="set a new password (ends every session of the account)"
    )
    passwd.add_argument("email")
    passwd.set_defaults(handler=lambda args, settings: set_password(settings, args.email))
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


def new_password() -> str | None:
    """A password read as `read_password` does, or None (said why) if too short."""
    password = read_password()
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        print(f"the password needs at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return None
    return password


async def add_user(settings: Settings, args: Any) -> int:
    email = args.email.strip().lower()
    if "@" not in email:
        print(f"not an e-mail address: {email}", file=sys.stderr)
        return 2
    password = new_password()
    if password is None:
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
            email=CLI_ACTOR,
            staff_user_id=None,
            organisation_id=organisation.id,
            target=email,
            detail={"role": args.role, "os_user": os_user()},
        )
        await uow.commit()
    print(f"{email} is {args.role} of {organisation.slug}")
    return 0


async def set_password(settings: Settings, email: str) -> int:
    password = new_password()
    if password is None:
        return 2
    async with running_app(settings) as app, app.uow() as uow:
        user = await uow.staff.get_by_email(email)
        if user is None:
            print(f"no account {email.strip().lower()}", file=sys.stderr)
            return 1
        user.password_hash = hash_password(password)
        await uow.staff_sessions.revoke_all(user.id, now=utcnow())
        await uow.audit.add(
            "passwd",
            email=CLI_ACTOR,
            staff_user_id=None,
            organisation_id=user.organisation_id,
            target=user.email,
            detail={"os_user": os_user()},
        )
        await uow.commit()
    print(f"new password set for {user.email}; every session of the account has ended")
    return 0


async def list_users(settings: Settings) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        for user in await uow.staff.list_all():
            state = "" if user.active else " (disabled)"
            print(f"{user.email:40} {user.role:7} organisation #{user.organisation_id}{state}")
    return 0
