"""The dashboard under test: a real `App` on a migrated database (SQLite, and
PostgreSQL when configured), the Starlette app in-process behind httpx, two
organisations with their consultations, staff of every role, and citizens' answers.

Org A runs `park-survey` (tests/review/flow_a.yaml); Org B runs `harbour-survey`.
Passwords are the e-mail's local part repeated, e.g. `staff-a` -> `staff-astaff-a`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from konsulta.bootstrap import App, build_app
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from review.security import hash_password
from review.web import create_web_app
from storage.models import ConsentPurpose, RunStatus
from storage.types import utcnow
from tests.conftest import TEST_PSEUDONYM_SECRET

HERE = Path(__file__).resolve().parent
FLOW_A = HERE / "flow_a.yaml"
FLOW_B = HERE / "flow_b.yaml"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def password_of(email: str) -> str:
    local = email.split("@")[0]
    return local * 2


@dataclass
class Clock:
    """The dashboard's clock, moved by tests (lockout expiry) instead of sleeping."""

    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings_for(url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=url,
        pseudonym_secret=SecretStr(TEST_PSEUDONYM_SECRET),
        web_secure_cookies=False,
        default_language="en",
        web_stats_max_age_seconds=0,  # recount on every view: tests read fresh numbers
        bot_username="konsulta_test_bot",  # the deep links the leaders pages make
        **extra,
    )


async def seed_organisations(app: App) -> None:
    for path in (FLOW_A, FLOW_B):
        flow, yaml_text = read_flow(path)
        async with app.uow() as uow:
            await publish(uow, flow, yaml_text, open_now=True)
            await uow.commit()
    async with app.uow() as uow:
        for email, role, org in (
            ("platform@example.org", "platform", "org-a"),
            ("admin-a@example.org", "admin", "org-a"),
            ("staff-a@example.org", "staff", "org-a"),
            ("viewer-a@example.org", "viewer", "org-a"),
            ("staff-b@example.org", "staff", "org-b"),
        ):
            organisation = await uow.organisations.get_by_slug(org)
            assert organisation is not None
            await uow.staff.create(
                email, hash_password(password_of(email)), role, organisation.id, "en"
            )
        await uow.commit()


async def add_run(
    app: App,
    slug: str,
    telegram_id: int,
    answers: dict[str, Any],
    *,
    language: str = "en",
    completed: bool = True,
    community: int | None = None,
    started_at: datetime | None = None,
    display: dict[str, str] | None = None,
    named: str | None = None,
) -> str:
    """A citizen who consented and answered `answers` (step -> value); returns their
    participant id."""
    async with app.uow() as uow:
        citizen = await uow.citizens.get_or_create(
            telegram_id, telegram_id, secret=TEST_PSEUDONYM_SECRET, display_name=named
        )
        await uow.citizens.set_language(citizen, language)
        consultation = await uow.consultations.get_by_slug(slug)
        assert consultation is not None
        if named:
            await uow.consents.record(
                citizen.id, ConsentPurpose.NAMED, "v1", True, consultation_id=consultation.id
            )
        version = await uow.consultations.get_version(consultation)
        assert version is not None
        consent = await uow.consents.record(
            citizen.id, ConsentPurpose.PARTICIPATION, "v1", True, consultation_id=consultation.id
        )
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=consultation.id,
            flow_version_id=version.id,
            state={},
            language=language,
            source="telegram",
            community_id=community,
            consent_record_id=consent.id,
        )
        if started_at is not None:
            run.started_at = started_at
        when = started_at or utcnow()
        for step_id, value in answers.items():
            await uow.answers.upsert(
                run.id,
                step_id,
                value,
                display_text=(display or {}).get(step_id, str(value)),
                skipped=value is None,
                answered_at=when,
            )
            when += timedelta(seconds=5)
        if completed:
            await uow.runs.save(run, status=RunStatus.COMPLETED)
        await uow.commit()
        return citizen.participant_id


