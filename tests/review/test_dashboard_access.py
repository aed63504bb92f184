"""Who gets in and what they may do: passwords, lockout, CSRF, roles, organisations."""

from __future__ import annotations

from collections.abc import Callable

from database_checks import session_of
from sqlalchemy import func, select

from konsulta.bootstrap import App
from storage.models import AuditEntry
from tests.review.conftest import Browser, Clock, logged_in

A_THREAD_PAGES = [
    "/consultations/park-survey",
    "/consultations/park-survey/texts",
    "/consultations/park-survey/reports",
    "/consultations/park-survey/export.csv",
    "/consultations/park-survey/template.pot",
    "/consultations/park-survey/translations",
    "/consultations/park-survey/translations/pl.po",
    "/consultations/park-survey/crosstab.csv?rows=district&columns=stairs",
]


async def test_a_stranger_is_sent_to_the_login_page_and_a_wrong_password_gets_nowhere(
    anonymous: Browser,
) -> None:
    page = await anonymous.get("/consultations/park-survey")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/consultations/park-survey"
    login = await anonymous.get("/login")
    assert "Log in" in login.text
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["x-content-type-options"] == "nosniff"
    wrong = await anonymous.post(
        "/login", {"email": "staff-a@example.org", "password": "not the password"}
    )
    assert wrong.status_code == 401
    assert "Wrong e-mail or password." in wrong.text
    assert (await anonymous.get("/consultations")).status_code == 303


async def test_staff_log_in_see_their_consultations_and_log_out(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    browser = await logged_in(browser_factory, "staff-a@example.org")
    page = await browser.get("/consultations")
    assert page.status_code == 200
    assert "The park in the centre" in page.text
    assert "The harbour" not in page.text  # Org B's consultation
    out = await browser.post("/logout")
    assert out.status_code == 303
    assert (await browser.get("/consultations")).status_code == 303
    async with app.uow() as uow:
        logins = await uow.audit.search(organisation_id=None, action="login")
    assert [entry.email for entry in logins] == ["staff-a@example.org"]


async def test_the_session_cookie_is_http_only_and_secure_unless_configured_for_http(
    browser_factory: Callable[[], Browser], app: App, clock: Clock
) -> None:
    import httpx

    from review.web import create_web_app

    browser = browser_factory()
    response = await browser.login("staff-a@example.org")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie

    app.settings = app.settings.model_copy(update={"web_secure_cookies": True})
    secure = create_web_app(app, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=secure), base_url="https://testserver"
    ) as client:
        page = await client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()


async def test_five_wrong_passwords_lock_the_account_for_a_while(
    anonymous: Browser, clock: Clock
) -> None:
    for _ in range(5):
        await anonymous.post("/login", {"email": "staff-a@example.org", "password": "guess guess"})
    locked = await anonymous.post(
        "/login", {"email": "staff-a@example.org", "password": "staff-astaff-a"}
    )
    assert locked.status_code == 401
    assert "locked" in locked.text
    clock.advance(minutes=16)
    opened = await anonymous.post(
        "/login", {"email": "staff-a@example.org", "password": "staff-astaff-a"}
    )
    assert opened.status_code == 303


async def test_one_address_trying_many_accounts_is_slowed_down_too(
    browser_factory: Callable[[], Browser], clock: Clock
) -> None:
    """Four guesses each at many e-mails stay under every per-e-mail lockout; twenty
    failures from one address make that address wait, while others still log in."""
    attacker = browser_factory()
    for n in range(20):
        await attacker.post("/login", {"email": f"guess{n // 4}@example.org", "password": "x" * 12})
    refused = await attacker.post(
        "/login", {"email": "staff-a@example.org", "password": "staff-astaff-a"}
    )
    assert refused.status_code == 401 and "locked" in refused.text
    clock.advance(minutes=16)
    later = await attacker.post(
        "/login", {"email": "staff-a@example.org", "password": "staff-astaff-a"}
    )
    assert later.status_code == 303


