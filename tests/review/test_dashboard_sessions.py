"""A staff session lives on the server: logging out ends it everywhere, a new password
ends every session of the account, and the cookie carries no password material."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from konsulta.bootstrap import App
from tests.review.conftest import Browser, logged_in


def cookie_payload(browser: Browser) -> dict[str, object]:
    """What Starlette's signed session cookie says (signed, not encrypted: readable)."""
    raw = browser.client.cookies["konsulta_session"]
    data = raw.split(".")[0]
    decoded: dict[str, object] = json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))
    return decoded


async def test_a_copied_cookie_stops_working_once_its_owner_logs_out(
    browser_factory: Callable[[], Browser],
) -> None:
    owner = await logged_in(browser_factory, "staff-a@example.org")
    thief = browser_factory()
    thief.client.cookies.update(owner.client.cookies)
    assert (await thief.get("/consultations")).status_code == 200
    assert (await owner.post("/logout")).status_code == 303
    assert (await thief.get("/consultations")).status_code == 303  # back to the login


async def test_the_cookie_holds_a_random_token_and_nothing_of_the_password_hash(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    payload = cookie_payload(browser)
    assert set(payload) <= {"sid", "csrf", "lang", "flash"}
    async with app.uow() as uow:
        user = await uow.staff.get_by_email("staff-a@example.org")
    assert user is not None
    assert isinstance(payload["sid"], str) and len(payload["sid"]) >= 40
    assert user.password_hash[-16:] not in json.dumps(payload)
    assert "uid" not in payload and "fp" not in payload


async def test_a_password_reset_from_the_cli_ends_every_session_of_the_account(
    browser_factory: Callable[[], Browser], app: App, tmp_path: Path
) -> None:
    laptop = await logged_in(browser_factory, "staff-a@example.org")
    phone = await logged_in(browser_factory, "staff-a@example.org")
    other = await logged_in(browser_factory, "staff-b@example.org")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONSULTA_")}
    env["KONSULTA_DATABASE_URL"] = app.settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "bot", "users", "passwd", "staff-a@example.org"],
        input="a brand new long password\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (await laptop.get("/consultations")).status_code == 303
    assert (await phone.get("/consultations")).status_code == 303
    assert (await other.get("/consultations")).status_code == 200
    fresh = browser_factory()
    assert (
        await fresh.login("staff-a@example.org", "a brand new long password")
    ).status_code == 303
    async with app.uow() as uow:
        resets = await uow.audit.search(organisation_id=None, action="passwd")
    assert [entry.target for entry in resets] == ["staff-a@example.org"]


async def test_staff_change_their_own_password_on_the_dashboard(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    laptop = await logged_in(browser_factory, "viewer-a@example.org")
    phone = await logged_in(browser_factory, "viewer-a@example.org")
    assert "Change your password" in (await laptop.get("/account")).text
    wrong = await laptop.post(
        "/account/password",
        {"current": "a guess", "new": "a brand new password", "again": "a brand new password"},
    )
    assert wrong.status_code == 303
    assert "The current password is not right." in (await laptop.get("/account")).text
    changed = await laptop.post(
        "/account/password",
        {
            "current": "viewer-aviewer-a",
            "new": "a brand new password",
            "again": "a brand new password",
        },
    )
    assert changed.status_code == 303
    assert (await laptop.get("/consultations")).status_code == 200  # this session stays
    assert (await phone.get("/consultations")).status_code == 303  # the other one ended
    assert (await browser_factory().login("viewer-a@example.org")).status_code == 401
    fresh = browser_factory()
    assert (await fresh.login("viewer-a@example.org", "a brand new password")).status_code == 303
    async with app.uow() as uow:
        entries = await uow.audit.search(organisation_id=None, action="passwd", limit=5)
    assert [e.email for e in entries] == ["viewer-a@example.org"]
