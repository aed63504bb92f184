"""The dashboard's pure parts: charts, the filter parser, the catalogs, the CLI."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from review import charts
from review.i18n import LANGUAGES, pick_language
from review.update_catalogs import template
from storage.views.dashboard import Filters

LOCALES = Path(__file__).resolve().parents[2] / "locales"


def test_bars_say_every_number_and_escape_labels() -> None:
    svg = charts.bars([("<b>North</b>", 3), ("South", 1)], "District & more")
    tree = ElementTree.fromstring(svg)  # well-formed XML
    assert tree.get("aria-label") == "District & more"
    assert "&lt;b&gt;North&lt;/b&gt;" in svg and "<b>" not in svg
    assert "3 (75%)" in svg and "1 (25%)" in svg


def test_empty_and_single_point_charts_still_draw() -> None:
    for svg in (
        charts.bars([], "nothing"),
        charts.columns([], "nothing"),
        charts.timeline([], "nothing"),
        charts.timeline([("2026-11-02", 4)], "one day"),
        charts.columns([("1", 0), ("2", 0)], "zeros"),
    ):
        ElementTree.fromstring(svg)


@settings(deadline=None)  # a busy CI machine is no reason to fail a parser property
@given(
    st.dictionaries(
        st.sampled_from(["language", "community", "since", "until", "step", "value", "x"]),
        st.text(max_size=80),
    )
)
def test_filters_from_any_query_string_never_fail(params: dict[str, str]) -> None:
    filters = Filters.from_query(params)
    assert filters.community in (None, "none") or filters.community.isdigit()
    assert filters.since is None or isinstance(filters.since, date)
    again = Filters.from_query(dict(pair.split("=", 1) for pair in _pairs(filters)))
    assert again == filters


def _pairs(filters: Filters) -> list[str]:
    from urllib.parse import parse_qsl

    return [f"{k}={v}" for k, v in parse_qsl(filters.query_string())]


def test_accept_language_picks_a_dashboard_language() -> None:
    assert pick_language("de-DE,pl;q=0.8,en;q=0.5", "en") == "pl"
    assert pick_language("uk", "en") == "en"
    assert pick_language(None, "xx") == LANGUAGES[0]


def test_every_dashboard_text_has_a_polish_translation() -> None:
    wanted = {message.id for message in template() if message.id}
    with (LOCALES / "pl" / "LC_MESSAGES" / "review.po").open("rb") as po:
        catalog = read_po(po, locale="pl")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert wanted - translated == set()


def test_the_first_admin_is_created_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KONSULTA_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long admin password\n"))
    code = main(["users", "add", "Boss@Example.org", "--role", "admin", "--organisation", "gmina"])
    assert code == 0
    assert "boss@example.org is admin of gmina" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["users", "add", "two@example.org", "--organisation", "gmina"]) == 2
    assert main(["users", "list"]) == 0
    assert "boss@example.org" in capsys.readouterr().out


async def test_the_stats_cache_serves_old_numbers_while_it_recounts_in_the_background() -> None:
    import asyncio

    from review.stats_cache import StatsCache

    now = [0.0]
    counted: list[int] = []

    async def count() -> int:
        counted.append(len(counted) + 1)
        return len(counted)

    cache = StatsCache(30, clock=lambda: now[0])
    assert await cache.get("park", count) == (1, 0.0)
    now[0] = 10
    assert await cache.get("park", count) == (1, 10.0)  # fresh enough
    now[0] = 45
    assert await cache.get("park", count) == (1, 45.0)  # stale: served, recounted behind
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get("park", count) == (2, 0.0)
    assert await StatsCache(0).get("x", count) == (3, 0.0)  # off: always recounts
    await cache.close()


async def test_konsulta_web_builds_its_app_in_the_lifespan_and_closes_it(tmp_path: Path) -> None:
    import httpx
    from pydantic import SecretStr

    from konsulta.settings import Settings
    from review.web import web_app_from_settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
        pseudonym_secret=SecretStr("x"),
        web_secure_cookies=False,
    )
    web = web_app_from_settings(settings)
    async with web.router.lifespan_context(web):
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            page = await client.get("/login", headers={"accept-language": "pl"})
            assert "Zaloguj się" in page.text
            assert (await client.get("/static/dashboard.css")).status_code == 200
