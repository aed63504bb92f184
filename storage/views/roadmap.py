"""The co-creation roadmap's figures: where a consultation stands from asking to acting.

One function, `figures`, reads every number the roadmap page (review/roadmap.py) shows,
each counted by the database (a fixed number of small aggregate queries, whatever the
number of citizens). Nothing here returns a person's row: the roadmap is a map of the
work, not a view of what anyone said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    AnswerCoding,
    AnswerTag,
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    CodebookTag,
    DeliveryStatus,
    FollowUpStatus,
    InviteLink,
    InviteOpen,
    LeaderBroadcast,
    Outcome,
    ReportState,
    ReportStatus,
    Run,
    ScheduledFollowUp,
    Statement,
    StatementVote,
    ThreadDirection,
    ThreadMessage,
)

__all__ = ["RoadmapFigures", "figures"]

#: A broadcast staff let go: it is out, going out, or due to go out.
GONE_OUT = (BroadcastStatus.SCHEDULED, BroadcastStatus.RUNNING, BroadcastStatus.DONE)


@dataclass(frozen=True)
class RoadmapFigures:
    """The numbers behind the five stages (the headline counts of participants come
    from `storage.views.dashboard.counts`, as on the consultation page)."""

    invite_links: int = 0  # invite links not revoked
    communities: int = 0  # communities with an invite link (revoked or not)
    invite_opens: int = 0  # times an invite link was opened
    broadcasts_sent: int = 0  # staff broadcasts (not results) sent or scheduled
    leader_broadcasts_sent: int = 0  # local leaders' messages about it, sent
    answers: int = 0  # answers given (not skipped), follow-up runs included
    free_texts: int = 0  # free-text answers to the text questions asked for
    coded: int = 0  # of those, the ones staff tagged or marked
    tags: int = 0  # tags in the consultation's codebook
    reports: dict[str, int] = field(default_factory=dict)  # report status -> runs
    replies: int = 0  # messages staff sent to the consultation's participants
    statements: dict[str, int] = field(default_factory=dict)  # moderation status -> n
    votes: int = 0  # votes cast on statements
    ideas: dict[str, int] = field(default_factory=dict)  # idea status -> statements
    outcomes: int = 0  # results ("you said, we did") written, sent or not
    results_sent: int = 0  # results messages sent or scheduled
    results_delivered: int = 0  # results messages delivered to a citizen
    followups_sent: int = 0  # follow-up questionnaires started after the first one

    @property
    def report_count(self) -> int:
        return sum(self.reports.values())


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(query) or 0)


async def _grouped(session: AsyncSession, query: Select[Any, int]) -> dict[str, int]:
    rows = await session.execute(query)
    return {str(key): int(n) for key, n in rows if key is not None}


def _of(consultation_id: int) -> ColumnElement[bool]:
    return Run.consultation_id == consultation_id


async def figures(
    session: AsyncSession,
    consultation_id: int,
    organisation_id: int,
    *,
    text_steps: Sequence[str] = (),
    report_steps: Sequence[str] = (),
) -> RoadmapFigures:
    """Every roadmap number of one consultation. `text_steps` and `report_steps` are
    the flow's free-text and report (place, photo) questions, which only the flow knows."""
    links = await session.execute(
        select(
            func.coalesce(func.sum(case((InviteLink.revoked_at.is_(None), 1), else_=0)), 0),
            func.count(func.distinct(InviteLink.community_id)),
        ).where(InviteLink.consultation_id == consultation_id)
    )
    invite_links, communities = links.one()
    opens = await _count(
        session,
        select(func.count())
        .select_from(InviteOpen)
        .where(InviteOpen.consultation_id == consultation_id),
    )
    sent = await _grouped(
        session,
        select(Broadcast.kind, func.count())
        .where(Broadcast.consultation_id == consultation_id, Broadcast.status.in_(GONE_OUT))
        .group_by(Broadcast.kind),
    )
    leader_sent = await _count(
        session,
        select(func.count())
        .select_from(LeaderBroadcast)
        .where(
            LeaderBroadcast.consultation_id == consultation_id,
            LeaderBroadcast.sent_at.is_not(None),
        ),
    )
    answers = await _count(
        session,
        select(func.count())
        .select_from(Answer)
        .join(Run, Run.id == Answer.run_id)
        .where(_of(consultation_id), ~Answer.skipped),
    )
    free_texts = coded = 0
    if text_steps:
        is_coded = or_(
            exists().where(AnswerTag.answer_id == Answer.id),
            exists().where(
                AnswerCoding.answer_id == Answer.id,
                or_(AnswerCoding.mark.is_not(None), AnswerCoding.follow_up),
            ),
        )
        texts = await session.execute(
            select(func.count(), func.coalesce(func.sum(case((is_coded, 1), else_=0)), 0))
            .select_from(Answer)
            .join(Run, Run.id == Answer.run_id)
            .where(
                _of(consultation_id),
                Answer.step_id.in_(list(text_steps)),
                ~Answer.skipped,
                Answer.display_text.is_not(None),
            )
        )
        free_texts, coded = texts.one()
    tags = await _count(
        session,
        select(func.count())
        .select_from(CodebookTag)
        .where(CodebookTag.consultation_id == consultation_id),
    )
    reports: dict[str, int] = {}
    if report_steps:
        # A report with no status yet is new, as on the reports page.
        status = func.coalesce(ReportStatus.status, ReportState.NEW)
        reports = await _grouped(
            session,
            select(status, func.count())
            .select_from(Run)
            .outerjoin(ReportStatus, ReportStatus.run_id == Run.id)
            .where(
                _of(consultation_id),
                exists().where(Answer.run_id == Run.id, Answer.step_id.in_(list(report_steps))),
            )
            .group_by(status),
        )
    took_part = exists().where(Run.citizen_id == ThreadMessage.citizen_id, _of(consultation_id))
    replies = await _count(
        session,
        select(func.count())
        .select_from(ThreadMessage)
        .where(
            ThreadMessage.organisation_id == organisation_id,
            ThreadMessage.direction == ThreadDirection.TO_CITIZEN,
            took_part,
        ),
    )
    statements = await _grouped(
        session,
        select(Statement.status, func.count())
        .where(Statement.consultation_id == consultation_id)
        .group_by(Statement.status),
    )
    votes = await _count(
        session,
        select(func.count())
        .select_from(StatementVote)
        .join(Statement, Statement.id == StatementVote.statement_id)
        .where(Statement.consultation_id == consultation_id),
    )
    ideas = await _grouped(
        session,
        select(Statement.idea_status, func.count())
        .where(Statement.consultation_id == consultation_id, Statement.idea_status.is_not(None))
        .group_by(Statement.idea_status),
    )
    # Results written: an outcome recorded with the CLI (it has a broadcast of kind
    # `result`, or had one), or a results broadcast drafted on the dashboard.
    results_written = await _count(
        session,
        select(func.count())
        .select_from(Broadcast)
        .where(
            Broadcast.consultation_id == consultation_id,
            Broadcast.kind == "result",
            Broadcast.status != BroadcastStatus.CANCELLED,
        ),
    )
    without_broadcast = await _count(
        session,
        select(func.count())
        .select_from(Outcome)
        .where(Outcome.consultation_id == consultation_id, Outcome.broadcast_id.is_(None)),
    )
    delivered = await _count(
        session,
        select(func.count())
        .select_from(BroadcastDelivery)
        .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
        .where(
            Broadcast.consultation_id == consultation_id,
            Broadcast.kind == "result",
            BroadcastDelivery.status == DeliveryStatus.SENT,
        ),
    )
    followups = await _count(
        session,
        select(func.count())
        .select_from(ScheduledFollowUp)
        .where(
            ScheduledFollowUp.consultation_id == consultation_id,
            ScheduledFollowUp.status == FollowUpStatus.SENT,
        ),
    )
    return RoadmapFigures(
        invite_links=int(invite_links or 0),
        communities=int(communities or 0),
        invite_opens=opens,
        broadcasts_sent=sent.get("broadcast", 0),
        leader_broadcasts_sent=leader_sent,
        answers=answers,
        free_texts=int(free_texts or 0),
        coded=int(coded or 0),
        tags=tags,
        reports=reports,
        replies=replies,
        statements=statements,
        votes=votes,
        ideas=ideas,
        outcomes=results_written + without_broadcast,
        results_sent=sent.get("result", 0),
        results_delivered=delivered,
        followups_sent=followups,
    )
