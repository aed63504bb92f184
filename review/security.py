"""Who may do what on the dashboard: passwords, lockout, sessions, roles and CSRF.

Passwords are argon2id hashes (argon2-cffi). A login is refused without checking the
password once an e-mail has `login_max_failures` failures in a row within
`login_lockout_minutes`; the attempts are rows, so the lockout survives restarts and
holds across processes. The session is Starlette's signed cookie (itsdangerous); it
carries only a random session token, whose hash is a row on the server
(`staff_sessions`): logging out revokes it, and a password change revokes all of the
user's, so a copied cookie stops working. No password material is in the cookie.

Every page handler is wrapped by `page(...)` (GET, login and role) or `action(...)`
(POST: login, role and the CSRF token), so no form can be posted without the token
and a viewer can never change anything.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from storage.models import StaffRole, StaffUser
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from review.dashboard import Dashboard

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong e-mail takes as long as a
# wrong password and timing does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")

VIEW = (StaffRole.PLATFORM, StaffRole.ADMIN, StaffRole.STAFF, StaffRole.VIEWER)
EDIT = (StaffRole.PLATFORM, StaffRole.ADMIN, StaffRole.STAFF)
ADMIN = (StaffRole.PLATFORM, StaffRole.ADMIN)
PLATFORM = (StaffRole.PLATFORM,)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginOutcome(Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


async def authenticate(
    uow: UnitOfWork,
    email: str,
    password: str,
    *,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
    address: str | None = None,
    max_address_failures: int = 0,
) -> tuple[LoginOutcome, StaffUser | None]:
    """Check a login and record the attempt (the caller commits). Refused unchecked
    while the e-mail, or the address it comes from, has failed too often lately."""
    failures, _newest = await uow.staff.recent_failures(email, now - lockout)
    if failures >= max_failures:
        return LoginOutcome.LOCKED, None
    if address is not None and max_address_failures > 0:
        from_address = await uow.staff.failures_from(address, now - lockout)
        if from_address >= max_address_failures:
            return LoginOutcome.LOCKED, None
    user = await uow.staff.get_by_email(email)
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    ok = valid and user is not None and user.active
    await uow.staff.record_attempt(email, ok, at=now, address=address)
    if not ok or user is None:
        return LoginOutcome.WRONG, None
    user.last_login_at = now
    return LoginOutcome.OK, user


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member, as every handler sees them."""

    id: int
    email: str
    role: str
    organisation_id: int
    organisation_slug: str
    organisation_name: str
    language: str
    #: Citizens' messages to the organisation no staff member has opened yet (the
    #: count in every page's navigation).
    unread: int = 0

    @property
    def can_edit(self) -> bool:
        return self.role in EDIT

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN

    @property
    def is_platform(self) -> bool:
        """Administers every organisation; an `admin` only their own."""
        return self.role == StaffRole.PLATFORM


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token (field or header); 403 if wrong."""
    form = await request.form()
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(expected.encode(), given.encode())
    ):
        await form.close()
        raise HTTPException(403, "CSRF token missing or wrong")
    return form


async def open_session(uow: UnitOfWork, board: Dashboard, user_id: int) -> str:
    """A new server-side session for `user_id` (in the caller's unit of work); the
    token goes in the cookie, the server keeps only its hash."""
    token = secrets.token_urlsafe(32)
    now = board.clock()
    until = now + timedelta(hours=board.app.settings.web_session_hours)
    await uow.staff_sessions.open(user_id, token, now=now, until=until)
    return token


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


async def current_staff(request: Request) -> Staff | None:
    token = request.session.get("sid")
    if not isinstance(token, str):
        return None
    board = dashboard(request)
    async with board.app.uow(read_only=True) as uow:
        uid = await uow.staff_sessions.user_of(token, now=board.clock())
        found = None if uid is None else await uow.staff.get_with_organisation(uid)
        unread = 0 if found is None else await uow.threads.unread_count(found[1].id)
    if found is None:
        request.session.clear()
        return None
    user, organisation = found
    if not user.active:
        request.session.clear()
        return None
    language = request.session.get("lang")
    return Staff(
        id=user.id,
        email=user.email,
        role=user.role,
        organisation_id=organisation.id,
        organisation_slug=organisation.slug,
        organisation_name=organisation.name,
        language=language if isinstance(language, str) else user.language,
        unread=unread,
    )


PageHandler = Callable[[Request, Staff], Awaitable[Response]]
ActionHandler = Callable[[Request, Staff, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(roles: tuple[str, ...] = VIEW) -> Callable[[PageHandler], Endpoint]:
    """A page for logged-in staff with one of `roles` (others get 403)."""

    def wrap(handler: PageHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            staff = await current_staff(request)
            if staff is None:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            if staff.role not in roles:
                raise HTTPException(403)
            request.state.staff = staff
            return await handler(request, staff)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def action(roles: tuple[str, ...] = EDIT) -> Callable[[ActionHandler], Endpoint]:
    """A form post by logged-in staff with one of `roles`, with a valid CSRF token."""

    def wrap(handler: ActionHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            staff = await current_staff(request)
            if staff is None:
                raise HTTPException(403, "log in first")
            form = await checked_form(request)
            try:
                if staff.role not in roles:
                    raise HTTPException(403)
                request.state.staff = staff
                return await handler(request, staff, form)
            finally:
                await form.close()  # uploaded files are temporary files

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


async def audit(
    uow: UnitOfWork, staff: Staff, action_name: str, target: str | None = None, **detail: Any
) -> None:
    """Record a staff action in the audit log (in the caller's unit of work)."""
    await uow.audit.add(
        action_name,
        email=staff.email,
        staff_user_id=staff.id,
        organisation_id=staff.organisation_id,
        target=target,
        detail=detail,
    )
