"""Results a clerk can read: Org A's street survey (tests/review/flow_c.yaml, Polish by
default, also English and Ukrainian) answered by a few citizens, read by a clerk whose
dashboard is in Polish."""

from __future__ import annotations

import re
from collections.abc import Callable

from database_checks import session_of
from sqlalchemy import update

from konsulta.bootstrap import App
from konsulta.publishing import publish, read_flow
from review import charts
from review.i18n import translations
from review.security import hash_password
from storage.models import Run
from tests.review.conftest import HERE, Browser, add_run, logged_in, password_of

FLOW_C = HERE / "flow_c.yaml"
CLERK = "urzednik@example.org"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _street_survey(app: App) -> None:
    """The survey published in Org A, and a clerk of Org A who reads Polish."""
    flow, yaml_text = read_flow(FLOW_C)
    async with app.uow() as uow:
        await publish(uow, flow, yaml_text, open_now=True)
        org_a = await uow.organisations.get_by_slug("org-a")
        assert org_a is not None
        await uow.staff.create(CLERK, hash_password(password_of(CLERK)), "staff", org_a.id, "pl")
        await uow.commit()


async def test_a_ranking_chart_counts_first_places_and_the_table_average_places(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    await _street_survey(app)
    for n, order in enumerate(
        (
            ["benches", "trees", "ramps"],
            ["benches", "ramps", "trees"],
            ["trees", "benches", "ramps"],
        )
    ):
        await add_run(app, "street-survey", 3001 + n, {"first": order}, language="pl")
    clerk = await logged_in(browser_factory, CLERK)
    page = _text((await clerk.get("/consultations/street-survey")).text)
    assert "Ławki 2 (67%)" in page and "Drzewa 1 (33%)" in page and "Podjazdy 0 (0%)" in page
    assert "wykres liczy pierwsze miejsca" in page
    # The table: first places, their share, and the average place (1 is first).
    assert "Ławki 2 67% 1.3" in page
    assert "Drzewa 1 33% 2.0" in page
    assert "Podjazdy 0 0% 2.7" in page


async def test_a_clerk_reads_labels_language_names_kinds_and_plurals_in_polish(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    await _street_survey(app)
    # A Ukrainian citizen tapped buttons; the answers are stored as option keys.
    olena = await add_run(
        app,
        "street-survey",
        3101,
        {"what": "lights", "safe": True},
        language="uk",
        display={"what": "Освітлення", "safe": "Так"},
    )
    await add_run(app, "street-survey", 3102, {"what": "pavement", "safe": False}, language="pl")
    clerk = await logged_in(browser_factory, CLERK)
    html = (await clerk.get("/consultations/street-survey")).text
    page = _text(html)
    assert "Tak 1 (50%)" in page and "Nie 1 (50%)" in page  # not "yes"/"no"
    assert "ukraiński 1" in page and "polski 1" in page  # by language, not "uk"/"pl"
    assert '<option value="uk" >ukraiński</option>' in html  # the language filter
    # The card names the question and its kind; the flow format's ids stay out of sight.
    assert "Co trzeba naprawić?" in page and "Jeden wybór · 2 odpowiedzi" in page
    assert "Tak lub nie · 2 odpowiedzi · 0 pominiętych" in page
    assert "Ranking · 0 odpowiedzi · 0 pominiętych" in page
    assert "single_choice" not in page and "what ·" not in page
    # A long label is whole in the chart's tooltip and the table, wrapped, never cut
    # at its start.
    pavement = "Chodnik lub droga z dziurą, w którą ktoś może upaść"
    assert f"<title>{pavement}</title>" in html
    assert f"<td>{pavement}</td>" in html

    thread = _text((await clerk.get(f"/citizens/{olena}")).text)
    assert "Oświetlenie" in thread and "Освітлення" not in thread  # the option's label
    assert "Czy czujesz się bezpiecznie? Tak" in thread
    assert "ukończona" in thread and "completed" not in thread  # the run's status
    assert "Język: ukraiński" in thread


async def test_drop_off_counts_a_citizen_at_the_question_they_left(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    await _street_survey(app)
    # Left at the yes/no question (the engine's state says so), having skipped nothing.
    left_at_safe = await add_run(
        app, "street-survey", 3201, {"what": "lights", "first": ["trees"]}, completed=False
    )
    # Answered the first question only; an old run whose state names no question.
    await add_run(app, "street-survey", 3202, {"what": "pavement"}, completed=False)
    async with app.uow() as uow:
        citizen = await uow.citizens.get_by_participant_id(left_at_safe)
        assert citizen is not None
        await session_of(uow).execute(
            update(Run)
            .where(Run.citizen_id == citizen.id)
            .values(state={"current": "safe", "status": "active"})
        )
        await uow.commit()
    clerk = await logged_in(browser_factory, CLERK)
    page = _text((await clerk.get("/consultations/street-survey")).text)
    drop_off = page[page.index("Rezygnacje") :] if "Rezygnacje" in page else page
    # question, reached, stopped here
    assert "Co trzeba naprawić? 2 0" in drop_off
    assert "Co najpierw? 2 1" in drop_off
    assert "Czy czujesz się bezpiecznie? 1 1" in drop_off


def test_a_long_label_wraps_and_is_only_ever_shortened_at_its_end() -> None:
    label = (
        "Oświetlenie ulic i chodników, bo po zmroku jest ciemno i niebezpiecznie, ktoś może upaść"
    )
    lines = charts.wrap(label, 30, 2)
    assert lines[0].startswith("Oświetlenie ulic")
    assert lines[-1].endswith("…") and len(lines) == 2
    assert all(len(line) <= 30 for line in lines)
    assert charts.wrap("Ławki", 30) == ["Ławki"]
    svg = charts.bars([(label, 3), ("Ławki", 1)], "Co?")
    assert f"<title>{label}</title>" in svg  # the full text as the tooltip
    assert ">Oświetlenie ulic i chodników, bo po zmroku jest ciemno i<" in svg
    assert 'x="-' not in svg  # nothing drawn left of the chart, where it would be cut


def test_the_polish_dashboard_says_files_and_statuses_in_polish() -> None:
    polish = translations("pl")
    assert polish.gettext("Problems in %(name)s:") == "Błędy w pliku %(name)s:"
    assert polish.gettext("completed") == "ukończona"
    assert [polish.ngettext("%(num)s answer", "%(num)s answers", n) for n in (1, 2, 5, 22)] == [
        "%(num)s odpowiedź",
        "%(num)s odpowiedzi",
        "%(num)s odpowiedzi",
        "%(num)s odpowiedzi",
    ]


async def test_a_report_shows_a_buttons_answer_in_the_consultations_language(
    browser_factory: Callable[[], Browser], app: App
) -> None:
    await add_run(
        app,
        "park-survey",
        3301,
        {"district": "south", "idea": "Більше лавок", "place": {"lat": 54.46, "lon": 17.02}},
        language="uk",
        display={"district": "Південь"},
    )
    staff = await logged_in(browser_factory, "staff-a@example.org")
    page = _text((await staff.get("/consultations/park-survey/reports")).text)
    assert "Which district do you live in? South" in page and "Південь" not in page
    texts = _text((await staff.get("/consultations/park-survey/texts")).text)
    assert "Більше лавок" in texts and "Ukrainian" in texts  # the language by name
