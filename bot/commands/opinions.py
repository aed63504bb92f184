"""`konsulta opinions ID`: the opinion groups of a consultation's statement votes.

Prints how many participants voted on how many statements, each group large enough
to describe (the deployment's `public_min_group`, the same floor as the public
results) with its size and the statements that set it apart, the consensus
statements every group agrees with and the divisive ones that split them, then the
priorities' Borda counts (3/2/1 points for a participant's first three picks) overall
and per described group, each idea with its points and how many picked it
(`konsulta.opinion_report`, the dashboard's opinions page shows the same). Smaller
groups are only counted: describing a group of three says what three people think.
With too few votes it says so and exits 0: a consultation is small at its start.
Audited as a `view` with `page=opinions` by "cli" (bot/commands/operator.py).
"""

from __future__ import annotations

import sys
from typing import Any

from bot.commands.operator import record
from konsulta.bootstrap import running_app
from konsulta.opinion_report import OpinionReport, opinion_report
from konsulta.opinions import BordaScore, RepresentativeStatement
from konsulta.settings import Settings
from storage.models import Consultation
from storage.uow import UnitOfWork


def register(sub: Any) -> None:
    parser = sub.add_parser("opinions", help="opinion groups, consensus and divisive statements")
    parser.add_argument("consultation", help="consultation id or number, e.g. service-need")
    parser.set_defaults(handler=handle)


async def find(uow: UnitOfWork, consultation: str) -> Consultation | None:
    """The consultation by its id (slug), else by its number."""
    found = await uow.consultations.get_by_slug(consultation)
    if found is None and consultation.isdigit():
        found = await uow.consultations.get(int(consultation))
    return found


async def handle(args: Any, settings: Settings) -> int:
    async with running_app(settings) as app:
        async with app.uow(read_only=True) as uow:
            found = await find(uow, args.consultation)
        if found is None:
            print(f"no consultation '{args.consultation}'", file=sys.stderr)
            return 1
        await record(app, "view", found.slug, consultation_id=found.id, page="opinions")
        async with app.uow(read_only=True) as uow:
            report = await opinion_report(uow, found.id, min_group=settings.public_min_group)
    print("\n".join(describe(found.slug, report)))
    return 0


def _percent(share: float) -> str:
    return f"{round(share * 100):>3}%"


def _representative(item: RepresentativeStatement, report: OpinionReport) -> str:
    return (
        f"    {_percent(item.share_in_group)} {item.stance.value:<8} {report.text(item.statement)}"
    )


def describe(slug: str, report: OpinionReport) -> list[str]:
    """The report as lines of text (see the module docstring)."""
    lines = [
        f"{slug}: {report.participants} participant(s) voted on {report.statements} statement(s)"
    ]
    if not report.enough_votes:
        lines.append(
            "Not enough votes yet to find opinion groups: they need at least two "
            "statements and two participants who voted on several of them. "
            "Try again when more people have voted."
        )
        return lines + _priorities(report)
    grouping = report.grouping
    shown = report.shown_groups
    lines.append(f"{len(grouping.groups)} opinion group(s)")
    for group in shown:
        lines.append(f"Group {group.number + 1}: {group.size} participant(s)")
        if not group.representative:
            lines.append("    no statement sets this group apart")
        lines.extend(_representative(item, report) for item in group.representative)
    hidden = report.hidden_groups
    if hidden:
        people = sum(g.size for g in hidden)
        lines.append(
            f"{len(hidden)} smaller group(s) with {people} participant(s) in all, each "
            f"under {report.min_group} people, are not described one by one"
        )
    if grouping.unclustered:
        lines.append(
            f"{len(grouping.unclustered)} participant(s) voted on too few statements to "
            "be placed in a group; their votes still count below"
        )
    lines.append("Consensus (a majority agrees in every group):")
    if not grouping.consensus:
        lines.append("    none")
    for statement in grouping.consensus:
        lowest = min(g.agree for g in statement.by_group)
        lines.append(
            f"    {report.text(statement.statement)} "
            f"(at least {round(lowest * 100)}% agree in each group)"
        )
    lines.append("Divisive (one group agrees, another disagrees):")
    if not grouping.divisive:
        lines.append("    none")
    lines.extend(f"    {report.text(s.statement)}" for s in grouping.divisive)
    return lines + _priorities(report)


def _borda(scores: tuple[BordaScore, ...], report: OpinionReport) -> list[str]:
    return [
        f"    {s.points:>5} point(s)  picked by {s.ranked_by:>4}  {report.text(s.idea)}"
        for s in scores
    ]


def _priorities(report: OpinionReport) -> list[str]:
    """The Borda counts: overall, then per described group (small groups count overall)."""
    overall = report.priorities.overall
    lines = [f"Priorities (Borda: 3/2/1 points), {report.ranked_by} participant(s) picked:"]
    if not overall:
        return [*lines, "    none yet"]
    lines += ["  Everyone:", *_borda(overall, report)]
    if report.enough_votes:
        for group, scores in report.shown_priorities:
            lines.append(f"  Group {group.number + 1}:")
            lines.extend(_borda(scores, report) if scores else ["    none yet"])
    return lines
