"""A municipality and the two NGOs it contracts, together (issue 20).

Org A, the city, runs the service-feedback questionnaire. It shares it with two NGOs:
"Pomocna Dłoń" (org-b, home care) and "Pogodna Jesień" (org-c, the day centre). Each
NGO hangs its own poster (its community's invite link) at its service point, and
residents come through it and answer in Telegram. Each NGO then reads, codes and
answers its own people's comments (and those of anyone who named its service), sees
the other's people only in figures of groups of at least k, and loses all of it the
moment the partnership ends. The city sees everything, and both audit logs show each
step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from dialogs.events import ButtonPress, TextInput
from konsulta.bootstrap import App
from konsulta.conversations import CONSENT_STEP, Conversations, Who
from konsulta.leaders.service import LeaderError, add_community, invite_link
from review.security import hash_password
from tests.conftest import TEST_PSEUDONYM_SECRET
from tests.review.conftest import Browser, add_run, logged_in, password_of
from tests.review.test_providers import SERVICE_FEEDBACK, publish_in_org_a

SLUG = "service-feedback"
#: The questionnaire as a resident happy with the service answers it (no branch into
#: multiple-choice questions); the provider and the comment vary.
HAPPY = {
    "user": "self",
    "how_long": "1_3y",
    "overall": "4",
    "on_time": "always",
    "access": "easy",
    "respect": "5",
    "say_in": "yes",
    "complaint": "know",
    "still_needed": "yes",
}


@dataclass
class World:
    home_care: int  # org-b's community id
    day_centre: int  # org-c's community id


async def add_staff(app: App, organisation: str, *accounts: tuple[str, str]) -> None:
    async with app.uow() as uow:
        found = await uow.organisations.get_or_create(organisation, organisation.upper())
        for email, role in accounts:
            await uow.staff.create(email, hash_password(password_of(email)), role, found.id, "en")
        await uow.commit()


@pytest.fixture
async def world(app: App) -> World:
    await publish_in_org_a(app, SERVICE_FEEDBACK)
    # k = 3 here, so that a handful of residents makes a group.
    app.settings = app.settings.model_copy(update={"public_min_group": 3})
    await add_staff(
        app, "org-b", ("admin-b@example.org", "admin"), ("viewer-b@example.org", "viewer")
    )
    await add_staff(
        app,
        "org-c",
        ("admin-c@example.org", "admin"),
        ("staff-c@example.org", "staff"),
        ("viewer-c@example.org", "viewer"),
    )
    async with app.uow() as uow:
        home_care = await add_community(uow, "org-b", "Home care clients", ["pl"])
        day_centre = await add_community(uow, "org-c", "Day centre club", ["pl"])
        await uow.commit()
        return World(home_care.id, day_centre.id)


async def hang_poster(app: App, ngo: Browser, community_id: int) -> str:
    """The NGO's staff make their community's invite link to the shared consultation
    on the community's page and download its poster; returns the link's /start
    payload (what the poster's QR code holds)."""
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug(SLUG)
        assert consultation is not None
    page = f"/communities/{community_id}"
    assert f'value="{consultation.id}"' in (await ngo.get(page)).text  # offered
    made = await ngo.post(f"{page}/links", {"consultation": str(consultation.id)})
    assert made.status_code == 303, made.text
    async with app.uow() as uow:
        [link] = await uow.invites.of_community(community_id)
    poster = await ngo.get(f"{page}/links/{link.id}/poster.png")
    assert poster.status_code == 200 and poster.content.startswith(b"\x89PNG")
    assert f"start={link.payload}" in (await ngo.get(page)).text
    return link.payload


async def poster_link(app: App, community_id: int) -> str:
    """The /start payload of the community's invite link (what its poster's QR holds)."""
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug(SLUG)
        community = await uow.communities.get(community_id)
        assert consultation is not None and community is not None
        link = await invite_link(uow, consultation, community, None)
        await uow.commit()
        return link.payload


async def resident(app: App, telegram_id: int, start: str, provider: str, comment: str) -> str:
    """A resident opens `start` (a poster's payload, or the consultation's own slug)
    in Telegram, consents and answers everything; returns their participant id."""
    conversations = Conversations(app)
    who = Who("telegram", telegram_id, telegram_id, "pl")
    await conversations.open(who, start, source=f"link:{start}", delivery=None)
    shown = await conversations.handle(who, ButtonPress(CONSENT_STEP, "agree"), delivery=None)
    answers = {**HAPPY, "provider": provider, "comment": comment}
    while not shown.completed:
        step = shown.messages[-1].step_id
        assert step in answers, step
        event = TextInput(answers[step]) if step == "comment" else ButtonPress(step, answers[step])
        shown = await conversations.handle(who, event, delivery=None)
    async with app.uow() as uow:
        citizen = await uow.citizens.get_or_create(
            telegram_id, telegram_id, secret=TEST_PSEUDONYM_SECRET
        )
        return citizen.participant_id


def answer_ids(page: str, comment: str) -> int:
    """The id of the free-text answer that says `comment` on a texts page."""
    found = re.search(rf'id="answer-(\d+)"(?:(?!id="answer-).)*?{re.escape(comment)}', page, re.S)
    assert found is not None, comment
    return int(found.group(1))


async def invite(admin: Browser, organisation: str, *keys: str, role: str = "partner") -> None:
    response = await admin.post(
        f"/consultations/{SLUG}/partners",
        {
            "organisation": organisation,
            "role": role,
            "provider_step": "provider",
            "provider_keys": list(keys),
        },
    )
    assert response.status_code == 303, response.text


async def partnership_of(app: App, organisation: str) -> int:
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug(SLUG)
        partner = await uow.organisations.get_by_slug(organisation)
        assert consultation is not None and partner is not None
        found = await uow.partnerships.current(consultation.id, partner.id)
        assert found is not None
        return found.id


async def audit_actions(app: App, organisation: str) -> list[str]:
    async with app.uow() as uow:
        found = await uow.organisations.get_by_slug(organisation)
        assert found is not None
        entries = await uow.audit.search(organisation_id=found.id, limit=1000)
    return [entry.action for entry in entries]


async def test_two_ngos_each_see_their_own_people_and_only_figures_of_the_others(
    browser_factory: Callable[[], Browser], app: App, world: World
) -> None:
    city = await logged_in(browser_factory, "admin-a@example.org")
    city_staff = await logged_in(browser_factory, "staff-a@example.org")
    admin_b = await logged_in(browser_factory, "admin-b@example.org")
    staff_b = await logged_in(browser_factory, "staff-b@example.org")
    viewer_b = await logged_in(browser_factory, "viewer-b@example.org")
    admin_c = await logged_in(browser_factory, "admin-c@example.org")
    staff_c = await logged_in(browser_factory, "staff-c@example.org")

    # Before anything is shared, the consultation is nobody else's business.
    assert (await staff_b.get(f"/consultations/{SLUG}")).status_code == 404
    with pytest.raises(LeaderError):  # an NGO cannot hang a poster for it yet
        await poster_link(app, world.home_care)
    async with app.uow() as uow:
        consultation = await uow.consultations.get_by_slug(SLUG)
        assert consultation is not None
    no_poster = {"consultation": str(consultation.id)}
    assert (
        await staff_b.post(f"/communities/{world.home_care}/links", no_poster)
    ).status_code == 404

    # The city's admin invites both NGOs, each for the service it provides.
    await invite(city, "org-b", "home_care")
    await invite(city, "org-c", "day_centre")
    listed = (await city.get(f"/consultations/{SLUG}/partners")).text
    assert 'data-partner="org-b"' in listed and "not accepted yet" in listed
    # Invited is not accepted: still nothing to see.
    assert (await staff_b.get(f"/consultations/{SLUG}")).status_code == 404
    invitations = (await admin_b.get("/partners")).text
    assert "Ocena usług miejskich" in invitations and "Accept" in invitations
    b, c = await partnership_of(app, "org-b"), await partnership_of(app, "org-c")
    assert (await staff_b.post(f"/partners/{b}/accept")).status_code == 403  # admins only
    assert (await admin_c.post(f"/partners/{b}/accept")).status_code == 404  # not theirs
    assert (await admin_b.post(f"/partners/{b}/accept")).status_code == 303
    assert (await admin_c.post(f"/partners/{c}/accept")).status_code == 303

    # Each NGO's poster; residents come through it, one through the city's own link.
    b_poster = await hang_poster(app, staff_b, world.home_care)
    c_poster = await hang_poster(app, staff_c, world.day_centre)
    b_people = [
        await resident(app, 3001, b_poster, "home_care", "B1: opiekunka jest punktualna"),
        await resident(app, 3002, b_poster, "home_care", "B2: prosimy o wizyty rano"),
        # Came through the NGO's poster, though they rated another service.
        await resident(app, 3003, b_poster, "transport", "B3: przewóz się spóźnia"),
        # Came through the city's link, and named the NGO's service.
        await resident(app, 3004, SLUG, "home_care", "B4: dziękuję za opiekę"),
    ]
    c_people = [
        await resident(app, 4001 + n, c_poster, "day_centre", f"C{n + 1}: zajęcia są świetne")
        for n in range(3)
    ]
    city_only = await resident(app, 5001, SLUG, "meals", "M1: obiady są zimne")

    # Org B: the shared consultation is in its list, with its own people's figures
    # and, of everyone, only groups of at least k = 3.
    assert 'data-shared="service-feedback"' in (await staff_b.get("/consultations")).text
    results = (await staff_b.get(f"/consultations/{SLUG}")).text
    assert "Shared with your organisation by" in results
    own = results.split('id="own-people"', 1)[1].split('id="everyone"', 1)[0]
    assert '<strong data-count="completed">4</strong>' in own
    everyone = results.split('id="everyone"', 1)[1]
    assert "8 people finished." in everyone
    assert "/export." not in results and "/partners" not in results.split("<main>", 1)[1]

    texts_b = (await staff_b.get(f"/consultations/{SLUG}/texts")).text
    # Comments are found by their "B1:" (a random token in the page may hold "B1").
    for comment in ("B1:", "B2:", "B3:", "B4:"):
        assert comment in texts_b
    assert "C1:" not in texts_b and "M1:" not in texts_b
    texts_c = (await staff_c.get(f"/consultations/{SLUG}/texts")).text
    assert all(f"C{n}:" in texts_c for n in (1, 2, 3))
    assert "B1:" not in texts_c and "M1:" not in texts_c
    everything = (await city_staff.get(f"/consultations/{SLUG}/texts")).text
    assert all(word in everything for word in ("B1:", "B4:", "C2:", "M1:"))

    # Org B codes its own people's comments and answers them, like the city does.
    b1 = answer_ids(texts_b, "B1:")
    c1 = answer_ids(everything, "C1:")
    coded = await staff_b.post(
        f"/consultations/{SLUG}/answers/{b1}/coding", {"mark": "idea", "follow_up": "1"}
    )
    assert coded.status_code == 303
    assert (
        await staff_b.post(f"/consultations/{SLUG}/answers/{c1}/coding", {"mark": "idea"})
    ).status_code == 404
    assert (await viewer_b.post(f"/consultations/{SLUG}/answers/{b1}/coding")).status_code == 403
    thread = await staff_b.get(f"/citizens/{b_people[0]}")
    assert thread.status_code == 200 and "B1: opiekunka" in thread.text
    sent = await staff_b.post(f"/citizens/{b_people[0]}/reply", {"text": "Dziękujemy!"})
    assert sent.status_code == 303
    assert (await staff_b.get(f"/citizens/{c_people[0]}")).status_code == 404
    assert (await staff_b.get(f"/citizens/{city_only}")).status_code == 404
    assert (await staff_c.get(f"/citizens/{b_people[3]}")).status_code == 404
    # What only the owner does stays the owner's.
    for owner_only in ("export.csv", "reports", "links", "roadmap", "partners", "translations"):
        assert (await staff_b.get(f"/consultations/{SLUG}/{owner_only}")).status_code == 404

    # Both logs tell the story; the city's log names org B's coding of its answer.
    city_log = await audit_actions(app, "org-a")
    assert city_log.count("partner_invite") == 2 and city_log.count("partner_accept") == 2
    assert "code" in city_log and "partner_invite" in await audit_actions(app, "org-b")

    # The city ends org B's partnership: every page of it is org B's no more.
    assert (await city.post(f"/partners/{b}/end")).status_code == 303
    for url in (
        f"/consultations/{SLUG}",
        f"/consultations/{SLUG}/texts",
        f"/consultations/{SLUG}/providers",
        f"/consultations/{SLUG}/providers/home_care",
        f"/citizens/{b_people[0]}",
    ):
        assert (await staff_b.get(url)).status_code == 404, url
    assert (
        await staff_b.post(f"/consultations/{SLUG}/answers/{b1}/coding", {"mark": "need"})
    ).status_code == 404
    assert (await staff_b.post(f"/citizens/{b_people[0]}/reply", {"text": "?"})).status_code == 404
    # The resident answers org B's message after the end: the city reads it, not nobody.
    who = Who("telegram", 3001, 3001, "pl")
    passed = await Conversations(app).handle(who, TextInput("Czy mogę zadzwonić?"), delivery=None)
    assert "Wiadomość została przekazana" in passed.messages[0].text
    assert "Czy mogę zadzwonić?" in (await city_staff.get(f"/citizens/{b_people[0]}")).text
    assert 'data-shared="service-feedback"' not in (await staff_b.get("/consultations")).text
    with pytest.raises(LeaderError):
        await poster_link(app, world.home_care)
    assert (
        f'value="{consultation.id}"'
        not in (await staff_b.get(f"/communities/{world.home_care}")).text
    )
    # Org C still works with it, until it leaves on its own.
    assert (await staff_c.get(f"/consultations/{SLUG}/texts")).status_code == 200
    assert (await admin_c.post(f"/partners/{c}/end")).status_code == 303
    assert (await staff_c.get(f"/consultations/{SLUG}")).status_code == 404
    assert (await audit_actions(app, "org-a")).count("partner_end") == 2
    # The city still sees everything.
    assert "B1:" in (await city_staff.get(f"/consultations/{SLUG}/texts")).text


async def test_a_provider_sees_figures_of_groups_only_never_an_answer(
    browser_factory: Callable[[], Browser], app: App, world: World
) -> None:
    """Invited as a `provider` (what the template's consent promises providers), the
    NGO sees the results page's figures of everyone, its shared provider page, and no
    one's answer, not even of its own poster's people."""
    city = await logged_in(browser_factory, "admin-a@example.org")
    admin_b = await logged_in(browser_factory, "admin-b@example.org")
    staff_b = await logged_in(browser_factory, "staff-b@example.org")
    await invite(city, "org-b", "home_care", role="provider")
    accepted = await admin_b.post(f"/partners/{await partnership_of(app, 'org-b')}/accept")
    assert accepted.status_code == 303
    b_poster = await poster_link(app, world.home_care)
    someone = await resident(app, 3001, b_poster, "home_care", "B1 secret")
    results = (await staff_b.get(f"/consultations/{SLUG}")).text
    assert "As a provider you see only figures" in results and 'id="own-people"' not in results
    assert (await staff_b.get(f"/consultations/{SLUG}/texts")).status_code == 404
    assert (await staff_b.get(f"/citizens/{someone}")).status_code == 404
    assert (await staff_b.get(f"/consultations/{SLUG}/providers/home_care")).status_code == 200


Q3 = datetime(2026, 8, 3, 9, tzinfo=UTC)


async def rate(app: App, first_id: int, provider: str, ratings: list[int]) -> None:
    for n, overall in enumerate(ratings):
        await add_run(
            app,
            SLUG,
            first_id + n,
            {"provider": provider, "overall": overall},
            language="pl",
            started_at=Q3 + timedelta(hours=n),
        )


def row(page: str, quarter: str) -> dict[str, str]:
    found = re.search(rf'<tr data-quarter="{quarter}">(.*?)</tr>', page, re.S)
    assert found is not None, quarter
    cells = re.findall(r'<td data-column="([a-z]+)"[^>]*>(.*?)</td>', found.group(1), re.S)
    return {name: " ".join(re.sub(r"<[^>]+>", " ", text).split()) for name, text in cells}


async def test_the_city_and_the_provider_see_one_page_compared_only_where_both_have_k(
    browser_factory: Callable[[], Browser], app: App, world: World
) -> None:
    """k = 3 here. In the third quarter home care has 4 ratings, the day centre 3 and
    transport 2 (hidden, and left out of all providers); in the fourth only home care
    has 3 ratings: no all-providers figure, so no comparison."""
    await rate(app, 6000, "home_care", [4, 4, 5, 5])
    await rate(app, 6100, "day_centre", [2, 2, 2])
    await rate(app, 6200, "transport", [1, 1])
    for n in range(3):
        await add_run(
            app,
            SLUG,
            6300 + n,
            {"provider": "home_care", "overall": 3},
            language="pl",
            started_at=datetime(2026, 11, 2, 9, tzinfo=UTC),
        )
    city = await logged_in(browser_factory, "admin-a@example.org")
    viewer_a = await logged_in(browser_factory, "viewer-a@example.org")
    admin_b = await logged_in(browser_factory, "admin-b@example.org")
    staff_b = await logged_in(browser_factory, "staff-b@example.org")
    await invite(city, "org-b", "home_care")
    await admin_b.post(f"/partners/{await partnership_of(app, 'org-b')}/accept")

    page = "/consultations/service-feedback/providers/home_care"
    seen = [(await who.get(page)).text for who in (viewer_a, staff_b)]
    assert seen[0].split("<main>")[1] == seen[1].split("<main>")[1]  # one page, both sides
    third = row(seen[1], "2026-Q3")
    assert third["provider"] == "4 people mean 4.5 100% rated 4 or more"
    # All providers: home care and the day centre, 7 people, (18 + 6) / 7; never transport.
    assert third["all"] == "7 people mean 3.4 57% rated 4 or more"
    assert third["difference"] == "+1.1"
    fourth = row(seen[1], "2026-Q4")
    assert fourth["provider"].startswith("3 people mean 3.0")
    assert fourth["all"] == "—" and fourth["difference"] == "—"
    # The provider's link on the providers page, for its own service only.
    listing = (await staff_b.get("/consultations/service-feedback/providers")).text
    assert f'href="{page}' in listing
    assert 'href="/consultations/service-feedback/providers/day_centre' not in listing
    assert (
        await staff_b.get("/consultations/service-feedback/providers/day_centre")
    ).status_code == 404


ORG_A = [
    "platform@example.org",
    "admin-a@example.org",
    "staff-a@example.org",
    "viewer-a@example.org",
]
ORG_B = ["admin-b@example.org", "staff-b@example.org", "viewer-b@example.org"]
ORG_C = ["admin-c@example.org", "staff-c@example.org", "viewer-c@example.org"]


async def test_every_partner_route_for_every_role_and_another_organisation(
    browser_factory: Callable[[], Browser], app: App, world: World
) -> None:
    """Org A owns the consultation and org B is its partner for home care; org C is
    neither, until it is invited. Pages: what each role of each organisation gets.
    Actions: only admins act, each on its own side; anyone else's is a 404."""
    who = {email: await logged_in(browser_factory, email) for email in ORG_A + ORG_B + ORG_C}
    await invite(who["admin-a@example.org"], "org-b", "home_care")
    b = await partnership_of(app, "org-b")
    assert (await who["admin-b@example.org"].post(f"/partners/{b}/accept")).status_code == 303
    await resident(app, 3001, SLUG, "home_care", "B1 comment")

    expected = {
        "/partners": (200, 200, 200),
        f"/consultations/{SLUG}/partners": (200, 404, 404),
        f"/consultations/{SLUG}": (200, 200, 404),
        f"/consultations/{SLUG}/texts": (200, 200, 404),
        f"/consultations/{SLUG}/providers": (200, 200, 404),
        f"/consultations/{SLUG}/providers/home_care": (200, 200, 404),
        f"/consultations/{SLUG}/providers/day_centre": (200, 404, 404),
        f"/consultations/{SLUG}/providers/no_such_provider": (404, 404, 404),
    }
    for url, codes in expected.items():
        for code, emails in zip(codes, (ORG_A, ORG_B, ORG_C), strict=True):
            for email in emails:
                assert (await who[email].get(url)).status_code == code, (url, email)

    # Inviting: the owner's admins (the platform operator is one of org A's); nobody else.
    form = {"organisation": "org-c", "role": "partner"}
    url = f"/consultations/{SLUG}/partners"
    for email, code in (
        ("staff-a@example.org", 403),
        ("viewer-a@example.org", 403),
        ("staff-b@example.org", 403),
        ("admin-b@example.org", 404),
        ("admin-c@example.org", 404),
        ("admin-a@example.org", 303),
    ):
        assert (await who[email].post(url, form)).status_code == code, email
    c = await partnership_of(app, "org-c")
    # Twice is once: the second invitation is refused with a note.
    again = await who["platform@example.org"].post(url, form, follow_redirects=True)
    assert "already invited or a partner" in again.text

    # Accepting: only the invited organisation's admin.
    for email, code in (
        ("staff-c@example.org", 403),
        ("viewer-c@example.org", 403),
        ("admin-a@example.org", 404),
        ("admin-b@example.org", 404),
        ("admin-c@example.org", 303),
    ):
        assert (await who[email].post(f"/partners/{c}/accept")).status_code == code, email

    # Ending: either side's admin, nobody else; an ended partnership is gone for all.
    for email, code in (
        ("staff-a@example.org", 403),
        ("viewer-b@example.org", 403),
        ("staff-b@example.org", 403),
        ("admin-c@example.org", 404),
        ("admin-b@example.org", 303),
        ("admin-a@example.org", 404),
    ):
        assert (await who[email].post(f"/partners/{b}/end")).status_code == code, email
    for url in (f"/consultations/{SLUG}", f"/consultations/{SLUG}/providers/home_care"):
        for email in ORG_B:
            assert (await who[email].get(url)).status_code == 404, (url, email)
    assert (await who["staff-c@example.org"].get(f"/consultations/{SLUG}")).status_code == 200
