"""A results page shared on social media: many readers at once, and the bot and the
dashboard must not feel it.

The park survey (24 finished, tests/review/test_public_results) is published with the
public pages' cache on (60 s here; tests elsewhere recount on every view). Readers are
served from the public pages' own cache: a cached view runs no SQL, a burst of
readers on a cold cache costs one count, and staff's unpublishing still takes effect
at once in this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from konsulta.bootstrap import App
from review.stats_cache import StatsCache
from review.web import create_web_app
from tests.review.conftest import Browser, Clock, logged_in
from tests.review.test_public_results import PUBLISHED, cells, finished, publish

__all__ = ["finished"]  # the fixture, imported for this module's tests


@pytest.fixture
def web_factory(app: App, clock: Clock) -> Callable[[], Any]:
    """The same web app as the other dashboard tests, with the public cache on."""

    def make() -> Any:
        web = create_web_app(app, clock=clock)
        web.state.dashboard.public = StatsCache(60, keep_none=False)
        return web

    return make


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """The SQL statements run while inside."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    target = app.engine.sync_engine
    event.listen(target, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", note)


async def test_many_readers_cost_one_count_and_a_cached_view_no_sql(
    browser_factory: Callable[[], Browser], anonymous: Browser, app: App, finished: None
) -> None:
    staff = await logged_in(browser_factory, "staff-a@example.org")
    await publish(staff, PUBLISHED)

    with statements(app) as first:
        pages = await asyncio.gather(*(anonymous.get("/public/park-survey") for _ in range(20)))
    assert {page.status_code for page in pages} == {200}
    assert {page.text for page in pages} == {pages[0].text}
    assert ("North", "14") in cells(pages[0].text)
    counts = [s for s in first if "GROUP BY" in s.upper()]
    assert 0 < len(counts) <= 3  # one count (languages, values, options), not twenty

    with statements(app) as cached:
        again = await anonymous.get("/public/park-survey")
        widget = await anonymous.get("/p/park-survey/embed?lang=pl")
    assert again.text == pages[0].text and ("Północ", "14") in cells(widget.text)
    assert cached == []

    await publish(staff, PUBLISHED, on=False)
    assert (await anonymous.get("/public/park-survey")).status_code == 404
    with statements(app) as missing:
        assert (await anonymous.get("/public/park-survey")).status_code == 404
    assert missing  # nothing published is never kept: it is looked up again


async def test_a_burst_of_views_on_a_missing_value_waits_for_one_computation() -> None:
    computed: list[int] = []

    async def slow() -> int:
        computed.append(1)
        await asyncio.sleep(0.01)
        return 7

    cache = StatsCache(30)
    values = await asyncio.gather(*(cache.get("park", slow) for _ in range(50)))
    assert [value for value, _age in values] == [7] * 50 and computed == [1]
    nothing = StatsCache(30, keep_none=False)

    async def none() -> None:
        computed.append(2)

    assert await nothing.get("gone", none) == (None, 0.0)
    assert await nothing.get("gone", none) == (None, 0.0)
    assert computed == [1, 2, 2]  # None is not kept
    await cache.close()