async def add_followup(
    app: App, slug: str, telegram_id: int, followup: str, answers: dict[str, Any], at: datetime
) -> None:
    """The citizen's follow-up questionnaire `followup` of their latest run in `slug`,
    answered at `at`: a run with `parent_run_id` and `source = "followup:<id>"`, as
    outreach starts it (konsulta.followup_flow)."""
    async with app.uow() as uow:
        citizen = await uow.citizens.get_or_create(
            telegram_id, telegram_id, secret=TEST_PSEUDONYM_SECRET
        )
        consultation = await uow.consultations.get_by_slug(slug)
        assert consultation is not None
        parent = max(
            (
                r
                for r in await uow.runs.list_for_citizen(citizen.id)
                if r.consultation_id == consultation.id and r.parent_run_id is None
            ),
            key=lambda r: r.id,
        )
        run = await uow.runs.create(
            citizen_id=citizen.id,
            consultation_id=consultation.id,
            flow_version_id=parent.flow_version_id,
            state={},
            language=parent.language,
            source=f"followup:{followup}",
            parent_run_id=parent.id,
            consent_record_id=parent.consent_record_id,
        )
        run.started_at = at
        for step_id, value in answers.items():
            await uow.answers.upsert(
                run.id, step_id, value, display_text=str(value), skipped=False, answered_at=at
            )
        await uow.runs.save(run, status=RunStatus.COMPLETED)
        await uow.commit()


async def seed_answers(app: App) -> dict[str, str]:
    """Four citizens in Org A's park survey, one in Org B's harbour survey."""
    day = datetime(2026, 11, 2, 10, tzinfo=UTC)
    people = {
        "anna": await add_run(
            app,
            "park-survey",
            1001,
            {
                "district": "north",
                "age": 71,
                "satisfaction": 2,
                "needs": ["benches", "toilets"],
                "stairs": True,
                "idea": "More benches near the pond, please",
                "place": {"lat": 54.4641, "lon": 17.0287},
                "photo": {"photo": "no-such-file"},
            },
            started_at=day,
            community=7,
        ),
        "bogdan": await add_run(
            app,
            "park-survey",
            1002,
            {
                "district": "south",
                "age": 34,
                "satisfaction": 4,
                "needs": ["shade"],
                "stairs": False,
                "idea": '=HYPERLINK("http://evil")',
            },
            language="pl",
            started_at=day + timedelta(days=1),
        ),
        "celina": await add_run(
            app,
            "park-survey",
            1003,
            {
                "district": "north",
                "age": 45,
                "satisfaction": 5,
                "needs": ["benches"],
                "stairs": False,
                "idea": "A playground for grandchildren",
            },
            started_at=day + timedelta(days=2),
            community=7,
            named="Celina Kowalska",
        ),
        "dawid": await add_run(
            app,
            "park-survey",
            1004,
            {"district": "south", "age": 19},
            completed=False,
            started_at=day + timedelta(days=2),
        ),
        "ewa": await add_run(
            app,
            "harbour-survey",
            2001,
            {"district": "north", "age": 50, "idea": "Secret harbour idea"},
            started_at=day,
        ),
    }
    return people


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(migrated_url: str) -> AsyncIterator[App]:
    built = await build_app(settings_for(migrated_url), migrate=False)
    try:
        await seed_organisations(built)
        yield built
    finally:
        await built.close()


@pytest.fixture
async def people(app: App) -> dict[str, str]:
    return await seed_answers(app)


class Browser:
    """An httpx client that keeps the session cookie and knows the CSRF token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(url, **kwargs)
        if found := CSRF.search(
            response.text if "html" in response.headers.get("content-type", "") else ""
        ):
            self.csrf = found.group(1)
        return response

    async def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        if csrf and not self.csrf:
            await self.get("/login")
        body = {**(data or {}), **({"csrf_token": self.csrf} if csrf else {})}
        return await self.client.post(url, data=body, **kwargs)

    async def login(self, email: str, password: str | None = None) -> httpx.Response:
        await self.get("/login")
        response = await self.post(
            "/login", {"email": email, "password": password or password_of(email)}
        )
        await self.get("/consultations")  # the new session's CSRF token
        return response


@pytest.fixture
def web_factory(app: App, clock: Clock) -> Callable[[], Any]:
    return lambda: create_web_app(app, clock=clock)


@pytest.fixture
async def browser_factory(
    web_factory: Callable[[], Any],
) -> AsyncIterator[Callable[[], Browser]]:
    clients: list[httpx.AsyncClient] = []
    web = web_factory()

    def make() -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://testserver"
        )
        clients.append(client)
        return Browser(client)

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        await web.state.dashboard.close()


@pytest.fixture
def anonymous(browser_factory: Callable[[], Browser]) -> Browser:
    return browser_factory()


async def logged_in(browser_factory: Callable[[], Browser], email: str) -> Browser:
    browser = browser_factory()
    response = await browser.login(email)
    assert response.status_code == 303, response.text
    return browser
