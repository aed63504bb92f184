"""Everything stored about one citizen, for /mydata (the right of access).

Built from the same tables erasure clears, so what a citizen sees is exactly what
`CitizenRepository.erase` deletes or neutralises: their profile, channels and
consents; runs with answers, and what staff made of them (tags, mark, follow-up flag,
report status); follow-ups and reminders; every message to them still stored (dialog
texts that quote their answers, staff replies, "has it been fixed?" follow-ups), the
thread with staff, broadcasts they are a recipient of; their role as a leader or
approver; the statements they wrote (with what moderators did with them), their
votes on statements and their priority picks; and the audit entries that name them
(what was done, when and by which organisation; the staff member's e-mail is the
staff member's data and is left out). Only this citizen's rows are read: a leader's
/mydata holds nothing of the people they helped. The result is plain JSON (datetimes
as ISO 8601 UTC strings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    AnswerCoding,
    AnswerTag,
    AuditEntry,
    Broadcast,
    BroadcastDelivery,
    Citizen,
    CitizenChannel,
    CodebookTag,
    Community,
    ConsentRecord,
    Consultation,
    FlowVersion,
    Leader,
    LeaderApprover,
    LeaderCommunity,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    PriorityPick,
    Reminder,
    ReportStatus,
    Run,
    ScheduledFollowUp,
    Statement,
    StatementVote,
    ThreadMessage,
)
from storage.repositories.review import AuditRepository

__all__ = ["citizen_data"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def citizen_data(session: AsyncSession, citizen_id: int) -> dict[str, Any]:
    """A JSON-serialisable dict of everything the module docstring lists, for this
    citizen. Raises LookupError if there is no such citizen."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise LookupError(f"no citizen {citizen_id}")
    channels = (
        await session.scalars(
            select(CitizenChannel)
            .where(CitizenChannel.citizen_id == citizen_id)
            .order_by(CitizenChannel.id)
        )
    ).all()
    consents = (
        await session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.citizen_id == citizen_id)
            .order_by(ConsentRecord.id)
        )
    ).all()
    runs = (
        await session.execute(
            select(Run, Consultation.slug, Consultation.title, FlowVersion.version)
            .join(Consultation, Consultation.id == Run.consultation_id)
            .join(FlowVersion, FlowVersion.id == Run.flow_version_id)
            .where(Run.citizen_id == citizen_id)
            .order_by(Run.id)
        )
    ).all()
    run_ids = [run.id for run, *_ in runs]
    answers_by_run: dict[int, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        answers = list(
            await session.scalars(
                select(Answer)
                .where(Answer.run_id.in_(run_ids))
                .order_by(Answer.run_id, Answer.answered_at, Answer.id)
            )
        )
        coding = await _coding(session, [answer.id for answer in answers])
        for answer in answers:
            answers_by_run[answer.run_id].append(
                {
                    "step": answer.step_id,
                    "value": answer.value,
                    "text": answer.display_text,
                    **(
                        {"machine_transcript": answer.transcript}
                        if answer.transcript is not None
                        else {}
                    ),
                    "skipped": answer.skipped,
                    "answered_at": _iso(answer.answered_at),
                    **({"staff_coding": coding[answer.id]} if answer.id in coding else {}),
                }
            )
    report_status = dict(
        (
            await session.execute(
                select(ReportStatus.run_id, ReportStatus.status).where(
                    ReportStatus.run_id.in_(run_ids)
                )
            )
        ).all()
    )
    reminders: dict[int, list[str | None]] = {}
    for run_id, sent_at in await session.execute(
        select(Reminder.run_id, Reminder.sent_at)
        .where(Reminder.run_id.in_(run_ids))
        .order_by(Reminder.id)
    ):
        reminders.setdefault(run_id, []).append(_iso(sent_at))
    followups = (
        await session.execute(
            select(ScheduledFollowUp, Consultation.slug)
            .join(Consultation, Consultation.id == ScheduledFollowUp.consultation_id)
            .where(ScheduledFollowUp.citizen_id == citizen_id)
            .order_by(ScheduledFollowUp.id)
        )
    ).all()
    thread = (
        await session.execute(
            select(ThreadMessage, Organisation.name)
            .join(Organisation, Organisation.id == ThreadMessage.organisation_id)
            .where(ThreadMessage.citizen_id == citizen_id)
            .order_by(ThreadMessage.id)
        )
    ).all()
    messages = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.citizen_id == citizen_id)
            .order_by(OutboxMessage.id)
        )
    ).all()
    deliveries = (
        await session.execute(
            select(BroadcastDelivery, Broadcast.name, Broadcast.kind)
            .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
            .where(BroadcastDelivery.citizen_id == citizen_id)
            .order_by(BroadcastDelivery.id)
        )
    ).all()
    ideas = await _ideas(session, citizen_id, run_ids)
    audit = await AuditRepository(session).about(citizen_id, citizen.participant_id)
    organisation_ids = {entry.organisation_id for entry in audit} - {None}
    organisations = dict(
        (
            await session.execute(
                select(Organisation.id, Organisation.name).where(
                    Organisation.id.in_(organisation_ids)
                )
            )
        ).all()
    )
    waiting = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.citizen_id == citizen_id, OutboxMessage.status == OutboxStatus.PENDING)
    )
    return {
        "participant_id": citizen.participant_id,
        "language": citizen.language,
        "timezone": citizen.timezone,
        "stopped": citizen.stopped,
        "unreachable": citizen.unreachable,
        "no_reminders": citizen.no_reminders,
        "named_consent": citizen.named_consent,
        "read_aloud": citizen.read_aloud,
        "created_at": _iso(citizen.created_at),
        "last_seen_at": _iso(citizen.last_seen_at),
        "channels": [
            {
                "channel": channel.channel,
                "user_id": channel.channel_user_id,
                "chat_id": channel.chat_id,
                "display_name": channel.display_name,
            }
            for channel in channels
        ],
        "consents": [
            {
                "purpose": consent.purpose,
                "granted": consent.granted,
                "text_version": consent.text_version,
                "consultation_id": consent.consultation_id,
                "at": _iso(consent.created_at),
            }
            for consent in consents
        ],
        "runs": [
            {
                "consultation": slug,
                "title": title,
                "flow_version": version,
                "status": run.status,
                "language": run.language,
                "source": run.source,
                "started_at": _iso(run.started_at),
                "completed_at": _iso(run.completed_at),
                "answers": answers_by_run[run.id],
                "report_status": report_status.get(run.id),
                "reminders_sent": reminders.get(run.id, []),
            }
            for run, slug, title, version in runs
        ],
        "follow_ups": [
            {
                "consultation": slug,
                "follow_up": followup.followup_id,
                "due_at": _iso(followup.due_at),
                "status": followup.status,
            }
            for followup, slug in followups
        ],
        "messages_with_staff": [
            {
                "organisation": organisation,
                "direction": m.direction,
                "text": m.text,
                "at": _iso(m.created_at),
            }
            for m, organisation in thread
        ],
        "messages_to_you": [_message(m) for m in messages],
        "messages_waiting": int(waiting or 0),
        "broadcasts": [
            {"name": name, "kind": kind, "status": d.status, "at": _iso(d.updated_at)}
            for d, name, kind in deliveries
        ],
        **ideas,
        "leader": await _leader(session, citizen_id),
        "audit": [
            {
                "action": entry.action,
                "about": entry.target,
                "detail": entry.detail,
                "organisation": organisations.get(entry.organisation_id or 0),
                "by": _actor_kind(entry),
                "at": _iso(entry.created_at),
            }
            for entry in audit
        ],
    }


