"""An organisation chooses how the bot's own texts address its citizens.

A youth council's admin switches the bot to "ty"; the town hall next door keeps
"Pan/Pani". Only an admin changes it, only for their own organisation (the platform
operator for any), and the audit log says who did.
"""

from __future__ import annotations

from collections.abc import Callable

from konsulta.bootstrap import App
from storage.models import Register
from tests.review.conftest import Browser, logged_in


async def registers(app: App) -> dict[str, str]:
    async with app.uow() as uow:
        return {o.slug: o.register for o in await uow.organisations.list_all()}


async def organisation_id(app: App, slug: str) -> int:
    async with app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(slug)
    assert organisation is not None
    return organisation.id


async def test_an_admin_switches_their_organisation_to_the_informal_register(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    assert await registers(app) == {"org-a": Register.FORMAL, "org-b": Register.FORMAL}
    admin = await logged_in(browser_factory, "admin-a@example.org")
    page = await admin.get("/admin/users")
    assert "How the bot addresses citizens" in page.text
    org_a = await organisation_id(app, "org-a")
    assert f"/admin/organisations/{org_a}/register" in page.text
    done = await admin.post(f"/admin/organisations/{org_a}/register", {"register": "informal"})
    assert done.status_code == 303
    assert await registers(app) == {"org-a": Register.INFORMAL, "org-b": Register.FORMAL}
    shown = await admin.get("/admin/users")
    assert '<option value="informal" selected>' in shown.text
    audit = await admin.get("/audit?action=set_register")
    assert "admin-a@example.org" in audit.text and "org-a" in audit.text
    # And back: formal is a choice too, not only the default.
    await admin.post(f"/admin/organisations/{org_a}/register", {"register": "formal"})
    assert (await registers(app))["org-a"] == Register.FORMAL


async def test_an_admin_of_one_organisation_cannot_change_another(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    admin = await logged_in(browser_factory, "admin-a@example.org")
    org_b = await organisation_id(app, "org-b")
    page = await admin.get("/admin/users")
    assert f"/admin/organisations/{org_b}/register" not in page.text
    refused = await admin.post(f"/admin/organisations/{org_b}/register", {"register": "informal"})
    assert refused.status_code == 404
    assert (await registers(app))["org-b"] == Register.FORMAL


async def test_staff_and_viewers_cannot_change_the_register(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    org_a = await organisation_id(app, "org-a")
    for email in ("staff-a@example.org", "viewer-a@example.org"):
        someone = await logged_in(browser_factory, email)
        response = await someone.post(
            f"/admin/organisations/{org_a}/register", {"register": "informal"}
        )
        assert response.status_code == 403, email
    assert (await registers(app))["org-a"] == Register.FORMAL


async def test_the_platform_operator_sets_any_organisations_register(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    operator = await logged_in(browser_factory, "platform@example.org")
    org_b = await organisation_id(app, "org-b")
    page = await operator.get("/admin/users")
    assert f"/admin/organisations/{org_b}/register" in page.text
    await operator.post(f"/admin/organisations/{org_b}/register", {"register": "informal"})
    assert await registers(app) == {"org-a": Register.FORMAL, "org-b": Register.INFORMAL}


async def test_only_the_two_registers_and_existing_organisations_are_accepted(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    operator = await logged_in(browser_factory, "platform@example.org")
    org_a = await organisation_id(app, "org-a")
    odd = await operator.post(f"/admin/organisations/{org_a}/register", {"register": "casual"})
    assert odd.status_code == 400
    missing = await operator.post("/admin/organisations/9999/register", {"register": "formal"})
    assert missing.status_code == 404
    without_token = await operator.post(
        f"/admin/organisations/{org_a}/register", {"register": "informal"}, csrf=False
    )
    assert without_token.status_code in (400, 403)
    assert (await registers(app))["org-a"] == Register.FORMAL
