"""A newcomer's first steps on the dashboard: the playground's consultations are theirs
to see, and a new account starts with the least it may do."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.commands.run import publish_bundled
from konsulta.bootstrap import App
from review.security import hash_password
from tests.review.conftest import Browser, logged_in, password_of


async def test_the_add_user_form_offers_viewer_first_and_chosen(
    browser_factory: Callable[[], Browser],
) -> None:
    admin = await logged_in(browser_factory, "admin-a@example.org")
    html = (await admin.get("/admin/users")).text
    roles = re.findall(r'<option value="(platform|admin|staff|viewer)"( selected)?', html)
    assert roles == [("viewer", " selected"), ("staff", ""), ("admin", "")]


async def test_the_admin_a_newcomer_makes_for_demo_sees_the_playgrounds_consultations(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    # What `konsulta run --emulator` publishes, then `konsulta users add ... --organisation demo`.
    await publish_bundled(app)
    async with app.uow() as uow:
        demo = await uow.organisations.get_by_slug(app.settings.organisation)
        assert demo is not None and demo.slug == "demo"
        bundled = await uow.consultations.list_all(organisation=demo)
        await uow.staff.create(
            "boss@example.org",
            hash_password(password_of("boss@example.org")),
            "admin",
            demo.id,
            "en",
        )
        await uow.commit()
    slugs = {c.slug for c in bundled}
    assert {"senior-housing", "youth-ideas", "service-need"} <= slugs
    boss = await logged_in(browser_factory, "boss@example.org")
    page = (await boss.get("/consultations")).text
    for slug in slugs:
        assert f"/consultations/{slug}" in page
    assert "park-survey" not in page  # another organisation's consultation stays hidden
