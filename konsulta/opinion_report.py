"""One consultation's opinion groups, read from storage and ready to show (issue 19).

`konsulta.opinions` is pure maths on a participant x statement matrix of ids; staff
read statements, not ids, and must not be shown a group so small that its members
could be recognised. This module joins the two: it reads the vote matrix and the
approved statements' texts in one unit of work, runs the grouping off the event loop
(it is CPU work, and the bot shares the process with the dashboard), and marks which
groups are large enough (`min_group`, the deployment's `public_min_group`) to be
described one by one. The command `konsulta opinions` and the dashboard's opinions
page both show this report, so they never disagree.

The report also counts the `priorities` steps' picks (each participant's top three of
the approved ideas, their latest run's) with Borda points, overall and per group: per
group only for the groups large enough to describe, like everything else per group.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from konsulta import public_results
from konsulta.opinions import (
    BordaScore,
    OpinionGroup,
    OpinionGroups,
    Priorities,
    borda,
    group_opinions,
)
from konsulta.public_results import PublicOpinions
from storage.models import Statement, StatementStatus
from storage.uow import UnitOfWork

__all__ = [
    "IdeaOutcome",
    "OpinionReport",
    "PublishedOpinions",
    "idea_outcomes",
    "opinion_report",
    "published_opinions",
]


@dataclass(frozen=True)
class OpinionReport:
    """The grouping of a consultation's votes, with the statements' texts."""

    grouping: OpinionGroups
    #: statement id (as the grouping names it, a string) -> the text staff read.
    texts: dict[str, str]
    #: statement id -> language -> the staff's translation (for the public page).
    translations: dict[str, dict[str, str]]
    #: participants with at least one vote, and approved statements with at least one.
    participants: int
    statements: int
    min_group: int
    #: Borda counts of the priority picks, overall and per group (every group).
    priorities: Priorities
    #: Participants whose picks were counted.
    ranked_by: int

    @property
    def enough_votes(self) -> bool:
        """Whether there is a grouping to speak of: at least two statements voted on
        and two participants placed on the map. Below that, every number is noise."""
        return self.statements >= 2 and len(self.grouping.points) >= 2

    @property
    def shown_groups(self) -> tuple[OpinionGroup, ...]:
        """Groups large enough to describe without pointing at a few people."""
        return tuple(g for g in self.grouping.groups if g.size >= self.min_group)

    @property
    def hidden_groups(self) -> tuple[OpinionGroup, ...]:
        """Groups below `min_group`: counted together, never described one by one."""
        return tuple(g for g in self.grouping.groups if g.size < self.min_group)

    @property
    def shown_priorities(self) -> tuple[tuple[OpinionGroup, tuple[BordaScore, ...]], ...]:
        """Each shown group with its Borda counts (groups under `min_group` left out:
        their members' picks count overall only)."""
        return tuple(
            (group, self.priorities.by_group.get(group.number, ())) for group in self.shown_groups
        )

    def text(self, statement: str) -> str:
        return self.texts.get(statement, f"#{statement}")


async def opinion_report(
    uow: UnitOfWork, consultation_id: int, *, min_group: int, seed: int = 0
) -> OpinionReport:
    """Read the votes of one consultation and group them (see the module docstring)."""
    matrix = await uow.statements.vote_matrix(consultation_id)
    every = await uow.statements.list_for(consultation_id)
    approved = [s for s in every if s.status == StatementStatus.APPROVED]
    texts = {str(s.id): s.shown_text for s in approved}
    votes = {
        participant: {str(statement): vote for statement, vote in row.items()}
        for participant, row in matrix.items()
    }
    rankings = _counted_picks(await uow.statements.priorities(consultation_id), every)
    grouping = await asyncio.to_thread(group_opinions, votes, seed=seed)
    return OpinionReport(
        grouping=grouping,
        texts=texts,
        translations={str(s.id): dict(s.translations or {}) for s in approved},
        participants=sum(1 for row in votes.values() if row),
        statements=len(grouping.statements),
        min_group=min_group,
        priorities=borda(rankings, grouping),
        ranked_by=sum(1 for ranking in rankings.values() if ranking),
    )


@dataclass(frozen=True)
class PublishedOpinions:
    """A consultation's opinion groups as its public page may show them (the rules in
    `konsulta.public_results.opinions`), with the statements' texts per language."""

    opinions: PublicOpinions
    texts: dict[str, str]
    translations: dict[str, dict[str, str]]

    def text(self, statement: str, language: str) -> str:
        """The statement in `language` when staff translated it, else as shown."""
        return self.translations.get(statement, {}).get(language) or self.texts.get(statement, "")


@dataclass(frozen=True)
class IdeaOutcome:
    """What became of an approved idea, as the public page tells it ("you said, we
    did"): the idea in staff's words, its status, staff's reason, and when."""

    text: str
    translations: dict[str, str]
    status: str
    reason: str | None
    at: datetime | None

    def text_in(self, language: str) -> str:
        return self.translations.get(language) or self.text


async def idea_outcomes(uow: UnitOfWork, consultation_id: int) -> list[IdeaOutcome]:
    """The approved ideas staff marked (taken up, in progress, done, not possible),
    the latest decision first. An idea is shown without its author, as to voters."""
    approved = await uow.statements.list_for(consultation_id, status=StatementStatus.APPROVED)
    marked = [s for s in approved if s.idea_status is not None]
    marked.sort(key=lambda s: s.idea_status_at or _EPOCH, reverse=True)
    return [
        IdeaOutcome(
            s.shown_text,
            dict(s.translations or {}),
            str(s.idea_status),
            s.idea_reason,
            s.idea_status_at,
        )
        for s in marked
    ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def published_opinions(
    uow: UnitOfWork, consultation_id: int, *, k: int, seed: int = 0
) -> PublishedOpinions | None:
    """What the public page shows of the opinion groups, or None (no votes, too few
    to group, or no group of `k` people)."""
    report = await opinion_report(uow, consultation_id, min_group=k, seed=seed)
    if not report.enough_votes:
        return None
    found = public_results.opinions(report.grouping, k)
    if found is None:
        return None
    return PublishedOpinions(found, report.texts, report.translations)


def _counted_picks(
    picks: dict[str, list[int]], statements: list[Statement]
) -> dict[str, list[str]]:
    """The picks as Borda counts them: a merged duplicate counts for the statement it
    went into (as its votes do), a pick of an idea no longer approved is dropped."""
    by_id = {s.id: s for s in statements}

    def counted(statement_id: int) -> str | None:
        seen: set[int] = set()
        found = by_id.get(statement_id)
        while found is not None and found.merged_into_id is not None and found.id not in seen:
            seen.add(found.id)
            found = by_id.get(found.merged_into_id)
        if found is None or found.status != StatementStatus.APPROVED:
            return None
        return str(found.id)

    rankings: dict[str, list[str]] = {}
    for participant, ranked in picks.items():
        ideas = [idea for idea in map(counted, ranked) if idea is not None]
        if ideas:
            rankings[participant] = ideas
    return rankings