async def _ideas(session: AsyncSession, citizen_id: int, run_ids: list[int]) -> dict[str, Any]:
    """The statements they wrote, their votes and their priority picks."""
    written = (
        await session.execute(
            select(Statement, Consultation.slug)
            .join(Consultation, Consultation.id == Statement.consultation_id)
            .where(Statement.author_run_id.in_(run_ids))
            .order_by(Statement.id)
        )
    ).all()
    votes = (
        await session.execute(
            select(StatementVote, Statement, Consultation.slug)
            .join(Statement, Statement.id == StatementVote.statement_id)
            .join(Consultation, Consultation.id == Statement.consultation_id)
            .where(StatementVote.citizen_id == citizen_id)
            .order_by(StatementVote.id)
        )
    ).all()
    picks = (
        await session.execute(
            select(PriorityPick, Statement.text, Statement.corrected_text)
            .join(Statement, Statement.id == PriorityPick.statement_id)
            .where(PriorityPick.run_id.in_(run_ids))
            .order_by(PriorityPick.run_id, PriorityPick.step_id, PriorityPick.rank)
        )
    ).all()
    return {
        "statements_written": [
            {
                "consultation": slug,
                "step": s.step_id,
                "text": s.text,
                "voice": s.voice,
                "corrected_text": s.corrected_text,
                "status": s.status,
                "rejection_reason": s.rejection_reason,
                "idea_status": s.idea_status,
                "idea_reason": s.idea_reason,
                "written_at": _iso(s.created_at),
            }
            for s, slug in written
        ],
        "statement_votes": [
            {
                "consultation": slug,
                "statement": statement.shown_text,
                "vote": {1: "agree", -1: "disagree"}.get(vote.vote, "pass"),
                "at": _iso(vote.voted_at),
            }
            for vote, statement, slug in votes
        ],
        "priorities": [
            {
                "step": pick.step_id,
                "rank": pick.rank,
                "statement": corrected or text,
                "at": _iso(pick.picked_at),
            }
            for pick, text, corrected in picks
        ],
    }


