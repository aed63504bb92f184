"""A broadcast belongs to an organisation and reaches only its own participants.

Org A runs park-survey, Org B runs harbour-survey, in one deployment. Anna answered
the park survey, Bohdan the harbour survey, Celina both. Whatever a segment says,
"everyone" is everyone of the organisation sending it, and a segment cannot name
another organisation's consultation, community or leader.
"""

from __future__ import annotations

import pytest

from bot.cli import build_parser
from konsulta import broadcasts
from konsulta.bootstrap import App
from storage.segments import SegmentError
from tests.review.conftest import add_run


async def _people(app: App) -> None:
    await add_run(app, "park-survey", 7101, {"district": "north"})  # Anna
    await add_run(app, "harbour-survey", 7102, {"district": "north"})  # Bohdan
    await add_run(app, "park-survey", 7103, {"district": "north"})  # Celina, in both
    await add_run(app, "harbour-survey", 7103, {"district": "north"})


async def _reach(app: App, organisation: str, segment: dict[str, object]) -> int:
    draft = await broadcasts.create(
        app,
        organisation_id=await broadcasts.organisation_named(app, organisation),
        name="news",
        segment=segment,
        texts={"en": "News from us."},
    )
    return (await broadcasts.preview(app, draft.id)).total


async def test_everyone_is_everyone_of_the_organisation_that_sends(app: App) -> None:
    await _people(app)
    assert await _reach(app, "org-b", {"everyone": True}) == 2  # Bohdan and Celina
    assert await _reach(app, "org-a", {"everyone": True}) == 2  # Anna and Celina
    assert await _reach(app, "org-b", {"never_answered": True}) == 0
    assert await _reach(app, "org-b", {"language": ["en"]}) == 2


async def test_a_segment_cannot_name_another_organisations_consultation(app: App) -> None:
    await _people(app)
    with pytest.raises(SegmentError, match="no consultation park-survey in this organisation"):
        await _reach(app, "org-b", {"consultation": "park-survey"})
    with pytest.raises(SegmentError, match="park-survey"):
        await _reach(
            app,
            "org-b",
            {"answer": {"consultation": "park-survey", "step": "district", "equals": "north"}},
        )
    # An answer in any consultation means any of the organisation's own.
    any_north = {"answer": {"step": "district", "equals": "north"}}
    assert await _reach(app, "org-b", any_north) == 2


async def test_another_organisations_community_finds_nobody(app: App) -> None:
    async with app.uow() as uow:
        org_a = await uow.organisations.get_by_slug("org-a")
        assert org_a is not None
        community = await uow.communities.create(org_a.id, "Park neighbours", ["en"])
        await uow.commit()
    await add_run(app, "park-survey", 7104, {"district": "north"}, community=community.id)
    await add_run(app, "harbour-survey", 7104, {"district": "north"})
    assert await _reach(app, "org-a", {"community": community.id}) == 1
    assert await _reach(app, "org-b", {"community": community.id}) == 0


async def test_the_command_line_asks_which_organisation_when_there_are_several(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(
        ["broadcast", "create", "--name", "news", "--text", "en=News from us."]
    )
    assert await args.handler(args, app.settings) == 2
    assert "--organisation (org-a, org-b)" in capsys.readouterr().err
