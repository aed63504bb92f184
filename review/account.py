"""A staff member's own account: changing the password from the dashboard.

The current password is asked again, so a session left open on a shared computer
cannot be turned into a stolen account; a new password ends every other session of
the account (a copied cookie stops working) and keeps this one.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from review.i18n import N_
from review.rendering import flash, render
from review.security import (
    MIN_PASSWORD_LENGTH,
    VIEW,
    Staff,
    action,
    audit,
    dashboard,
    hash_password,
    open_session,
    page,
    verify_password,
)


@page(VIEW)
async def account(request: Request, staff: Staff) -> Response:
    return render(request, "account.html", min_password=MIN_PASSWORD_LENGTH)


@action(VIEW)
async def change_password(request: Request, staff: Staff, form: FormData) -> Response:
    current = str(form.get("current") or "")
    new = str(form.get("new") or "")
    board = dashboard(request)
    async with board.app.uow() as uow:
        user = await uow.staff.get(staff.id)
        if user is None or not verify_password(user.password_hash, current):
            flash(request, N_("The current password is not right."))
        elif len(new) < MIN_PASSWORD_LENGTH or new != str(form.get("again") or ""):
            flash(request, N_("The new password is too short, or the two copies differ."))
        else:
            user.password_hash = hash_password(new)
            await uow.staff_sessions.revoke_all(user.id, now=board.clock())
            token = await open_session(uow, board, user.id)
            await audit(uow, staff, "passwd", staff.email)
            await uow.commit()
            request.session["sid"] = token
            flash(request, N_("Password changed. Every other session of yours has ended."))
    return RedirectResponse("/account", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/account", account),
        Route("/account/password", change_password, methods=["POST"]),
    ]