async def _coding(session: AsyncSession, answer_ids: list[int]) -> dict[int, dict[str, Any]]:
    """How staff coded each answer: tags, mark and follow-up flag (coded ones only)."""
    coded: dict[int, dict[str, Any]] = {}
    if not answer_ids:
        return coded
    for coding in await session.scalars(
        select(AnswerCoding).where(AnswerCoding.answer_id.in_(answer_ids))
    ):
        coded[coding.answer_id] = {
            "tags": [],
            "mark": coding.mark,
            "follow_up": coding.follow_up,
            "at": _iso(coding.updated_at),
        }
    for answer_id, name in await session.execute(
        select(AnswerTag.answer_id, CodebookTag.name)
        .join(CodebookTag, CodebookTag.id == AnswerTag.tag_id)
        .where(AnswerTag.answer_id.in_(answer_ids))
        .order_by(CodebookTag.name)
    ):
        entry = coded.setdefault(
            answer_id, {"tags": [], "mark": None, "follow_up": False, "at": None}
        )
        entry["tags"].append(name)
    return coded


def _message(message: OutboxMessage) -> dict[str, Any]:
    """A stored message to the citizen: its text, never an attached file's bytes."""
    payload = message.payload
    document = payload.get("document")
    return {
        "kind": message.kind,
        "status": message.status,
        "text": payload.get("text"),
        **({"file": document.get("filename")} if isinstance(document, dict) else {}),
        "created_at": _iso(message.created_at),
        "sent_at": _iso(message.sent_at),
    }


def _actor_kind(entry: AuditEntry) -> str:
    """Who acted, as a kind: "staff", "leader", "approver" or "cli" (never the staff
    member's e-mail)."""
    if "@" in entry.email:
        return "staff"
    kind = entry.email.split(":", 1)[0]
    return kind if kind in {"leader", "approver"} else "cli"


async def _leader(session: AsyncSession, citizen_id: int) -> dict[str, Any] | None:
    """The citizen's role as a local leader or approver; what a leader did is kept
    as action and time only (targets may name people they helped)."""
    leader = await session.scalar(select(Leader).where(Leader.citizen_id == citizen_id))
    approves = list(
        await session.scalars(
            select(Organisation.name)
            .join(LeaderApprover, LeaderApprover.organisation_id == Organisation.id)
            .where(LeaderApprover.citizen_id == citizen_id)
        )
    )
    if leader is None and not approves:
        return None
    found: dict[str, Any] = {"approves_broadcasts_of": approves}
    if leader is not None:
        communities = list(
            await session.scalars(
                select(Community.name)
                .join(LeaderCommunity, LeaderCommunity.community_id == Community.id)
                .where(LeaderCommunity.leader_id == leader.id)
                .order_by(Community.name)
            )
        )
        actions = await session.execute(
            select(AuditEntry.action, AuditEntry.created_at)
            .where(AuditEntry.email == f"leader:{leader.id}")
            .order_by(AuditEntry.id)
        )
        found.update(
            organisation=await session.scalar(
                select(Organisation.name).where(Organisation.id == leader.organisation_id)
            ),
            communities=communities,
            active=leader.active,
            since=_iso(leader.created_at),
            actions=[{"action": action, "at": _iso(at)} for action, at in actions],
        )
    return found