async def test_a_form_without_the_csrf_token_is_refused(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    stranger = browser_factory()
    assert (
        await stranger.post("/login", {"email": "x@example.org", "password": "x"}, csrf=False)
    ).status_code == 403
    browser = await logged_in(browser_factory, "staff-a@example.org")
    forged = await browser.post(f"/citizens/{people['anna']}/reply", {"text": "hello"}, csrf=False)
    assert forged.status_code == 403
    wrong = await browser.client.post(
        f"/citizens/{people['anna']}/reply", data={"text": "hello", "csrf_token": "forged"}
    )
    assert wrong.status_code == 403
    for url, data in [
        ("/consultations/park-survey/tags", {"name": "benches"}),
        ("/consultations/park-survey/status", {"status": "closed"}),
        ("/publish", {"yaml": "id: x"}),
        ("/logout", {}),
        ("/language", {"language": "pl"}),
    ]:
        assert (await browser.post(url, data, csrf=False)).status_code == 403, url
    async with app.uow() as uow:
        assert await uow.outbox.claim_due() == []


async def test_staff_of_another_organisation_get_404_for_everything_of_org_a(
    browser_factory: Callable[[], Browser], people: dict[str, str]
) -> None:
    other = await logged_in(browser_factory, "staff-b@example.org")
    for url in [*A_THREAD_PAGES, f"/citizens/{people['anna']}", "/photos/1/photo"]:
        response = await other.get(url)
        assert response.status_code == 404, url
        assert "not yours to see" in response.text or url.endswith((".csv", ".pot"))
    for url, data in [
        (f"/citizens/{people['anna']}/reply", {"text": "hi"}),
        ("/consultations/park-survey/tags", {"name": "x"}),
        ("/consultations/park-survey/status", {"status": "closed"}),
        ("/consultations/park-survey/reports/1/status", {"status": "resolved"}),
        ("/consultations/park-survey/answers/1/coding", {"mark": "idea"}),
        ("/consultations/park-survey/translations/pl", {"msgid": "x", "msgstr": "y"}),
    ]:
        assert (await other.post(url, data)).status_code == 404, url
    # Their own citizen is theirs; Org A's citizen who never answered Org B is not.
    assert (await other.get(f"/citizens/{people['ewa']}")).status_code == 200


async def test_a_viewer_reads_everything_but_cannot_change_anything(
    browser_factory: Callable[[], Browser], people: dict[str, str], app: App
) -> None:
    viewer = await logged_in(browser_factory, "viewer-a@example.org")
    for url in [*A_THREAD_PAGES, f"/citizens/{people['anna']}", "/publish", "/audit"]:
        assert (await viewer.get(url)).status_code == 200, url
    thread = await viewer.get(f"/citizens/{people['anna']}")
    assert "Send reply" not in thread.text
    for url, data in [
        (f"/citizens/{people['anna']}/reply", {"text": "hi"}),
        ("/consultations/park-survey/tags", {"name": "x"}),
        ("/consultations/park-survey/status", {"status": "closed"}),
        ("/consultations/park-survey/reports/1/status", {"status": "resolved"}),
        ("/consultations/park-survey/answers/1/coding", {"mark": "idea"}),
        ("/publish", {"yaml": "id: x"}),
        ("/consultations/park-survey/translations/pl", {"msgid": "x", "msgstr": "y"}),
        ("/admin/users", {"email": "new@example.org"}),
    ]:
        assert (await viewer.post(url, data)).status_code == 403, url
    assert (await viewer.get("/admin/users")).status_code == 403
    async with app.uow() as uow:
        count = await session_of(uow).scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "reply")
        )
    assert count == 0


async def test_an_organisations_admin_manages_their_own_organisation_only(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    assert (await staff.get("/admin/users")).status_code == 403
    admin = await logged_in(browser_factory, "admin-a@example.org")
    page = await admin.get("/admin/users")
    assert "staff-a@example.org" in page.text
    assert "staff-b@example.org" not in page.text
    assert "org-b" not in page.text and "Add organisation" not in page.text
    assert (await admin.post("/admin/organisations", {"name": "Mine Now"})).status_code == 403
    async with app.uow() as uow:
        org_b = await uow.organisations.get_by_slug("org-b")
        staff_b = await uow.staff.get_by_email("staff-b@example.org")
        operator = await uow.staff.get_by_email("platform@example.org")
    assert org_b is not None and staff_b is not None and operator is not None
    # An account asked for in Org B lands in the admin's own organisation.
    await admin.post(
        "/admin/users",
        {
            "email": "spy@example.org",
            "role": "admin",
            "organisation": str(org_b.id),
            "language": "en",
            "password": "a long enough password",
        },
    )
    # Nor can an organisation's admin make a platform operator.
    await admin.post(
        "/admin/users",
        {
            "email": "king@example.org",
            "role": "platform",
            "language": "en",
            "password": "a long enough password",
        },
    )
    async with app.uow() as uow:
        spy = await uow.staff.get_by_email("spy@example.org")
        assert await uow.staff.get_by_email("king@example.org") is None
    assert spy is not None and spy.organisation_id != org_b.id
    for user in (staff_b, operator):
        response = await admin.post(f"/admin/users/{user.id}/active", {"active": "0"})
        assert response.status_code == 404
    async with app.uow() as uow:
        assert (await uow.staff.get(staff_b.id)).active  # type: ignore[union-attr]
        assert (await uow.staff.get(operator.id)).active  # type: ignore[union-attr]
    # Org B's audit rows stay Org B's.
    other = await logged_in(browser_factory, "staff-b@example.org")
    await other.get("/consultations/harbour-survey/export.csv")
    audit = await admin.get("/audit")
    assert "staff-b@example.org" not in audit.text
    assert "admin-a@example.org" in audit.text


async def test_the_platform_operator_adds_organisations_and_their_accounts(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    operator = await logged_in(browser_factory, "platform@example.org")
    page = await operator.get("/admin/users")
    assert "staff-b@example.org" in page.text
    await operator.post("/admin/organisations", {"name": "Fundacja Razem"})
    async with app.uow() as uow:
        organisation = await uow.organisations.get_by_slug("fundacja-razem")
    assert organisation is not None
    added = await operator.post(
        "/admin/users",
        {
            "email": "New@Example.org",
            "role": "viewer",
            "organisation": str(organisation.id),
            "language": "pl",
            "password": "a long enough password",
        },
    )
    assert added.status_code == 303
    newcomer = browser_factory()
    assert (await newcomer.login("new@example.org", "a long enough password")).status_code == 303
    async with app.uow() as uow:
        user = await uow.staff.get_by_email("new@example.org")
    assert user is not None and user.organisation_id == organisation.id
    await operator.post(f"/admin/users/{user.id}/active", {"active": "0"})
    assert (await newcomer.get("/consultations")).status_code == 303  # session ended
