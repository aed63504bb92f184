"""One consultation's opinion groups, read from storage and ready to show (issue 19).

`konsulta.opinions` is pure maths on a participant x statement matrix of ids; staff
read statements, not ids, and must not be shown a group so small that its members
could be recognised. This module joins the two: it reads the vote matrix and the
approved statements' texts in one unit of work, runs the grouping off the event loop
(it is CPU work, and the bot shares the process with the dashboard), and marks which
groups are large enough (`min_group`, the deployment's `public_min_group`) to be
described one by one. The command `konsulta opinions` and the dashboard's opinions
page both show this report, so they never disagree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from konsulta.opinions import OpinionGroup, OpinionGroups, group_opinions
from storage.models import StatementStatus
from storage.uow import UnitOfWork

__all__ = ["OpinionReport", "opinion_report"]


@dataclass(frozen=True)
class OpinionReport:
    """The grouping of a consultation's votes, with the statements' texts."""

    grouping: OpinionGroups
    #: statement id (as the grouping names it, a string) -> the text staff read.
    texts: dict[str, str]
    #: participants with at least one vote, and approved statements with at least one.
    participants: int
    statements: int
    min_group: int

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

    def text(self, statement: str) -> str:
        return self.texts.get(statement, f"#{statement}")


async def opinion_report(
    uow: UnitOfWork, consultation_id: int, *, min_group: int, seed: int = 0
) -> OpinionReport:
    """Read the votes of one consultation and group them (see the module docstring)."""
    matrix = await uow.statements.vote_matrix(consultation_id)
    approved = await uow.statements.list_for(consultation_id, status=StatementStatus.APPROVED)
    texts = {str(s.id): s.shown_text for s in approved}
    votes = {
        participant: {str(statement): vote for statement, vote in row.items()}
        for participant, row in matrix.items()
    }
    grouping = await asyncio.to_thread(group_opinions, votes, seed=seed)
    return OpinionReport(
        grouping=grouping,
        texts=texts,
        participants=sum(1 for row in votes.values() if row),
        statements=len(grouping.statements),
        min_group=min_group,
    )
