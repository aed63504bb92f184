"""A load balancer asks the dashboard whether it lives and is ready, without a login."""

from __future__ import annotations

import httpx

from konsulta.bootstrap import App
from review.web import create_web_app
from tests.review.conftest import Clock


async def test_the_dashboard_answers_health_probes_without_a_login(app: App, clock: Clock) -> None:
    web = create_web_app(app, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://testserver"
    ) as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (alive.status_code, alive.text) == (200, "ok")
    assert ready.status_code == 200
    assert ready.json() == {"database": True, "migrations": True, "ready": True}
